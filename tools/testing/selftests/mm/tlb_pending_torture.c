// SPDX-License-Identifier: GPL-2.0
/*
 * Lost-write torture for the TLB pending filter (CONFIG_TLB_PENDING_FILTER).
 *
 * Before do_wp_page() copies a page of a uffd-wp VMA it flushes the TLB if
 * a flush may still be pending for the mm: a store through a stale writable
 * TLB entry that lands in the old page after the copy would be lost.  The
 * filter skips that flush when the address cannot have one pending.  This
 * test tries hard to lose a user write and counts the writes it loses.
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
 * THP mode ("-H" or "thp"): the slot region is one 2 MiB-aligned
 * MADV_HUGEPAGE extent instead of MADV_NOHUGEPAGE 4 KiB pages, populated
 * before the run, so the writers start on a PMD-mapped THP.  It is meant
 * to show that a copy which follows a write-protect of a PMD-mapped THP
 * whose flush is still deferred (change_huge_pmd() under UFFDIO_WRITEPROTECT
 * or mprotect()) loses nothing: do_wp_page() copies only at PTE level, and
 * a write fault splits the PMD first (async uffd-wp, or a THP COW-shared by
 * a fork), which flushes.  A THP is split at the first such fault or zap,
 * so one more thread keeps making new ones:
 *
 *  rebuilds:    every REBUILD_MS, pauses the writers, dontneed, wp_cycles
 *               and scans (area_hold()), copies the slot region aside,
 *               maps fresh anonymous memory over it (MAP_FIXED), advises
 *               MADV_HUGEPAGE, registers it for async uffd-wp again and
 *               writes the contents back: the first write fault allocates
 *               a PMD-mapped THP.  Not MADV_DONTNEED: once a PMD is split,
 *               zapping leaves its empty page table, and a fault maps a
 *               THP only where the PMD is none.  mprotect, clear_refs,
 *               forks and ksm run on through the rebuild.
 *
 * and dontneed holds off for DONTNEED_HOLD_MS after each rebuild, so that
 * the new THP meets wp_cycles and forks at PMD level before a zap splits
 * it.  wp_cycles looks after each UFFDIO_WRITEPROTECT whether the slot
 * region is still PMD-mapped (PAGEMAP_SCAN, PAGE_IS_HUGE): no rebuild can
 * come in between, so the write-protect went through change_huge_pmd().
 * The result line gains, from /proc/vmstat deltas over the run (system
 * wide):
 *
 *  rebuilds=        rebuilds done
 *  thp_rebuilds=    rebuilds whose write-back raised thp_fault_alloc
 *  thp_fault_alloc= THPs allocated at a fault
 *  thp_split_pmd=   PMD mappings split
 *  wp_pmd=          write-protect cycles that found the region PMD-mapped
 *
 * and the test fails, "THP path not exercised", unless thp_rebuilds,
 * thp_split_pmd and wp_pmd are above 0.
 *
 * NUMA mode ("-N"): the flush that protects a migration, not a copy.
 * NUMA hinting (change_prot_numa()) makes PTEs PROT_NONE and defers their
 * flush; a migration that clears such a PTE (ptep_clear_flush(), or a
 * batched unmap) must flush while that flush may still be pending, or a
 * writer still holding a writable TLB entry keeps storing to the old page
 * after it was copied.  This needs two NUMA nodes (numa=fake=2) and turns
 * NUMA balancing on with fast scan knobs, restored at exit.  Behind the
 * KSM pages the area gets a NUMA_HEAP_MIB heap, so that each scan step
 * walks long after it has made the slot pages PROT_NONE (the window),
 * and the agitators are:
 *
 *  dontneed:    as above: zaps of the scratch pages, an mmu_gather open
 *               elsewhere in the mm, as an allocator's would be.
 *  migrations:  move_pages() of one slot page at a time to the other
 *               node (single-folio migrations: a batch that holds a
 *               present PTE would flush everything first), counted when
 *               the page arrived.
 *  pageouts:    MADV_PAGEOUT of one slot page at a time, with swap (the
 *               guest swaps to zram); reclaim unmaps in a batch
 *               (set_tlb_ubc_flush_pending()) while its own gather is open.
 *  heap_passes: reads of the whole heap, so that hinting faults restore
 *               its PTEs for the next scan step to change again.
 *
 * The writers fault on the slot pages the scanner made PROT_NONE, and
 * their hinting faults migrate some of them too.  The result line gains
 * numa_pte_updates=, numa_hint_faults=, numa_pages_migrated= and pswpout=
 * (/proc/vmstat deltas).  The test fails, "NUMA path not exercised",
 * unless numa_pte_updates and migrations are above 0.
 *
 * Forced loss ("-F"): one writer drops one store on purpose, once, as if
 * a stale TLB entry had carried it to a page that was then replaced.  The
 * run must report exactly that lost write: it shows that the detector
 * sees a loss in the leg it runs in.  The result line says forced=1.
 *
 * Usage: tlb_pending_torture [-H|-N] [-F] [SECONDS [LABEL [thp]]]
 * SECONDS defaults to 5.  The result line is
 * "# torture: lost=N ..."; the test passes if N is 0 (1 with -F) and, in
 * THP and NUMA modes, the path was exercised.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <linux/fs.h>
#include <linux/mempolicy.h>
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
#include "vm_util.h"

#define KSM_DIR		"/sys/kernel/mm/ksm"
#define THP_ENABLED	"/sys/kernel/mm/transparent_hugepage/enabled"

#define NR_WRITERS	4
#define SLOT_STRIDE	64		/* a cache line per writer and page */
#define SLOT_PAGES	64		/* 4 KiB mode, each then a scratch page */
#define KSM_PAGES	32
#define KSM_PATTERN	0x5a5a5a5a5a5a5a5aULL
#define SEQ_MASK	((1ULL << 48) - 1)
#define MAX_REPORTS	10
#define PMD_SIZE_2M	(2UL << 20)
#define REBUILD_MS	30		/* THP mode: between rebuilds */
#define DONTNEED_HOLD_MS 15		/* THP mode: no zap after a rebuild */
#define NUMA_HEAP_MIB	32		/* NUMA mode: behind the KSM pages */
#define FORCED_WRITE	1000		/* -F: the store writer 0 drops */
#define NUMAB_DEBUGFS	"/sys/kernel/debug/sched/numa_balancing/"
#define NUMAB_SYSCTL	"/proc/sys/kernel/numa_balancing"

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
	/* THP mode: the rebuilds, see area_hold(). */
	bool thp;
	bool pausing;
	pthread_rwlock_t area_lock;
	pthread_mutex_t pause_lock;	/* pausing changes under it */
	pthread_cond_t resumed;
	long rebuilt_at;	/* ms, CLOCK_MONOTONIC */
	char *save;		/* the slot region's contents, aside */
	long thp_rebuilds;	/* rebuilds that allocated a THP */
	long wp_pmd;		/* -1 when not counted */
	/* NUMA mode */
	bool numa;
	char *heap;
	size_t heap_len;
	/* -F: writer 0 drops its FORCED_WRITE-th store */
	bool forced;
} t = {
	.uffd = -1, .pagemap_fd = -1, .clear_refs_fd = -1, .wp_pmd = -1,
	.area_lock = PTHREAD_RWLOCK_INITIALIZER,
	.pause_lock = PTHREAD_MUTEX_INITIALIZER,
	.resumed = PTHREAD_COND_INITIALIZER,
};

static int write_str(const char *path, const char *val)
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
static int read_str(const char *path, char *buf, size_t size)
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

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Counters in /proc/vmstat, system wide; -1 if unknown. */
enum {
	VM_THP_FAULT_ALLOC, VM_THP_SPLIT_PMD,
	VM_NUMA_PTE_UPDATES, VM_NUMA_HINT_FAULTS, VM_NUMA_PAGES_MIGRATED,
	VM_PSWPOUT, NR_VM
};

static const char * const vm_names[NR_VM] = {
	"thp_fault_alloc", "thp_split_pmd",
	"numa_pte_updates", "numa_hint_faults", "numa_pages_migrated",
	"pswpout",
};

static void vmstat_read(long val[NR_VM])
{
	char name[64];
	long v;
	FILE *f;
	int i;

	for (i = 0; i < NR_VM; i++)
		val[i] = -1;
	f = fopen("/proc/vmstat", "r");
	if (!f)
		return;
	while (fscanf(f, "%63s %ld", name, &v) == 2) {
		for (i = 0; i < NR_VM; i++)
			if (!strcmp(name, vm_names[i]))
				val[i] = v;
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
		write_str(path, ksm_saved[ksm_nr_set]);
	}
}

static bool ksm_begin(void)
{
	char path[128];
	size_t i;

	if (access(KSM_DIR "/run", W_OK))
		return false;
	for (i = 0; i < ARRAY_SIZE(ksm_knobs); i++) {
		snprintf(path, sizeof(path), KSM_DIR "/%s", ksm_knobs[i]);
		if (read_str(path, ksm_saved[i], sizeof(ksm_saved[i])))
			ksm_saved[i][0] = 0;
		ksm_nr_set = i + 1;
		/* pages_to_scan is not writable with the KSM advisor on. */
		if (write_str(path, ksm_values[i]) && !strcmp(ksm_knobs[i], "run")) {
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

	if (read_str("/proc/self/ksm_merging_pages", buf, sizeof(buf)) &&
	    read_str(KSM_DIR "/pages_sharing", buf, sizeof(buf)))
		return -1;
	return atol(buf);
}

/* --- uffd-wp, as tlb_pending_filter.c (registration: vm_util.c) ----------- */

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

/* --- THP mode: pausing for a rebuild ---------------------------------------- */

/*
 * A rebuild replaces the slot region: no thread may store to it meanwhile,
 * and none may find it unregistered (UFFDIO_WRITEPROTECT fails with ENOENT
 * on a range not all registered, PAGEMAP_SCAN with PM_SCAN_CHECK_WPASYNC
 * with EPERM).  So the writers (over each pass), dontneed (each page),
 * wp_cycles (each on/off pair) and scans (each scan) hold area_lock for
 * read, and the rebuild holds it for write.  glibc's rwlock lets readers in
 * while a writer waits: the rebuild first raises t.pausing, and no hold
 * begins while it is up (they wait for t.resumed), so only the holds begun
 * before must end.  mprotect, clear_refs, forks and ksm never hold it, so
 * a store retrying after SIGSEGV under a hold, or in the rebuild, always
 * sees mprotect() make the area writable again.  Outside THP mode nothing
 * holds it.
 */
static void area_hold(void)
{
	if (!t.thp)
		return;
	if (LOAD(t.pausing)) {
		pthread_mutex_lock(&t.pause_lock);
		while (t.pausing)
			pthread_cond_wait(&t.resumed, &t.pause_lock);
		pthread_mutex_unlock(&t.pause_lock);
	}
	pthread_rwlock_rdlock(&t.area_lock);
}

static void area_release(void)
{
	if (t.thp)
		pthread_rwlock_unlock(&t.area_lock);
}

static void area_pause(void)
{
	pthread_mutex_lock(&t.pause_lock);
	STORE(t.pausing, true);
	pthread_mutex_unlock(&t.pause_lock);
	pthread_rwlock_wrlock(&t.area_lock);
}

static void area_resume(void)
{
	pthread_rwlock_unlock(&t.area_lock);
	pthread_mutex_lock(&t.pause_lock);
	STORE(t.pausing, false);
	pthread_cond_broadcast(&t.resumed);
	pthread_mutex_unlock(&t.pause_lock);
}

/* A rebuild less than DONTNEED_HOLD_MS ago: leave its THP to the others. */
static bool rebuilt_lately(void)
{
	return t.thp && now_ms() - LOAD(t.rebuilt_at) < DONTNEED_HOLD_MS;
}

/* --- the writers ----------------------------------------------------------- */

struct writer {
	int id;
	bool dropped;		/* -F: the store it dropped */
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
		area_hold();
		for (i = 0; i < n; i++) {
			__u64 *slot = slot_of(w->id, i);

			w->seq = (w->seq + 1) & SEQ_MASK;
			if (t.forced && !w->id && !w->dropped &&
			    w->writes >= FORCED_WRITE && i < t.nr_slots) {
				/* -F: what a store lost to a stale entry leaves. */
				w->last[i] = tag | w->seq;
				w->dropped = true;
				w->writes++;
				continue;
			}
			w->lost += write_slot(slot, &w->last[i], tag | w->seq);
			w->writes++;
			if (i < t.nr_slots)
				continue;
			/* A KSM page: back to the pattern all of them share. */
			w->lost += write_slot(slot, &w->last[i], KSM_PATTERN);
			w->writes++;
		}
		area_release();
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

static int slot_pmd_mapped(void);

static void *wp_fn(void *arg)
{
	struct agitator *a = arg;
	int ret;

	while (!LOAD(t.stop)) {
		area_hold();
		uffd_wp(t.uffd, t.area, t.len, true);
		/*
		 * Still PMD-mapped: the write-protect found it so, for only a
		 * rebuild makes a PMD mapping and the hold keeps them out.
		 */
		if (t.wp_pmd >= 0) {
			ret = slot_pmd_mapped();
			if (ret < 0) {
				errno = -ret;
				ksft_exit_fail_perror("PAGEMAP_SCAN (PAGE_IS_HUGE)");
			}
			if (ret)
				INC(t.wp_pmd);
		}
		uffd_wp(t.uffd, t.area, t.len, false);
		area_release();
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

/*
 * Is the slot region mapped by a PMD (a THP, not the huge zero page)?
 * -errno on failure.
 */
static int slot_pmd_mapped(void)
{
	struct page_region vec[1];
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = (unsigned long)t.area,
		.end = (unsigned long)t.area + t.slot_len,
		.vec = (unsigned long)vec,
		.vec_len = ARRAY_SIZE(vec),
		.category_mask = PAGE_IS_HUGE | PAGE_IS_PRESENT,
		.return_mask = PAGE_IS_HUGE | PAGE_IS_PFNZERO,
	};
	long ret = ioctl(t.pagemap_fd, PAGEMAP_SCAN, &arg);

	if (ret < 0)
		return -errno;
	return ret > 0 && !(vec[0].categories & PAGE_IS_PFNZERO);
}

static void *scan_fn(void *arg)
{
	struct agitator *a = arg;
	int ret;

	while (!LOAD(t.stop)) {
		area_hold();
		ret = pagemap_scan();
		area_release();
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

			area_hold();
			if (rebuilt_lately()) {
				area_release();
				sleep_ms(1);
				continue;
			}
			if (madvise(page, page_size, MADV_DONTNEED))
				ksft_exit_fail_perror("madvise(MADV_DONTNEED)");
			/* Reads zero (the zero page), then copies it. */
			a->lost += write_slot(slot, &zero, ++seq);
			area_release();
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

/*
 * NUMA mode: single-page migrations of the slot pages, to the other node
 * of two, each counted when the page arrived.  A page the scanner has
 * just made PROT_NONE is one whose flush may still be pending.
 */
static void *migrate_fn(void *arg)
{
	struct agitator *a = arg;
	unsigned long i;
	int node = 1;

	while (!LOAD(t.stop)) {
		for (i = 0; i < t.nr_slots && !LOAD(t.stop); i++) {
			void *page = t.area + 2 * i * page_size;
			int status = -1;

			if (syscall(__NR_move_pages, 0, 1UL, &page, &node,
				    &status, MPOL_MF_MOVE) < 0)
				ksft_exit_fail_perror("move_pages");
			if (status == node)
				a->count++;
		}
		node = !node;
	}
	return NULL;
}

/*
 * NUMA mode: reclaim of the slot pages, one at a time (MADV_PAGEOUT, which
 * holds a gather of its own open: the mm-wide answer flushes for every
 * PROT_NONE PTE it unmaps).  Counted per call; pswpout says how many
 * pages went to swap.  Off without swap.
 */
static void *pageout_fn(void *arg)
{
	struct agitator *a = arg;
	unsigned long i;

	while (!LOAD(t.stop)) {
		for (i = 0; i < t.nr_slots && !LOAD(t.stop); i++) {
			if (madvise(t.area + 2 * i * page_size, page_size,
				    MADV_PAGEOUT))
				ksft_exit_fail_perror("madvise(MADV_PAGEOUT)");
			a->count++;
			sleep_ms(1);
		}
	}
	return NULL;
}

/* NUMA mode: read the heap over and over, restoring its PTEs. */
static void *heap_fn(void *arg)
{
	struct agitator *a = arg;
	size_t off;

	while (!LOAD(t.stop)) {
		for (off = 0; off < t.heap_len; off += page_size)
			(void)__atomic_load_n(t.heap + off, __ATOMIC_RELAXED);
		a->count++;
	}
	return NULL;
}

/*
 * THP mode: a new THP for the slot region, every REBUILD_MS; t.thp_rebuilds
 * counts the rebuilds that allocated one (thp_fault_alloc rose: nothing
 * else in the test can, and nothing else runs in the guest).
 */
static void *rebuild_fn(void *arg)
{
	struct agitator *a = arg;
	long before[NR_VM], after[NR_VM];
	char *p;
	int ret;

	while (!LOAD(t.stop)) {
		sleep_ms(REBUILD_MS);
		area_pause();

		memcpy(t.save, t.area, t.slot_len);
		vmstat_read(before);
		/* Unmaps the old pages and frees their page table. */
		p = mmap(t.area, t.slot_len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		if (p != t.area)
			ksft_exit_fail_perror("mmap(MAP_FIXED)");
		if (madvise(t.area, t.slot_len, MADV_HUGEPAGE))
			ksft_exit_fail_perror("madvise(MADV_HUGEPAGE)");
		if (t.uffd >= 0) {
			ret = uffd_register(t.uffd, t.area, t.slot_len,
					    false, true, false);
			if (ret)
				ksft_exit_fail_msg("UFFDIO_REGISTER: %s\n",
						   strerror(-ret));
		}
		/* The first write fault maps a new THP, when one is free. */
		memcpy(t.area, t.save, t.slot_len);
		vmstat_read(after);
		if (before[VM_THP_FAULT_ALLOC] >= 0 &&
		    after[VM_THP_FAULT_ALLOC] > before[VM_THP_FAULT_ALLOC])
			t.thp_rebuilds++;
		a->count++;

		STORE(t.rebuilt_at, now_ms());
		area_resume();
	}
	return NULL;
}

static struct agitator rebuilder = { .name = "rebuilds", .fn = rebuild_fn };

enum {
	AG_WP, AG_MPROTECT, AG_CLEAR_REFS, AG_SCAN, AG_DONTNEED, AG_FORK, AG_KSM,
	AG_MIGRATE, AG_PAGEOUT, AG_HEAP, NR_AGITATORS
};

static struct agitator agitators[NR_AGITATORS] = {
	[AG_WP]		= { "wp_cycles", wp_fn },
	[AG_MPROTECT]	= { "mprotect_cycles", mprotect_fn },
	[AG_CLEAR_REFS]	= { "clear_refs", clear_refs_fn },
	[AG_SCAN]	= { "scans", scan_fn },
	[AG_DONTNEED]	= { "dontneed", dontneed_fn },
	[AG_FORK]	= { "forks", fork_fn },
	[AG_KSM]	= { "ksm", ksm_fn },
	[AG_MIGRATE]	= { "migrations", migrate_fn },
	[AG_PAGEOUT]	= { "pageouts", pageout_fn },
	[AG_HEAP]	= { "heap_passes", heap_fn },
};

static void agitator_off(int i, const char *why)
{
	agitators[i].on = false;
	ksft_print_msg("%s: off, %s\n", agitators[i].name, why);
}

/* --- NUMA mode: balancing on, fast scans ------------------------------------ */

/* Online NUMA nodes: a list such as "0-1" or "0,2-3"; 1 without NUMA. */
static int numa_nodes(void)
{
	char buf[256], *p = buf, *e;
	long a, b;
	int n = 0;

	if (read_str("/sys/devices/system/node/online", buf, sizeof(buf)))
		return 1;
	for (;;) {
		a = strtol(p, &e, 10);
		b = a;
		if (e == p)
			break;
		if (*e == '-')
			b = strtol(e + 1, &e, 10);
		n += b - a + 1;
		if (*e != ',')
			break;
		p = e + 1;
	}
	return n ? n : 1;
}

/*
 * A scan step of up to 64 MiB every 100 ms of a scanning thread's CPU
 * time, new VMAs after 100 ms, no backing off (kernel/sched/debug.c):
 * many windows in a run of seconds.  Then kernel.numa_balancing=1.  Set
 * in this order, restored in the reverse one.
 */
static const char * const numab_knobs[][2] = {
	{ NUMAB_DEBUGFS "scan_delay_ms", "100" },
	{ NUMAB_DEBUGFS "scan_period_min_ms", "100" },
	{ NUMAB_DEBUGFS "scan_period_max_ms", "100" },
	{ NUMAB_DEBUGFS "scan_size_mb", "64" },
	{ NUMAB_SYSCTL, "1" },
};

static char numab_saved[ARRAY_SIZE(numab_knobs)][32];
static int numab_nr_set;

static void numab_restore(void)
{
	while (numab_nr_set > 0) {
		numab_nr_set--;
		write_str(numab_knobs[numab_nr_set][0],
			  numab_saved[numab_nr_set]);
	}
}

/* Any swap device or file in /proc/swaps, past its header line. */
static bool swap_on(void)
{
	char buf[256];
	int lines = 0;
	FILE *f = fopen("/proc/swaps", "r");

	if (!f)
		return false;
	while (fgets(buf, sizeof(buf), f))
		lines++;
	fclose(f);
	return lines > 1;
}

static void setup_numa(void)
{
	size_t i;
	int ret;

	if (numa_nodes() < 2)
		ksft_exit_skip("NUMA mode needs two NUMA nodes (boot with numa=fake=2)\n");
	for (i = 0; i < ARRAY_SIZE(numab_knobs); i++) {
		const char *path = numab_knobs[i][0];

		if (read_str(path, numab_saved[i], sizeof(numab_saved[i])))
			continue;	/* no debugfs: the defaults scan slower */
		ret = write_str(path, numab_knobs[i][1]);
		if (ret)
			ksft_exit_fail_msg("%s: %s\n", path, strerror(-ret));
		numab_nr_set = i + 1;
	}
	if (numab_nr_set < (int)ARRAY_SIZE(numab_knobs))
		ksft_exit_skip("cannot turn NUMA balancing on (" NUMAB_SYSCTL ")\n");
	memset(t.heap, 1, t.heap_len);
}

/* --- main ------------------------------------------------------------------ */

static void setup_agitators(void)
{
	int i, ret;

	for (i = 0; i < NR_AGITATORS; i++)
		agitators[i].on = !t.numa || i == AG_DONTNEED || i == AG_MIGRATE ||
				  i == AG_PAGEOUT || i == AG_HEAP;
	if (t.numa) {
		if (!swap_on())
			agitator_off(AG_PAGEOUT, "no swap (/proc/swaps)");
		for (i = 0; i < NR_AGITATORS; i++)
			agitators[i].count = agitators[i].on ? 0 : -1;
		return;
	}
	agitators[AG_MIGRATE].on = false;
	agitators[AG_PAGEOUT].on = false;
	agitators[AG_HEAP].on = false;

	t.uffd = uffd_open_wp(true);
	if (t.uffd < 0) {
		agitator_off(AG_WP, "no async uffd-wp");
		agitator_off(AG_SCAN, "no async uffd-wp");
	} else {
		ret = uffd_register(t.uffd, t.area, t.len, false, true, false);
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
	/* wp_pmd needs both; slot_pmd_mapped() asks no more than the scans. */
	if (t.thp && agitators[AG_WP].on && agitators[AG_SCAN].on)
		t.wp_pmd = 0;

	t.clear_refs_fd = open("/proc/self/clear_refs", O_WRONLY);
	if (t.clear_refs_fd < 0 || write(t.clear_refs_fd, "4", 1) != 1)
		agitator_off(AG_CLEAR_REFS, "cannot write /proc/self/clear_refs");

	if (!ksm_begin())
		agitator_off(AG_KSM, "cannot run KSM (" KSM_DIR "/run)");

	for (i = 0; i < NR_AGITATORS; i++)
		agitators[i].count = agitators[i].on ? 0 : -1;
}

static void at_exit(void)
{
	STORE(t.stop, true);
	ksm_restore();
	numab_restore();
}

static __noreturn void bad_args(const char *prog)
{
	ksft_exit_fail_msg("usage: %s [-H|-N] [-F] [SECONDS [LABEL [thp]]]\n", prog);
}

/*
 * THP mode: the buffer the rebuilds copy the slot region to, and the THP
 * the run starts on.  Skips if THPs are off.
 */
static void setup_thp(void)
{
	char buf[128];

	if (!read_str(THP_ENABLED, buf, sizeof(buf)) && strstr(buf, "[never]"))
		ksft_exit_skip("THP disabled (" THP_ENABLED ": %s)\n", buf);
	t.save = mmap(NULL, t.slot_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t.save == MAP_FAILED)
		ksft_exit_fail_perror("mmap");
	if (madvise(t.save, t.slot_len, MADV_NOHUGEPAGE))
		ksft_exit_fail_perror("madvise(MADV_NOHUGEPAGE)");
	memset(t.save, 0, t.slot_len);
	/* The writers start from zeroes: they find them in the THP. */
	memset(t.area, 0, t.slot_len);
}

/* NUMA mode: "" if the NUMA path was exercised, else what was missing. */
static const char *numa_unexercised(const long delta[NR_VM])
{
	if (delta[VM_NUMA_PTE_UPDATES] < 0)
		return "no numa_pte_updates in /proc/vmstat";
	if (!delta[VM_NUMA_PTE_UPDATES])
		return "no NUMA hinting scan (numa_pte_updates did not rise)";
	if (!agitators[AG_MIGRATE].count)
		return "no page migrated (move_pages)";
	return "";
}

/*
 * THP mode: "" if the THP path was exercised, else what was missing.
 */
static const char *thp_unexercised(const long delta[NR_VM])
{
	if (delta[VM_THP_FAULT_ALLOC] < 0 || delta[VM_THP_SPLIT_PMD] < 0)
		return "no thp_fault_alloc or thp_split_pmd in /proc/vmstat";
	if (!t.thp_rebuilds)
		return "no rebuild allocated a THP (thp_fault_alloc did not rise)";
	if (!delta[VM_THP_SPLIT_PMD])
		return "no PMD split (thp_split_pmd did not rise)";
	if (!t.wp_pmd)
		return "no UFFDIO_WRITEPROTECT found the slot region PMD-mapped";
	return "";
}

int main(int argc, char **argv)
{
	struct writer writers[NR_WRITERS];
	struct sigaction sa = { 0 };
	const char *label = NULL, *unexercised = "";
	long vm_start[NR_VM], vm_delta[NR_VM];
	unsigned long lost = 0, writes = 0, i;
	char line[1024];
	bool thp = false, numa = false;
	int seconds = 5, c, w;
	size_t len;
	char *end;

	page_size = getpagesize();
	ksft_print_header();
	while ((c = getopt(argc, argv, "HNF")) != -1) {
		if (c == 'H')
			thp = true;
		else if (c == 'N')
			numa = true;
		else if (c == 'F')
			t.forced = true;
		else
			bad_args(argv[0]);
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
	if (thp && numa)
		bad_args(argv[0]);
	ksft_set_plan(1);

	t.slot_len = thp ? PMD_SIZE_2M : 2 * SLOT_PAGES * page_size;
	t.nr_slots = t.slot_len / page_size / 2;
	t.len = t.slot_len + KSM_PAGES * page_size;
	t.heap_len = numa ? NUMA_HEAP_MIB << 20 : 0;
	t.area = map_aligned(t.slot_len, KSM_PAGES * page_size + t.heap_len, thp);
	t.ksm = t.area + t.slot_len;
	t.heap = t.area + t.len;
	memset(t.ksm, 0x5a, KSM_PAGES * page_size);
	t.thp = thp;
	t.numa = numa;
	if (thp)
		setup_thp();
	atexit(at_exit);

	sa.sa_sigaction = segv_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, NULL))
		ksft_exit_fail_perror("sigaction");

	if (numa)
		setup_numa();
	setup_agitators();
	ksft_print_msg("%s pages, %lu slot pages, %d KSM pages, %d writers, %d s%s%s\n",
		       thp ? "THP" : "4 KiB", t.nr_slots, KSM_PAGES, NR_WRITERS,
		       seconds, numa ? ", NUMA mode" : "",
		       t.forced ? ", one store dropped on purpose" : "");
	fflush(stdout);

	vmstat_read(vm_start);
	rebuilder.count = thp ? 0 : -1;
	STORE(t.rebuilt_at, now_ms());
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
	if (thp && pthread_create(&rebuilder.thread, NULL, rebuild_fn, &rebuilder))
		ksft_exit_fail_msg("pthread_create failed\n");

	sleep_ms(seconds * 1000L);
	STORE(t.stop, true);
	for (w = 0; w < NR_WRITERS; w++)
		pthread_join(writers[w].thread, NULL);
	for (i = 0; i < NR_AGITATORS; i++)
		if (agitators[i].on)
			pthread_join(agitators[i].thread, NULL);
	if (thp)
		pthread_join(rebuilder.thread, NULL);
	ksm_restore();
	numab_restore();
	vmstat_read(vm_delta);
	for (i = 0; i < NR_VM; i++)
		vm_delta[i] = vm_start[i] < 0 || vm_delta[i] < 0 ? -1 :
			      vm_delta[i] - vm_start[i];

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
		       "torture: lost=%lu writes=%lu", lost, writes);
	for (i = 0; i < NR_AGITATORS; i++)
		len += snprintf(line + len, sizeof(line) - len, " %s=%ld",
				agitators[i].name, agitators[i].count);
	len += snprintf(line + len, sizeof(line) - len,
			" seconds=%d", seconds);
	if (t.forced)
		len += snprintf(line + len, sizeof(line) - len, " forced=1");
	if (numa) {
		len += snprintf(line + len, sizeof(line) - len,
				" numa_pte_updates=%ld numa_hint_faults=%ld numa_pages_migrated=%ld pswpout=%ld",
				vm_delta[VM_NUMA_PTE_UPDATES],
				vm_delta[VM_NUMA_HINT_FAULTS],
				vm_delta[VM_NUMA_PAGES_MIGRATED],
				vm_delta[VM_PSWPOUT]);
		unexercised = numa_unexercised(vm_delta);
	}
	if (thp) {
		snprintf(line + len, sizeof(line) - len,
			 " rebuilds=%ld thp_rebuilds=%ld thp_fault_alloc=%ld thp_split_pmd=%ld wp_pmd=%ld",
			 rebuilder.count, t.thp_rebuilds,
			 vm_delta[VM_THP_FAULT_ALLOC],
			 vm_delta[VM_THP_SPLIT_PMD], LOAD(t.wp_pmd));
		unexercised = thp_unexercised(vm_delta);
	}
	ksft_print_msg("%s\n", line);
	if (*unexercised)
		ksft_print_msg("%s path not exercised: %s\n",
			       thp ? "THP" : "NUMA", unexercised);
	if (t.forced && lost != 1)
		ksft_print_msg("forced loss: expected exactly 1 lost write, saw %lu\n",
			       lost);

	munmap(t.area, t.len + t.heap_len);
	if (thp)
		munmap(t.save, t.slot_len);
	ksft_test_result(lost == (t.forced ? 1 : 0) && !*unexercised,
			 "tlb_pending_torture%s%s\n",
			 label ? " " : "", label ? label : "");
	ksft_finished();
}
