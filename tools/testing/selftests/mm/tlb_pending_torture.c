// SPDX-License-Identifier: GPL-2.0
/*
 * Lost-write torture for the TLB pending filter (vm.tlb_pending_filter).
 *
 * Before do_wp_page() copies a page of a uffd-wp VMA it flushes the TLB if
 * a flush may still be pending for the mm: a store through a stale writable
 * TLB entry that lands in the old page after the copy would be lost.  The
 * filter skips that flush when the address cannot have one pending, and the
 * debug mode 3 never flushes.  This test tries hard to lose a user write
 * and counts the writes it loses.
 *
 * For SECONDS, all at the same time and on the same pages:
 *
 *  writers:     NR_WRITERS threads, each owning a 64-byte slot on every
 *               slot page and KSM page, pages shared with the other
 *               writers.  A writer stores increasing sequence numbers and
 *               reads each back; before each store it checks that the slot
 *               still holds its previous one (a store through a stale TLB
 *               entry reads back fine and shows only later).  At the end
 *               every slot must hold the last store of its writer.  Every
 *               mismatch is a lost write.
 *  wp_cycles:   UFFDIO_WRITEPROTECT on and off over the area, registered
 *               with async uffd-wp: write faults resolve in the kernel.
 *  mprotect:    PROT_READ and back over the area.  A store that faults
 *               with SIGSEGV meanwhile is retried: the handler yields and
 *               returns, and the store runs again.
 *  clear_refs:  soft-dirty clears, "4" to /proc/self/clear_refs.
 *  scans:       PAGEMAP_SCAN with PM_SCAN_WP_MATCHING |
 *               PM_SCAN_CHECK_WPASYNC, write-protecting the written pages.
 *  dontneed:    MADV_DONTNEED of the scratch pages that alternate with the
 *               slot pages, then a read (zero page) and a write (a copy) of
 *               each, checked like a writer's store.
 *  forks:       children that sleep 1-5 ms touching nothing and exit: the
 *               pages are COW-shared meanwhile, and stores copy them.
 *  ksm:         the KSM pages are identical but for the moments a writer
 *               stores a sequence number to its slot before it restores
 *               the pattern; ksmd merges them, stores copy them again.
 *               Counted: rises of /proc/self/ksm_merging_pages.
 *
 * With the filter's trace events, the copies do_wp_page() makes in uffd-wp
 * VMAs (wp_copy_check) and the flushes it makes before them (wp_flush) are
 * counted.  Agitators and counts the kernel does not support are reported
 * as -1.
 *
 * Usage: tlb_pending_torture [-H] [SECONDS [LABEL [thp]]]
 * SECONDS defaults to 5.  "-H" or "thp" makes the slot region one 2 MiB
 * MADV_HUGEPAGE extent instead of MADV_NOHUGEPAGE 4 KiB pages (the first
 * scratch page zapped splits its PMD mapping).  The result line is
 * "# torture: mode=M lost=N ...", M the vm.tlb_pending_filter mode ("n"
 * without it); the test passes if N is 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"

#define TRACEFS		"/sys/kernel/tracing"
#define EVENTS		TRACEFS "/events/tlb_pending_filter"
#define MODE_FILE	"/proc/sys/vm/tlb_pending_filter"
#define KSM_DIR		"/sys/kernel/mm/ksm"

#define NR_WRITERS	4
#define SLOT_STRIDE	64		/* a cache line per writer and page */
#define SLOT_PAGES	64		/* 4 KiB mode, each then a scratch page */
#define KSM_PAGES	32
#define KSM_PATTERN	0x5a5a5a5a5a5a5a5aULL
#define SEQ_MASK	((1ULL << 48) - 1)
#define MAX_REPORTS	10
#define PMD_SIZE_2M	(2UL << 20)

/* Flags and counters shared between threads. */
#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define INC(x)		__atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)

/* The stores under test: one access each, never merged or elided. */
static __u64 slot_load(__u64 *slot)
{
	return __atomic_load_n(slot, __ATOMIC_RELAXED);
}

static void slot_store(__u64 *slot, __u64 val)
{
	__atomic_store_n(slot, val, __ATOMIC_RELAXED);
}

static size_t page_size;

/*
 * The area: the slot region, where slot pages and scratch pages alternate,
 * then KSM_PAGES KSM pages.  One uffd-wp registration covers all of it.
 */
static struct {
	char *area;
	size_t len;
	size_t slot_len;
	unsigned long nr_slots;	/* slot pages */
	char *ksm;
	int uffd;
	int pagemap_fd;
	int clear_refs_fd;
	bool stop;
	unsigned long segv_retries;
	unsigned long reports;
} t = { .uffd = -1, .pagemap_fd = -1, .clear_refs_fd = -1 };

static int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	ssize_t ret;

	if (fd < 0)
		return -errno;
	ret = write(fd, val, strlen(val));
	close(fd);
	return ret < 0 ? -errno : 0;
}

/* The first line of a file, without its newline. */
static int read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t ret;

	if (fd < 0)
		return -errno;
	ret = read(fd, buf, size - 1);
	close(fd);
	if (ret < 0)
		return -errno;
	buf[ret] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000,
			       .tv_nsec = (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* --- tracefs --------------------------------------------------------------- */

static bool trace_on;

static void trace_off(void)
{
	if (!trace_on)
		return;
	write_file(EVENTS "/wp_copy_check/enable", "0");
	write_file(EVENTS "/wp_flush/enable", "0");
}

static bool trace_start(void)
{
	static const char * const events[] = { "wp_copy_check", "wp_flush" };
	char path[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(events); i++) {
		snprintf(path, sizeof(path), EVENTS "/%s/enable", events[i]);
		if (access(path, W_OK))
			return false;
	}
	if (write_file(TRACEFS "/buffer_size_kb", "16384") ||
	    write_file(TRACEFS "/tracing_on", "1"))
		return false;
	trace_on = true;
	for (i = 0; i < ARRAY_SIZE(events); i++) {
		snprintf(path, sizeof(path), EVENTS "/%s/filter", events[i]);
		if (write_file(path, "0"))
			break;
		snprintf(path, sizeof(path), EVENTS "/%s/enable", events[i]);
		if (write_file(path, "1"))
			break;
	}
	if (i < ARRAY_SIZE(events) || write_file(TRACEFS "/trace", "")) {
		trace_off();
		trace_on = false;
		return false;
	}
	return true;
}

/* Count the events; the ring buffer overwrites, report what it lost. */
static void trace_count(long *copies, long *flushes, long *lost)
{
	FILE *f;
	char line[512];

	*copies = *flushes = *lost = -1;
	if (!trace_on)
		return;
	f = fopen(TRACEFS "/trace", "r");
	if (!f)
		return;
	*copies = *flushes = *lost = 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long in, written;

		if (line[0] == '#') {
			if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
				   &in, &written) == 2 && written > in)
				*lost = written - in;
			continue;
		}
		if (strstr(line, "wp_copy_check: "))
			(*copies)++;
		else if (strstr(line, "wp_flush: "))
			(*flushes)++;
	}
	fclose(f);
}

/* --- KSM ------------------------------------------------------------------- */

/* Set in this order, restored in the reverse one; only "run" must work. */
static const char * const ksm_knobs[] = { "pages_to_scan", "sleep_millisecs", "run" };
static const char * const ksm_values[] = { "1000", "1", "1" };
static char ksm_saved[ARRAY_SIZE(ksm_knobs)][32];
static int ksm_nr_set;

static void ksm_restore(void)
{
	char path[128];

	while (ksm_nr_set > 0) {
		ksm_nr_set--;
		if (!ksm_saved[ksm_nr_set][0])
			continue;
		snprintf(path, sizeof(path), KSM_DIR "/%s", ksm_knobs[ksm_nr_set]);
		write_file(path, ksm_saved[ksm_nr_set]);
	}
}

static bool ksm_start(void)
{
	char path[128];
	size_t i;

	if (access(KSM_DIR "/run", W_OK))
		return false;
	for (i = 0; i < ARRAY_SIZE(ksm_knobs); i++) {
		snprintf(path, sizeof(path), KSM_DIR "/%s", ksm_knobs[i]);
		if (read_file(path, ksm_saved[i], sizeof(ksm_saved[i])))
			ksm_saved[i][0] = 0;
		ksm_nr_set = i + 1;
		/* pages_to_scan is not writable with the KSM advisor on. */
		if (write_file(path, ksm_values[i]) && !strcmp(ksm_knobs[i], "run")) {
			ksm_restore();
			return false;
		}
	}
	if (madvise(t.ksm, KSM_PAGES * page_size, MADV_MERGEABLE)) {
		ksm_restore();
		return false;
	}
	return true;
}

/* Pages of this process merged by KSM; -1 if unknown. */
static long ksm_merging(void)
{
	char buf[32];

	if (read_file("/proc/self/ksm_merging_pages", buf, sizeof(buf)) &&
	    read_file(KSM_DIR "/pages_sharing", buf, sizeof(buf)))
		return -1;
	return atol(buf);
}

/* --- uffd-wp, as tlb_pending_filter.c -------------------------------------- */

static int uffd_open_wp(bool async)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return -1;
	api.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
	if (async)
		api.features |= UFFD_FEATURE_WP_ASYNC;
	if (ioctl(fd, UFFDIO_API, &api)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int uffd_register_wp(int fd, void *addr, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	return ioctl(fd, UFFDIO_REGISTER, &reg) ? -errno : 0;
}

static void uffd_wp(int fd, void *addr, size_t len, bool on)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	while (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		if (errno != EAGAIN && errno != EINTR)
			ksft_exit_fail_perror("UFFDIO_WRITEPROTECT");
}

/*
 * A 2 MiB-aligned anonymous mapping: the slot region of @slot_len bytes,
 * with THP if @thp, then @tail_len bytes without.
 */
static char *map_aligned(size_t slot_len, size_t tail_len, bool thp)
{
	size_t len = slot_len + tail_len;
	char *p = mmap(NULL, len + PMD_SIZE_2M, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		ksft_exit_fail_perror("mmap");
	a = (char *)(((unsigned long)p + PMD_SIZE_2M - 1) & ~(PMD_SIZE_2M - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + len + PMD_SIZE_2M - (a + len));
	if (madvise(a, len, MADV_NOHUGEPAGE))
		ksft_exit_fail_perror("madvise(MADV_NOHUGEPAGE)");
	if (thp && madvise(a, slot_len, MADV_HUGEPAGE))
		ksft_exit_skip("madvise(MADV_HUGEPAGE): %s\n", strerror(errno));
	return a;
}

/* --- the writers ----------------------------------------------------------- */

struct writer {
	int id;
	__u64 seq;
	__u64 *last;		/* per slot: what this writer stored last */
	unsigned long writes;
	unsigned long lost;
	pthread_t thread;
};

/* Slot @i of writer @id: slot pages first, then the KSM pages. */
static __u64 *slot_of(int id, unsigned long i)
{
	char *page;

	if (i < t.nr_slots)
		page = t.area + 2 * i * page_size;
	else
		page = t.ksm + (i - t.nr_slots) * page_size;
	return (__u64 *)(page + id * SLOT_STRIDE);
}

static void report_loss(const char *when, __u64 *slot, __u64 expect, __u64 found)
{
	if (INC(t.reports) < MAX_REPORTS)
		ksft_print_msg("lost write (%s): %p holds %#llx, expected %#llx\n",
			       when, slot, found, expect);
}

/*
 * Store @val to @slot, which must still hold *@last, the previous store of
 * its only writer, and read it back; *@last follows what was read.
 * Returns the lost writes seen.
 */
static unsigned long write_slot(__u64 *slot, __u64 *last, __u64 val)
{
	unsigned long lost = 0;
	__u64 v = slot_load(slot);

	if (v != *last) {
		report_loss("before store", slot, *last, v);
		lost++;
	}
	slot_store(slot, val);
	v = slot_load(slot);
	if (v != val) {
		report_loss("read-back", slot, val, v);
		lost++;
	}
	*last = v;
	return lost;
}

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	unsigned long i, n = t.nr_slots + KSM_PAGES;
	__u64 tag = (__u64)(w->id + 1) << 48;

	while (!LOAD(t.stop)) {
		for (i = 0; i < n; i++) {
			__u64 *slot = slot_of(w->id, i);

			w->seq = (w->seq + 1) & SEQ_MASK;
			w->lost += write_slot(slot, &w->last[i], tag | w->seq);
			w->writes++;
			if (i < t.nr_slots)
				continue;
			/* A KSM page: back to the pattern all of them share. */
			w->lost += write_slot(slot, &w->last[i], KSM_PATTERN);
			w->writes++;
		}
	}
	return NULL;
}

/* A store to the area while mprotect() made it read-only: retry it. */
static void segv_handler(int sig, siginfo_t *si, void *ctx)
{
	char *addr = si->si_addr;

	(void)ctx;
	if (si->si_code == SEGV_ACCERR && addr >= t.area &&
	    addr < t.area + t.len) {
		INC(t.segv_retries);
		sched_yield();
		return;
	}
	/* Anything else: fault again, and die of it. */
	signal(sig, SIG_DFL);
}

/* --- the agitators --------------------------------------------------------- */

struct agitator {
	const char *name;	/* of its count, in the result line */
	void *(*fn)(void *arg);
	bool on;
	long count;		/* -1 when off */
	unsigned long lost;
	pthread_t thread;
};

static void *wp_fn(void *arg)
{
	struct agitator *a = arg;

	while (!LOAD(t.stop)) {
		uffd_wp(t.uffd, t.area, t.len, true);
		uffd_wp(t.uffd, t.area, t.len, false);
		a->count++;
	}
	return NULL;
}

static void *mprotect_fn(void *arg)
{
	struct agitator *a = arg;

	/* Always left read-write: the writers may be waiting for it. */
	while (!LOAD(t.stop)) {
		if (mprotect(t.area, t.len, PROT_READ))
			ksft_exit_fail_perror("mprotect(PROT_READ)");
		sched_yield();
		if (mprotect(t.area, t.len, PROT_READ | PROT_WRITE))
			ksft_exit_fail_perror("mprotect(PROT_READ | PROT_WRITE)");
		a->count++;
		sched_yield();
	}
	return NULL;
}

static void *clear_refs_fn(void *arg)
{
	struct agitator *a = arg;

	while (!LOAD(t.stop)) {
		if (write(t.clear_refs_fd, "4", 1) != 1)
			ksft_exit_fail_perror("write(/proc/self/clear_refs)");
		a->count++;
	}
	return NULL;
}

/* One PAGEMAP_SCAN pass over the area; -errno on failure. */
static int pagemap_scan(void)
{
	struct page_region vec[256];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
		.start = (unsigned long)t.area,
		.end = (unsigned long)t.area + t.len,
		.vec = (unsigned long)vec,
		.vec_len = ARRAY_SIZE(vec),
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};

	/* A full vec ends the walk early: go on from where it stopped. */
	while (arg.start < arg.end) {
		if (ioctl(t.pagemap_fd, PAGEMAP_SCAN, &arg) < 0)
			return -errno;
		if (arg.walk_end <= arg.start)
			break;
		arg.start = arg.walk_end;
	}
	return 0;
}

static void *scan_fn(void *arg)
{
	struct agitator *a = arg;
	int ret;

	while (!LOAD(t.stop)) {
		ret = pagemap_scan();
		if (ret) {
			errno = -ret;
			ksft_exit_fail_perror("PAGEMAP_SCAN");
		}
		a->count++;
	}
	return NULL;
}

static void *dontneed_fn(void *arg)
{
	struct agitator *a = arg;
	__u64 seq = 0;
	unsigned long i;

	while (!LOAD(t.stop)) {
		for (i = 0; i < t.nr_slots && !LOAD(t.stop); i++) {
			char *page = t.area + (2 * i + 1) * page_size;
			__u64 *slot = (__u64 *)(page + SLOT_STRIDE);
			__u64 zero = 0;

			if (madvise(page, page_size, MADV_DONTNEED))
				ksft_exit_fail_perror("madvise(MADV_DONTNEED)");
			/* Reads zero (the zero page), then copies it. */
			a->lost += write_slot(slot, &zero, ++seq);
			a->count++;
		}
	}
	return NULL;
}

static void *fork_fn(void *arg)
{
	struct agitator *a = arg;
	int ms = 1;
	pid_t pid;

	while (!LOAD(t.stop)) {
		pid = fork();
		if (pid < 0)
			ksft_exit_fail_perror("fork");
		if (!pid) {
			/* Touch nothing of the area; async-signal-safe only. */
			poll(NULL, 0, ms);
			_exit(0);
		}
		if (waitpid(pid, NULL, 0) != pid)
			ksft_exit_fail_perror("waitpid");
		ms = ms % 5 + 1;
		a->count++;
	}
	return NULL;
}

/* ksmd is the agitator: count the merges it makes, sampled. */
static void *ksm_fn(void *arg)
{
	struct agitator *a = arg;
	long prev = ksm_merging(), cur;

	while (!LOAD(t.stop)) {
		sleep_ms(2);
		cur = ksm_merging();
		if (cur > prev)
			a->count += cur - prev;
		prev = cur;
	}
	return NULL;
}

enum {
	AG_WP, AG_MPROTECT, AG_CLEAR_REFS, AG_SCAN, AG_DONTNEED, AG_FORK, AG_KSM,
	NR_AGITATORS
};

static struct agitator agitators[NR_AGITATORS] = {
	[AG_WP]		= { "wp_cycles", wp_fn },
	[AG_MPROTECT]	= { "mprotect_cycles", mprotect_fn },
	[AG_CLEAR_REFS]	= { "clear_refs", clear_refs_fn },
	[AG_SCAN]	= { "scans", scan_fn },
	[AG_DONTNEED]	= { "dontneed", dontneed_fn },
	[AG_FORK]	= { "forks", fork_fn },
	[AG_KSM]	= { "ksm", ksm_fn },
};

static void agitator_off(int i, const char *why)
{
	agitators[i].on = false;
	ksft_print_msg("%s: off, %s\n", agitators[i].name, why);
}

/* --- main ------------------------------------------------------------------ */

static void setup_agitators(void)
{
	int i, ret;

	for (i = 0; i < NR_AGITATORS; i++)
		agitators[i].on = true;

	t.uffd = uffd_open_wp(true);
	if (t.uffd < 0) {
		agitator_off(AG_WP, "no async uffd-wp");
		agitator_off(AG_SCAN, "no async uffd-wp");
	} else {
		ret = uffd_register_wp(t.uffd, t.area, t.len);
		if (ret)
			ksft_exit_fail_msg("UFFDIO_REGISTER: %s\n", strerror(-ret));
	}

	if (agitators[AG_SCAN].on) {
		t.pagemap_fd = open("/proc/self/pagemap", O_RDONLY);
		ret = t.pagemap_fd < 0 ? -errno : pagemap_scan();
		if (ret) {
			ksft_print_msg("PAGEMAP_SCAN: %s\n", strerror(-ret));
			agitator_off(AG_SCAN, "no PAGEMAP_SCAN");
		}
	}

	t.clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY);
	if (t.clear_refs_fd < 0 || write(t.clear_refs_fd, "4", 1) != 1)
		agitator_off(AG_CLEAR_REFS, "cannot write /proc/self/clear_refs");

	if (!ksm_start())
		agitator_off(AG_KSM, "cannot run KSM (" KSM_DIR "/run)");

	for (i = 0; i < NR_AGITATORS; i++)
		agitators[i].count = agitators[i].on ? 0 : -1;
}

static void at_exit(void)
{
	STORE(t.stop, true);
	trace_off();
	ksm_restore();
}

static __noreturn void bad_args(const char *prog)
{
	ksft_exit_fail_msg("usage: %s [-H] [SECONDS [LABEL [thp]]]\n", prog);
}

int main(int argc, char **argv)
{
	struct writer writers[NR_WRITERS];
	struct sigaction sa = { 0 };
	const char *label = NULL;
	long copies, flushes, trace_lost;
	unsigned long lost = 0, writes = 0, i;
	char mode[16], line[512];
	bool thp = false;
	int seconds = 5, c, w;
	size_t len;
	char *end;

	page_size = getpagesize();
	ksft_print_header();
	while ((c = getopt(argc, argv, "H")) != -1) {
		if (c != 'H')
			bad_args(argv[0]);
		thp = true;
	}
	if (optind < argc) {
		long arg = strtol(argv[optind], &end, 10);

		if (*end || arg < 1 || arg > 1000000)
			bad_args(argv[0]);
		seconds = arg;
	}
	if (optind + 1 < argc)
		label = argv[optind + 1];
	if (optind + 2 < argc) {
		if (strcmp(argv[optind + 2], "thp"))
			bad_args(argv[0]);
		thp = true;
	}
	ksft_set_plan(1);

	if (read_file(MODE_FILE, mode, sizeof(mode)) || !mode[0])
		snprintf(mode, sizeof(mode), "n");

	t.slot_len = thp ? PMD_SIZE_2M : 2 * SLOT_PAGES * page_size;
	t.nr_slots = t.slot_len / page_size / 2;
	t.len = t.slot_len + KSM_PAGES * page_size;
	t.area = map_aligned(t.slot_len, KSM_PAGES * page_size, thp);
	t.ksm = t.area + t.slot_len;
	memset(t.ksm, 0x5a, KSM_PAGES * page_size);
	atexit(at_exit);

	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL))
		ksft_exit_fail_perror("sigaction");

	setup_agitators();
	if (!trace_start())
		ksft_print_msg("no tracefs events at %s: copies, flushes, trace_lost are -1\n",
			       EVENTS);
	ksft_print_msg("%s pages, %lu slot pages, %d KSM pages, %d writers, %d s\n",
		       thp ? "THP" : "4 KiB", t.nr_slots, KSM_PAGES, NR_WRITERS,
		       seconds);
	fflush(stdout);

	for (w = 0; w < NR_WRITERS; w++) {
		writers[w] = (struct writer){ .id = w };
		writers[w].last = calloc(t.nr_slots + KSM_PAGES, sizeof(__u64));
		if (!writers[w].last)
			ksft_exit_fail_perror("calloc");
		for (i = t.nr_slots; i < t.nr_slots + KSM_PAGES; i++)
			writers[w].last[i] = KSM_PATTERN;
		if (pthread_create(&writers[w].thread, NULL, writer_fn, &writers[w]))
			ksft_exit_fail_msg("pthread_create failed\n");
	}
	for (i = 0; i < NR_AGITATORS; i++) {
		if (agitators[i].on &&
		    pthread_create(&agitators[i].thread, NULL, agitators[i].fn,
				   &agitators[i]))
			ksft_exit_fail_msg("pthread_create failed\n");
	}

	sleep_ms(seconds * 1000L);
	STORE(t.stop, true);
	for (w = 0; w < NR_WRITERS; w++)
		pthread_join(writers[w].thread, NULL);
	for (i = 0; i < NR_AGITATORS; i++)
		if (agitators[i].on)
			pthread_join(agitators[i].thread, NULL);
	trace_off();
	trace_count(&copies, &flushes, &trace_lost);
	ksm_restore();

	/* Every slot must hold the last store of its writer. */
	for (w = 0; w < NR_WRITERS; w++) {
		for (i = 0; i < t.nr_slots + KSM_PAGES; i++) {
			__u64 *slot = slot_of(w, i);
			__u64 v = slot_load(slot);

			if (v != writers[w].last[i]) {
				report_loss("at the end", slot, writers[w].last[i], v);
				lost++;
			}
		}
		lost += writers[w].lost;
		writes += writers[w].writes;
		free(writers[w].last);
	}
	for (i = 0; i < NR_AGITATORS; i++)
		lost += agitators[i].lost;

	ksft_print_msg("segv_retries=%lu loss_reports=%lu\n",
		       LOAD(t.segv_retries), LOAD(t.reports));
	len = snprintf(line, sizeof(line),
		       "torture: mode=%s lost=%lu copies=%ld flushes=%ld writes=%lu",
		       mode, lost, copies, flushes, writes);
	for (i = 0; i < NR_AGITATORS; i++)
		len += snprintf(line + len, sizeof(line) - len, " %s=%ld",
				agitators[i].name, agitators[i].count);
	snprintf(line + len, sizeof(line) - len, " trace_lost=%ld seconds=%d",
		 trace_lost, seconds);
	ksft_print_msg("%s\n", line);

	munmap(t.area, t.len);
	ksft_test_result(!lost, "tlb_pending_torture%s%s\n", label ? " " : "",
			 label ? label : "");
	ksft_finished();
}
