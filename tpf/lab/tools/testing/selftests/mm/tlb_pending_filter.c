// SPDX-License-Identifier: GPL-2.0
/*
 * TLB pending filter integration tests (CONFIG_TLB_PENDING_FILTER).
 *
 * Counts the filter's tracepoints (tlb_pending_filter:*) in tracefs while
 * it drives the paths that mark and consult the filter:
 *
 *  zap_noise:    async uffd-wp writers copy pages (write faults on
 *                zero-page PTEs) while another thread zaps unrelated memory
 *                with MADV_DONTNEED.  Zaps never defer a write-protect
 *                flush, so with the filter on (mode "filter", the default)
 *                do_wp_page() must report no filter hit and no flush.
 *                With it off the flushes of the mm-wide check are
 *                reported.  With CONFIG_TLB_PENDING_FILTER_DEBUG each copy
 *                is checked exactly once in every mode
 *                (tlb_pending_filter:wp_copy_check).
 *  switch_flip:  CONFIG_TLB_PENDING_FILTER_DEBUG only: writers copy pages
 *                on several CPUs while another thread cycles the debugfs
 *                mode through pending, filter and moved as fast as it can:
 *                every copy must still be checked exactly once, whatever
 *                mode it read (one decision per fault).
 *  marks_uffd_wp: UFFDIO_WRITEPROTECT of a range that crosses a page-table
 *                boundary and a VMA boundary, with a few populated pages on
 *                each side: one mark per page table and VMA, each exactly
 *                the span its write-protected PTEs cover.
 *  marks_mprotect, marks_clear_refs:
 *                mprotect() and a soft-dirty clear of the same populated
 *                range mark nothing: no fault can run while they defer
 *                their flush (the mmap lock is held for write).
 *  marks_thp:    UFFDIO_WRITEPROTECT of PMD-mapped THPs marks nothing: a
 *                copy must split the PMD first, and the split flushes.
 *                Skipped when no THP can be had.
 *
 * Needs root, tracefs and the filter; skips otherwise.  The mode is the
 * one in /sys/kernel/debug/tlb_pending_filter/mode with
 * CONFIG_TLB_PENDING_FILTER_DEBUG, else the one the kernel was booted in
 * (tlb_pending_filter=off on its command line, or on).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../kselftest.h"
#include "vm_util.h"

#define TRACEFS		"/sys/kernel/tracing"
#define EVENTS		TRACEFS "/events/tlb_pending_filter"
#define MODE_FILE	"/sys/kernel/debug/tlb_pending_filter/mode"
#define BUCKETS		(8 * sizeof(unsigned long))

/* Flags shared between threads, and reads that fault pages in. */
#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

static void touch_read(char *p)
{
	(void)__atomic_load_n(p, __ATOMIC_RELAXED);
}

static size_t page_size;

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

/*
 * Whether the VMA that starts at @addr has exactly @len bytes in PMD-mapped
 * THPs (its AnonHugePages in smaps).  vm_util's check_huge_anon() does
 * this too, but its arguments differ between kernel versions.
 */
static bool thp_mapped(void *addr, size_t len)
{
	unsigned long start, end;
	char line[256];
	bool in_vma = false;
	long kb = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
			if (in_vma)
				break;
			in_vma = start == (unsigned long)addr;
		} else if (in_vma &&
			   sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) {
			break;
		}
	}
	fclose(f);
	return kb >= 0 && (size_t)kb == len >> 10;
}

/* enum tlb_pending_filter_mode, as the debugfs file names the modes. */
static const char * const mode_names[] = { "pending", "filter", "moved" };

/* Whether the kernel has the debugfs modes (and the debug tracepoints). */
static bool debug_modes;

static int read_mode(void)
{
	char buf[128] = "", *open_br, *close_br;
	ssize_t len;
	int fd, i;

	fd = open(MODE_FILE, O_RDONLY);
	if (fd < 0) {
		/* No debugfs modes: the mode the kernel was booted in. */
		fd = open("/proc/cmdline", O_RDONLY);
		len = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
		if (fd >= 0)
			close(fd);
		buf[len > 0 ? len : 0] = 0;
		return strstr(buf, "tlb_pending_filter=off") ? 0 : 1;
	}
	debug_modes = true;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[len > 0 ? len : 0] = 0;
	/* "pending [filter] moved never" */
	open_br = strchr(buf, '[');
	close_br = open_br ? strchr(open_br, ']') : NULL;
	if (!close_br)
		return -1;
	*close_br = 0;
	for (i = 0; i < (int)ARRAY_SIZE(mode_names); i++)
		if (!strcmp(open_br + 1, mode_names[i]))
			return i;
	return -1;
}

static void trace_setup(const char *event, const char *filter)
{
	char path[256];

	snprintf(path, sizeof(path), EVENTS "/%s/filter", event);
	if (write_str(path, filter ? filter : "0"))
		ksft_exit_fail_msg("cannot set filter of %s\n", event);
	snprintf(path, sizeof(path), EVENTS "/%s/enable", event);
	if (write_str(path, "1"))
		ksft_exit_fail_msg("cannot enable %s\n", event);
}

static void trace_off(void)
{
	write_str(EVENTS "/enable", "0");
}

static void trace_clear(void)
{
	if (write_str(TRACEFS "/trace", ""))
		ksft_exit_fail_msg("cannot clear the trace buffer\n");
}

#define MODES		3	/* 0, 1 and 2; 3 is the debug never-flush */

#define MAX_MARKS	16

struct trace_counts {
	unsigned long marks, mark_bits, test_hit, test_miss, flushes;
	unsigned long mark_start[MAX_MARKS], mark_end[MAX_MARKS];
	unsigned long checks, checks_by_mode[MODES + 1];
	unsigned long lost;
};

/* Count the filter's events in the trace buffer; fail if any were lost. */
static void trace_count(struct trace_counts *c)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	char line[512];

	memset(c, 0, sizeof(*c));
	if (!f)
		ksft_exit_fail_msg("cannot read the trace buffer\n");
	while (fgets(line, sizeof(line), f)) {
		unsigned long in, written, bits;
		char *p;

		if (line[0] == '#') {
			if (sscanf(line, "# entries-in-buffer/entries-written: %lu/%lu",
				   &in, &written) == 2 && written > in)
				c->lost = written - in;
			continue;
		}
		if (strstr(line, "tpf_mark: ")) {
			unsigned long start, end;

			p = strstr(line, "start=");
			if (c->marks < MAX_MARKS && p &&
			    sscanf(p, "start=%lx end=%lx", &start, &end) == 2) {
				c->mark_start[c->marks] = start;
				c->mark_end[c->marks] = end;
			}
			c->marks++;
			p = strstr(line, "bits=");
			if (p && sscanf(p, "bits=%lx", &bits) == 1)
				c->mark_bits |= bits;
		} else if (strstr(line, "tpf_test: ")) {
			if (strstr(line, " hit"))
				c->test_hit++;
			else
				c->test_miss++;
		} else if (strstr(line, "wp_flush: ")) {
			c->flushes++;
		} else if (strstr(line, "wp_copy_check: ")) {
			int m = -1;

			c->checks++;
			p = strstr(line, "mode=");
			if (p && sscanf(p, "mode=%d", &m) == 1 && m >= 0 &&
			    m <= MODES)
				c->checks_by_mode[m]++;
		}
	}
	fclose(f);
	if (c->lost)
		ksft_exit_fail_msg("trace buffer overflowed: %lu events lost\n",
				   c->lost);
}

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

/* Register @len bytes at @addr for uffd-wp (vm_util.c). */
static void register_wp(int fd, void *addr, size_t len)
{
	if (uffd_register(fd, addr, len, false, true, false))
		ksft_exit_fail_perror("UFFDIO_REGISTER");
}

static void uffd_wp(int fd, void *addr, size_t len, bool on)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)addr, .len = len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		ksft_exit_fail_perror("UFFDIO_WRITEPROTECT");
}

/* A 2 MiB-aligned anonymous mapping without THP. */
static char *map_aligned(size_t len)
{
	size_t align = 2UL << 20;
	char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		ksft_exit_fail_perror("mmap");
	a = (char *)(((unsigned long)p + align - 1) & ~(align - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + len + align - (a + len));
	if (madvise(a, len, MADV_NOHUGEPAGE))
		ksft_exit_fail_perror("madvise(MADV_NOHUGEPAGE)");
	return a;
}

/*
 * The first copy in a VMA without an anon_vma, under the per-VMA lock,
 * may be abandoned and retried under the mmap lock (vmf_anon_prepare()),
 * and is then checked twice.  Give the VMA its anon_vma first, so that
 * every copy below is checked once; leave the page unpopulated.
 */
static void give_anon_vma(char *area)
{
	area[0] = 1;
	if (madvise(area, page_size, MADV_DONTNEED))
		ksft_exit_fail_perror("madvise(MADV_DONTNEED)");
}

/* --- zap_noise ----------------------------------------------------------- */

#define NOISE_PAGES	512
#define NOISE_WRITERS	2
#define NOISE_ROUNDS	8

struct noise {
	char *area;
	char *zap_area;
	bool stop;
	unsigned long zaps;
};

struct writer {
	struct noise *n;
	int id;
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	size_t i;

	for (i = w->id; i < NOISE_PAGES; i += NOISE_WRITERS)
		w->n->area[i * page_size] = 1;
	return NULL;
}

static void *zapper_fn(void *arg)
{
	struct noise *n = arg;

	while (!LOAD(n->stop)) {
		size_t i;

		/* Populated memory, then the same range again, now empty. */
		for (i = 0; i < 64; i++)
			n->zap_area[i * page_size] = 1;
		madvise(n->zap_area, 64 * page_size, MADV_DONTNEED);
		madvise(n->zap_area, 64 * page_size, MADV_DONTNEED);
		n->zaps += 2;
	}
	return NULL;
}

static void test_zap_noise(int mode)
{
	struct trace_counts c, total = { 0 };
	pthread_t writers[NOISE_WRITERS], zapper;
	struct writer w[NOISE_WRITERS];
	struct noise n = { 0 };
	unsigned long faults = 0;
	int fd, round, i;
	size_t len = NOISE_PAGES * page_size;

	fd = uffd_open_wp(true);
	if (fd < 0) {
		ksft_test_result_skip("zap_noise: no async uffd-wp\n");
		return;
	}
	n.area = map_aligned(len);
	n.zap_area = map_aligned(64 * page_size);
	register_wp(fd, n.area, len);
	give_anon_vma(n.area);

	trace_setup("tpf_test", NULL);
	trace_setup("wp_flush", NULL);
	trace_setup("wp_copy_check", NULL);
	if (pthread_create(&zapper, NULL, zapper_fn, &n))
		ksft_exit_fail_perror("pthread_create");

	for (round = 0; round < NOISE_ROUNDS; round++) {
		size_t p;

		/* Zero-page PTEs, write-protected: each write will copy. */
		madvise(n.area, len, MADV_DONTNEED);
		for (p = 0; p < NOISE_PAGES; p++)
			touch_read(n.area + p * page_size);
		uffd_wp(fd, n.area, len, true);

		/* The write-protect's own flush is over: count from here. */
		trace_clear();
		for (i = 0; i < NOISE_WRITERS; i++) {
			w[i].n = &n;
			w[i].id = i;
			if (pthread_create(&writers[i], NULL, writer_fn, &w[i]))
				ksft_exit_fail_perror("pthread_create");
		}
		for (i = 0; i < NOISE_WRITERS; i++)
			pthread_join(writers[i], NULL);
		trace_count(&c);
		total.test_hit += c.test_hit;
		total.test_miss += c.test_miss;
		total.flushes += c.flushes;
		total.checks += c.checks;
		faults += NOISE_PAGES;
	}
	STORE(n.stop, true);
	pthread_join(zapper, NULL);
	trace_off();
	close(fd);
	munmap(n.area, len);
	munmap(n.zap_area, 64 * page_size);

	ksft_print_msg("zap_noise: mode=%d copies=%lu checks=%lu zaps=%lu", mode,
		       faults, total.checks, n.zaps);
	printf(" filter_hits=%lu filter_misses=%lu wp_flushes=%lu\n",
	       total.test_hit, total.test_miss, total.flushes);
	/*
	 * Every mode checks every copy once (seen only with the debug
	 * tracepoints).  0 and 2: the mm-wide check, whatever the zaps cost is
	 * only reported.  1: zaps never mark, so the copies neither hit nor
	 * flush.
	 */
	ksft_test_result((!debug_modes || total.checks == faults) &&
			 (mode != 1 || (total.test_hit == 0 && total.flushes == 0 &&
					total.test_miss == (debug_modes ? faults : 0))),
			 "zap_noise\n");
}

/* --- switch_flip ---------------------------------------------------------- */

#define FLIP_WRITERS	3
#define FLIP_PAGES	128		/* per writer, per round */
#define FLIP_SECONDS	3
#define FLIP_MAX_COPIES	60000UL		/* stays well within the trace buffer */

struct flip {
	char *area;
	bool stop;
	unsigned long flips;
	unsigned long copies[FLIP_WRITERS];
};

struct flip_writer {
	struct flip *f;
	int id;
};

static void pin_to_cpu(int n)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(n % (cpus > 0 ? cpus : 1), &set);
	sched_setaffinity(0, sizeof(set), &set);
}

/* Rounds of zero-page reads then writes: each write is one copy. */
static void *flip_writer_fn(void *arg)
{
	struct flip_writer *w = arg;
	char *chunk = w->f->area + w->id * FLIP_PAGES * page_size;
	size_t p;

	pin_to_cpu(w->id);
	while (!LOAD(w->f->stop) &&
	       w->f->copies[w->id] < FLIP_MAX_COPIES / FLIP_WRITERS) {
		for (p = 0; p < FLIP_PAGES; p++)
			touch_read(chunk + p * page_size);
		for (p = 0; p < FLIP_PAGES; p++)
			chunk[p * page_size] = 1;
		w->f->copies[w->id] += FLIP_PAGES;
		if (madvise(chunk, FLIP_PAGES * page_size, MADV_DONTNEED))
			ksft_exit_fail_perror("madvise(MADV_DONTNEED)");
	}
	return NULL;
}

static void *flipper_fn(void *arg)
{
	struct flip *f = arg;

	pin_to_cpu(FLIP_WRITERS);
	while (!LOAD(f->stop)) {
		if (write_str(MODE_FILE, mode_names[f->flips % 3]))
			ksft_exit_fail_msg("cannot write " MODE_FILE "\n");
		f->flips++;
	}
	return NULL;
}

static void test_switch_flip(int mode)
{
	size_t len = FLIP_WRITERS * FLIP_PAGES * page_size;
	unsigned long copies = 0, modes_seen = 0;
	pthread_t writers[FLIP_WRITERS], flipper;
	struct flip_writer w[FLIP_WRITERS];
	struct flip f = { 0 };
	struct trace_counts c;
	int fd, i;

	if (!debug_modes) {
		ksft_test_result_skip("switch_flip: no " MODE_FILE
				      " (CONFIG_TLB_PENDING_FILTER_DEBUG)\n");
		return;
	}
	fd = uffd_open_wp(true);
	if (fd < 0) {
		ksft_test_result_skip("switch_flip: no async uffd-wp\n");
		return;
	}
	f.area = map_aligned(len);
	register_wp(fd, f.area, len);
	give_anon_vma(f.area);

	trace_setup("wp_copy_check", NULL);
	trace_clear();
	if (pthread_create(&flipper, NULL, flipper_fn, &f))
		ksft_exit_fail_perror("pthread_create");
	for (i = 0; i < FLIP_WRITERS; i++) {
		w[i].f = &f;
		w[i].id = i;
		if (pthread_create(&writers[i], NULL, flip_writer_fn, &w[i]))
			ksft_exit_fail_perror("pthread_create");
	}
	sleep(FLIP_SECONDS);
	STORE(f.stop, true);
	for (i = 0; i < FLIP_WRITERS; i++) {
		pthread_join(writers[i], NULL);
		copies += f.copies[i];
	}
	pthread_join(flipper, NULL);
	if (write_str(MODE_FILE, mode_names[mode]))
		ksft_exit_fail_msg("cannot restore " MODE_FILE "\n");
	trace_count(&c);
	trace_off();
	close(fd);
	munmap(f.area, len);

	for (i = 0; i < MODES; i++)
		modes_seen += !!c.checks_by_mode[i];
	ksft_print_msg("switch_flip: copies=%lu checks=%lu (modes 0/1/2: %lu/%lu/%lu) flips=%lu\n",
		       copies, c.checks, c.checks_by_mode[0],
		       c.checks_by_mode[1], c.checks_by_mode[2], f.flips);
	/* Checks by at least two modes: the switch really moved under us. */
	ksft_test_result(copies && c.checks == copies && modes_seen >= 2,
			 "switch_flip: every copy checked once while the mode changes\n");
}

/* --- marks_* ------------------------------------------------------------- */

/*
 * Four page tables' worth (8 MiB) split in two VMAs at 3 MiB (page 768);
 * pages populated on both sides of the first page-table boundary (page
 * 512), after the VMA boundary and in the third page table.  Per page
 * table and VMA, a deferrer marks the span from the first PTE it deferred
 * there, or from the start of that page table or VMA when the gather
 * deferred others before, to the last one (tlb_mark_deferred_range()):
 * page 769 is in a span and not populated, so are pages 1024 to 1029.
 */
static const long populated[] = { 509, 510, 511, 512, 513, 768, 770, 1030 };
static const struct {
	long from, last;
} spans[] = {
	{ 509, 511 }, { 512, 513 }, { 768, 770 }, { 1024, 1030 },
};

static char *marks_area(size_t *len, unsigned long *expect)
{
	unsigned long base;
	char *a;
	size_t i;
	long p;

	*len = 8UL << 20;
	a = map_aligned(*len);
	/* A second VMA from 3 MiB on, with other flags. */
	if (madvise(a + (3UL << 20), *len - (3UL << 20), MADV_DONTFORK))
		ksft_exit_fail_perror("madvise(MADV_DONTFORK)");
	for (i = 0; i < ARRAY_SIZE(populated); i++)
		a[populated[i] * page_size] = 1;
	base = (unsigned long)a / page_size;
	*expect = 0;
	for (i = 0; i < ARRAY_SIZE(spans); i++)
		for (p = spans[i].from; p <= spans[i].last; p++)
			*expect |= 1UL << ((base + p) % BUCKETS);
	return a;
}

static void check_marks(const char *name, char *a, unsigned long expect)
{
	struct trace_counts c;
	bool spans_ok = true;
	size_t i;

	trace_count(&c);
	trace_off();
	ksft_print_msg("%s: %lu marks, bits %#lx, expected %#lx\n", name,
		       c.marks, c.mark_bits, expect);
	/* One mark per (VMA, page table) with a changed PTE, in order. */
	if (c.marks != ARRAY_SIZE(spans))
		spans_ok = false;
	for (i = 0; spans_ok && i < ARRAY_SIZE(spans); i++) {
		unsigned long from = (unsigned long)a + spans[i].from * page_size;
		unsigned long end = (unsigned long)a +
				    (spans[i].last + 1) * page_size;

		if (c.mark_start[i] != from || c.mark_end[i] != end) {
			ksft_print_msg("%s: mark %zu is [%#lx, %#lx), expected [%#lx, %#lx)\n",
				       name, i, c.mark_start[i], c.mark_end[i],
				       from, end);
			spans_ok = false;
		}
	}
	ksft_test_result(c.mark_bits == expect && spans_ok,
			 "%s: the marks are the deferred spans\n", name);
}

/* Deferrers no fault can overlap must not touch the filter at all. */
static void check_no_marks(const char *name)
{
	struct trace_counts c;

	trace_count(&c);
	trace_off();
	ksft_print_msg("%s: %lu marks, bits %#lx\n", name, c.marks, c.mark_bits);
	ksft_test_result(c.marks == 0, "%s: nothing marked\n", name);
}

static void trace_marks_of_this_thread(void)
{
	char filter[64];

	snprintf(filter, sizeof(filter), "common_pid == %d", (int)gettid());
	trace_setup("tpf_mark", filter);
	trace_clear();
}

static void test_marks_mprotect(void)
{
	unsigned long expect;
	size_t len;
	char *a = marks_area(&len, &expect);

	trace_marks_of_this_thread();
	if (mprotect(a, len, PROT_READ))
		ksft_exit_fail_perror("mprotect");
	check_no_marks("marks_mprotect");
	munmap(a, len);
}

static void test_marks_clear_refs(void)
{
	unsigned long expect;
	size_t len;
	char *a = marks_area(&len, &expect);

	/* Soft-dirty write-protects every populated PTE of the mm. */
	trace_marks_of_this_thread();
	if (write_str("/proc/self/clear_refs", "4")) {
		trace_off();
		ksft_test_result_skip("marks_clear_refs: no soft-dirty\n");
	} else {
		check_no_marks("marks_clear_refs");
	}
	munmap(a, len);
}

static void test_marks_uffd_wp(void)
{
	unsigned long expect;
	size_t len;
	char *a;
	int fd = uffd_open_wp(false);

	if (fd < 0) {
		ksft_test_result_skip("marks_uffd_wp: no uffd-wp\n");
		return;
	}
	a = marks_area(&len, &expect);
	register_wp(fd, a, len);
	trace_marks_of_this_thread();
	uffd_wp(fd, a, len, true);
	check_marks("marks_uffd_wp", a, expect);
	close(fd);
	munmap(a, len);
}

#define THP_SIZE	(2UL << 20)

static void test_marks_thp(void)
{
	size_t len = 2 * THP_SIZE, off;
	char *a;
	int fd = uffd_open_wp(false);

	if (fd < 0) {
		ksft_test_result_skip("marks_thp: no uffd-wp\n");
		return;
	}
	a = map_aligned(len);
	if (madvise(a, len, MADV_HUGEPAGE)) {
		ksft_test_result_skip("marks_thp: no MADV_HUGEPAGE\n");
		goto out;
	}
	for (off = 0; off < len; off += page_size)
		a[off] = 1;
	/* AnonHugePages of the VMA: all of it in PMD-mapped THPs. */
	if (!thp_mapped(a, len)) {
		ksft_test_result_skip("marks_thp: not all of %zu kB in THPs\n",
				      len >> 10);
		goto out;
	}
	register_wp(fd, a, len);
	trace_marks_of_this_thread();
	uffd_wp(fd, a, len, true);
	/* Still PMD-mapped: the write-protect went through change_huge_pmd(). */
	if (!thp_mapped(a, len)) {
		trace_off();
		ksft_test_result_fail("marks_thp: THPs split by the write-protect\n");
	} else {
		check_no_marks("marks_thp");
	}
out:
	close(fd);
	munmap(a, len);
}

int main(void)
{
	int mode;

	page_size = getpagesize();
	ksft_print_header();
	if (geteuid())
		ksft_exit_skip("needs root\n");
	if (access(EVENTS "/enable", W_OK))
		ksft_exit_skip("no tracefs events at " EVENTS
			       ": CONFIG_TLB_PENDING_FILTER=n, or no tracefs?\n");
	mode = read_mode();
	if (mode < 0)
		ksft_exit_skip("the filter is in a mode this test does not know\n");
	if (write_str(TRACEFS "/buffer_size_kb", "8192"))
		ksft_exit_fail_msg("cannot size the trace buffer\n");
	trace_off();

	ksft_set_plan(6);
	ksft_print_msg("mode %s%s\n", mode_names[mode],
		       debug_modes ? " (debugfs)" : " (as booted)");
	test_zap_noise(mode);
	test_switch_flip(mode);
	test_marks_mprotect();
	test_marks_clear_refs();
	test_marks_uffd_wp();
	test_marks_thp();
	trace_off();
	ksft_finished();
}
