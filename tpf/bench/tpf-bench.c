// SPDX-License-Identifier: GPL-2.0
/*
 * Workloads for the TLB pending filter benchmark (make -f Makefile.kunit
 * bench).  Each shape drives one side of the filter and prints one JSON
 * line with what it did and how long it took; flush and filter counts come
 * from perf stat around it.  Usable on any kernel with userfaultfd-wp.
 *
 *   tpf-bench a   async uffd-wp writers (reuse faults) while another thread
 *                 zaps unrelated memory, populated and already empty
 *   tpf-bench b   copy-on-write faults after fork in a uffd-wp VMA while
 *                 another thread write-protects scattered single pages
 *   tpf-bench c   one UFFDIO_WRITEPROTECT of 256 MiB while writers fault
 *                 inside it (reuse) and outside it (copies)
 *   tpf-bench d   the deferral side alone: mprotect(PROT_READ) and
 *                 UFFDIO_WRITEPROTECT of a populated 64 MiB range
 *   tpf-bench e   copy faults in a uffd-wp VMA with nothing pending
 *   tpf-bench f   copy faults in a uffd-wp VMA 1 GiB above a THP-backed
 *                 uffd-wp region that another thread write-protects and
 *                 un-protects in a loop
 *   tpf-bench g   copy faults in a uffd-wp VMA 1 GiB above a heap that NUMA
 *                 balancing scans (a guest with two nodes)
 *   tpf-bench h   copy faults in a uffd-wp VMA while one thread zaps
 *                 unrelated memory and another write-protects single pages
 *                 of another uffd-wp region far away, and un-protects them
 *   tpf-bench n   migrations (move_pages()) of PTEs that NUMA hinting made
 *                 PROT_NONE while another thread zaps unrelated memory (a
 *                 guest with two nodes)
 *   tpf-bench p   MADV_PAGEOUT of memory that NUMA hinting made PROT_NONE
 *                 (a guest with two nodes and swap)
 *   tpf-bench s   NUMA hinting migrations in a 1 GiB heap that balancing
 *                 scans in 256 MiB steps, while a thread zaps elsewhere
 *   tpf-bench w   copies between two uffd-wp regions whose single pages two
 *                 threads write-protect in overlapping loops (saturation)
 *   tpf-bench v   the same, each thread write-protecting its whole region
 *   tpf-bench push PID SECONDS
 *                 moves process PID's pages to node 1 every SECONDS until
 *                 it exits, for the real programs (tpf/bench/real-run.sh)
 *   tpf-bench cost OP MIB ROUNDS
 *                 the cost of one deferral or one fault, for the pass where
 *                 guest time counts instructions (see shape_cost())
 *   tpf-bench marks OP MIB CALLS
 *                 shape d's deferrals, untimed, for perf stat to count the
 *                 filter's marks per call (see shape_marks())
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mempolicy.h>
#include <linux/userfaultfd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define ADD(x, v)	__atomic_add_fetch(&(x), (v), __ATOMIC_RELAXED)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

static size_t psize;

static void die(const char *what)
{
	fprintf(stderr, "tpf-bench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *map(size_t len)
{
	size_t align = 2UL << 20;
	char *p = mmap(NULL, len + align, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *a;

	if (p == MAP_FAILED)
		die("mmap");
	a = (char *)(((unsigned long)p + align - 1) & ~(align - 1));
	if (a > p)
		munmap(p, a - p);
	munmap(a + len, p + align - a);
	/* 4 KiB PTEs throughout: THP would change what is measured. */
	if (madvise(a, len, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE)");
	return a;
}

/*
 * A mapping 1 GiB below @near, so that it shares no page table and no VMA
 * with it; wherever mmap() puts it if that place is taken.
 */
static char *map_far(char *near, size_t len)
{
	char *hint = near - (1UL << 30) - len;
	char *a = mmap(hint, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (a == MAP_FAILED || a != hint) {
		if (a != MAP_FAILED)
			munmap(a, len);
		return map(len);
	}
	if (madvise(a, len, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE)");
	return a;
}

/*
 * Two mappings far apart, for shapes f and g: @lo_len bytes at a 2 MiB
 * boundary, and @hi_len bytes FAR_GAP above their end, carved out of one
 * PROT_NONE reservation so that both places are certain to be free.  The
 * rest of the reservation, the gap included, is given back.  Neither is
 * madvise()d: the caller says whether it wants THPs.  @lo_len must be a
 * multiple of 2 MiB for @hi to be 2 MiB aligned too.
 */
#define FAR_GAP		(1UL << 30)

static void map_apart(size_t lo_len, size_t hi_len, char **lo, char **hi)
{
	const size_t align = 2UL << 20, len = align + lo_len + FAR_GAP + hi_len;
	char *r = mmap(NULL, len, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	char *a;

	if (r == MAP_FAILED)
		die("mmap (reservation)");
	a = (char *)(((unsigned long)r + align - 1) & ~(align - 1));
	*lo = mmap(a, lo_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	*hi = mmap(a + lo_len + FAR_GAP, hi_len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (*lo == MAP_FAILED || *hi == MAP_FAILED)
		die("mmap (MAP_FIXED)");
	if (a > r)
		munmap(r, a - r);
	munmap(a + lo_len, FAR_GAP);
	/* Never empty: a - r < align. */
	munmap(*hi + hi_len, r + len - (*hi + hi_len));
}

static void touch_write(char *a, size_t pages)
{
	size_t i;

	for (i = 0; i < pages; i++)
		a[i * psize] = 1;
}

static void touch_read(char *a, size_t pages)
{
	size_t i;

	for (i = 0; i < pages; i++)
		(void)__atomic_load_n(a + i * psize, __ATOMIC_RELAXED);
}

/* A counter of /proc/vmstat, 0 if there is no such line. */
static unsigned long vmstat_read(const char *name)
{
	char line[128];
	size_t n = strlen(name);
	unsigned long v = 0;
	FILE *f = fopen("/proc/vmstat", "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, name, n) && line[n] == ' ')
			v = strtoul(line + n + 1, NULL, 10);
	fclose(f);
	return v;
}

static int uffd_open(bool async)
{
	struct uffdio_api api = { .api = UFFD_API };
	int fd = syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		die("userfaultfd");
	api.features = UFFD_FEATURE_PAGEFAULT_FLAG_WP;
	if (async)
		api.features |= UFFD_FEATURE_WP_ASYNC;
	if (ioctl(fd, UFFDIO_API, &api))
		die("UFFDIO_API (async uffd-wp)");
	return fd;
}

static void uffd_register(int fd, char *a, size_t len)
{
	struct uffdio_register reg = {
		.range = { .start = (unsigned long)a, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};

	if (ioctl(fd, UFFDIO_REGISTER, &reg))
		die("UFFDIO_REGISTER");
}

static void uffd_wp(int fd, char *a, size_t len, bool on)
{
	struct uffdio_writeprotect wp = {
		.range = { .start = (unsigned long)a, .len = len },
		.mode = on ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
	};

	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		die("UFFDIO_WRITEPROTECT");
}

/* Zaps of populated memory, then of the same range, now empty. */
struct zapper {
	pthread_t thread;
	char *area;
	size_t pages;
	int *stop;
	unsigned long zaps;
};

static void *zapper_fn(void *arg)
{
	struct zapper *z = arg;

	while (!LOAD(*z->stop)) {
		touch_write(z->area, z->pages);
		madvise(z->area, z->pages * psize, MADV_DONTNEED);
		madvise(z->area, z->pages * psize, MADV_DONTNEED);
		ADD(z->zaps, 2);
	}
	return NULL;
}

/*
 * Async uffd-wp writers: each round the main thread write-protects the
 * whole area, then A_WRITERS threads each re-write their slice of it, one
 * fault per page that reuses the page.
 */
#define A_WRITERS	3

struct a_writer {
	pthread_t thread;
	char *area;
	size_t pages, rounds;
	pthread_barrier_t *go, *done;
};

static void *a_writer_fn(void *arg)
{
	struct a_writer *w = arg;
	size_t r;

	for (r = 0; r < w->rounds; r++) {
		pthread_barrier_wait(w->go);
		touch_write(w->area, w->pages);
		pthread_barrier_wait(w->done);
	}
	return NULL;
}

static void shape_a(void)
{
	const size_t pages = 2048, rounds = 16, slice = pages / A_WRITERS;
	size_t len = pages * psize, r, i;
	struct a_writer w[A_WRITERS];
	struct zapper z = { .pages = 64 };
	pthread_barrier_t go, done;
	int fd = uffd_open(true), stop = 0;
	char *area = map(len);
	double t0, t = 0;

	z.area = map(z.pages * psize);
	z.stop = &stop;
	uffd_register(fd, area, len);
	touch_write(area, pages);
	if (pthread_barrier_init(&go, NULL, A_WRITERS + 1) ||
	    pthread_barrier_init(&done, NULL, A_WRITERS + 1))
		die("pthread_barrier_init");
	for (i = 0; i < A_WRITERS; i++) {
		w[i] = (struct a_writer){ .area = area + i * slice * psize,
					  .pages = slice, .rounds = rounds,
					  .go = &go, .done = &done };
		if (pthread_create(&w[i].thread, NULL, a_writer_fn, &w[i]))
			die("pthread_create");
	}
	if (pthread_create(&z.thread, NULL, zapper_fn, &z))
		die("pthread_create");
	for (r = 0; r < rounds; r++) {
		uffd_wp(fd, area, len, true);
		t0 = now();
		pthread_barrier_wait(&go);
		pthread_barrier_wait(&done);
		t += now() - t0;
	}
	STORE(stop, 1);
	pthread_join(z.thread, NULL);
	for (i = 0; i < A_WRITERS; i++)
		pthread_join(w[i].thread, NULL);
	printf("{\"shape\": \"a\", \"writers\": %d, ", A_WRITERS);
	printf("\"faults\": %zu, \"zaps\": %lu, \"round_us\": %.1f}\n",
	       slice * A_WRITERS * rounds, z.zaps, t * 1e6 / rounds);
}

/*
 * A thread that write-protects random single pages of @area, one call
 * each: shape b's scatterer_fn() and shape h's h_protector_fn().
 */
struct scatterer {
	pthread_t thread;
	int fd;
	char *area;
	size_t pages;
	int *stop;
	unsigned long wps;
	unsigned int seed;	/* h_protector_fn()'s, 0 for its default */
};

static void *scatterer_fn(void *arg)
{
	struct scatterer *s = arg;
	unsigned int seed = 1;

	while (!LOAD(*s->stop)) {
		char *p = s->area + (rand_r(&seed) % s->pages) * psize;

		*p = 1;		/* writable again: async uffd-wp resolves */
		uffd_wp(s->fd, p, psize, true);
		s->wps++;
	}
	return NULL;
}

#define TRACEFS "/sys/kernel/tracing"

static bool write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_TRUNC);
	bool ok;

	if (fd < 0)
		return false;
	ok = write(fd, val, strlen(val)) == (ssize_t)strlen(val);
	close(fd);
	return ok;
}

static bool trace_write(const char *file, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), TRACEFS "/%s", file);
	return write_file(path, val);
}

/*
 * With the filter's tracepoint available, read back every test made for
 * this process: hits, and the number of buckets set when each was made,
 * whose mean / 64 is the false-positive rate a uniform hash predicts.
 */
static void filter_stats(unsigned long *tests, unsigned long *hits,
			 double *mean_set)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	unsigned long set = 0;
	char line[512];

	*tests = *hits = 0;
	*mean_set = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "tpf_test: ");
		unsigned long buckets;

		if (p)
			p = strstr(p, "buckets=");
		if (!p || sscanf(p, "buckets=%lx", &buckets) != 1)
			continue;
		(*tests)++;
		*hits += !!strstr(p, " hit");
		set += __builtin_popcountl(buckets);
	}
	fclose(f);
	if (*tests)
		*mean_set = (double)set / *tests;
}

static void shape_b(void)
{
	const size_t pages = 2048, spages = 1024, rounds = 8;
	size_t len = pages * psize, slen = spages * psize, r;
	struct scatterer s = { .pages = spages };
	int fd = uffd_open(true), stop = 0;
	char *area = map(len), filter[64];
	unsigned long tests, hits;
	double t0, t = 0, mean_set;
	bool traced;

	s.fd = uffd_open(true);
	s.area = map(slen);
	s.stop = &stop;
	uffd_register(fd, area, len);
	uffd_register(s.fd, s.area, slen);
	touch_write(area, pages);
	touch_write(s.area, spages);

	snprintf(filter, sizeof(filter), "common_pid == %d", (int)gettid());
	traced = trace_write("buffer_size_kb", "16384") &&
		 trace_write("events/tlb_pending_filter/tpf_test/filter", filter) &&
		 trace_write("events/tlb_pending_filter/tpf_test/enable", "1") &&
		 trace_write("trace", "");

	if (pthread_create(&s.thread, NULL, scatterer_fn, &s))
		die("pthread_create");
	for (r = 0; r < rounds; r++) {
		pid_t child = fork();

		if (child < 0)
			die("fork");
		if (!child) {
			/* Keeps the parent's pages shared until killed. */
			pause();
			_exit(0);
		}
		/* Every write copies a page shared with the child. */
		t0 = now();
		touch_write(area, pages);
		t += now() - t0;
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	STORE(stop, 1);
	pthread_join(s.thread, NULL);

	if (traced) {
		trace_write("events/tlb_pending_filter/tpf_test/enable", "0");
		filter_stats(&tests, &hits, &mean_set);
		trace_write("events/tlb_pending_filter/tpf_test/filter", "0");
	} else {
		tests = 0;
		hits = 0;
		mean_set = 0;
	}
	printf("{\"shape\": \"b\", \"copies\": %zu, \"single_page_wps\": %lu, ",
	       pages * rounds, s.wps);
	printf("\"copy_ns\": %.1f, \"filter_tests\": %lu, \"filter_hits\": %lu, ",
	       t * 1e9 / (pages * rounds), tests, hits);
	printf("\"mean_set_buckets\": %.4f}\n", mean_set);
}

/*
 * A writer for shape c: writes page after page of its area, wrapping
 * around, and counts what it wrote so that the main thread knows it runs.
 */
struct c_writer {
	pthread_t thread;
	char *area;
	size_t pages;
	int *stop;
	unsigned long written;
};

static void *c_writer_fn(void *arg)
{
	struct c_writer *w = arg;
	size_t i = 0;

	while (!LOAD(*w->stop)) {
		w->area[i * psize] = 1;
		ADD(w->written, 1);
		if (++i == w->pages)
			i = 0;
	}
	return NULL;
}

/* do_wp_page() events of shape c, told apart by address. */
struct c_events {
	unsigned long in_flush, out_flush, out_test, out_hit;
};

static void c_count(struct c_events *ev, char *in, size_t len, char *out,
		    size_t olen)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		bool flush = strstr(line, "wp_flush: "), test = strstr(line, "tpf_test: ");
		char *p = strstr(line, "addr=");
		unsigned long addr;
		bool inside;

		if ((!flush && !test) || !p || sscanf(p, "addr=%lx", &addr) != 1)
			continue;
		inside = addr >= (unsigned long)in && addr < (unsigned long)in + len;
		if (!inside && (addr < (unsigned long)out || addr >= (unsigned long)out + olen))
			continue;
		if (inside) {
			ev->in_flush += flush;
		} else if (flush) {
			ev->out_flush++;
		} else {
			ev->out_test++;
			ev->out_hit += !!strstr(p, " hit");
		}
	}
	fclose(f);
}

/*
 * One UFFDIO_WRITEPROTECT of 256 MiB while two writers fault: one inside
 * the range (async uffd-wp: each write-protected page faults once and is
 * reused), one outside it (zero-page PTEs: every write copies).  Both are
 * seen running before the write-protect starts, and both have far more to
 * do than the write-protect takes, so they fault throughout its window.
 */
static void shape_c(void)
{
	const size_t pages = (256UL << 20) / psize, ipages = 8192;
	const size_t opages = (64UL << 20) / psize, rounds = 20;
	size_t len = pages * psize, olen = opages * psize, r;
	struct c_writer in, out;
	struct c_events ev = { 0 };
	int fd = uffd_open(true), stop;
	char *area = map(len), *outside = map(olen), filter[160];
	double t0, t = 0;
	bool traced;

	uffd_register(fd, area, len);
	uffd_register(fd, outside, olen);
	touch_write(area, pages);

	snprintf(filter, sizeof(filter),
		 "(addr >= %#lx && addr < %#lx) || (addr >= %#lx && addr < %#lx)",
		 (unsigned long)area, (unsigned long)area + len,
		 (unsigned long)outside, (unsigned long)outside + olen);
	traced = trace_write("buffer_size_kb", "16384") &&
		 trace_write("events/tlb_pending_filter/wp_flush/filter", filter) &&
		 trace_write("events/tlb_pending_filter/wp_flush/enable", "1") &&
		 (!access(TRACEFS "/events/tlb_pending_filter/tpf_test", F_OK) ?
		  trace_write("events/tlb_pending_filter/tpf_test/filter", filter) &&
		  trace_write("events/tlb_pending_filter/tpf_test/enable", "1") : true) &&
		 trace_write("trace", "");

	for (r = 0; r < rounds; r++) {
		madvise(outside, olen, MADV_DONTNEED);
		touch_read(outside, opages);
		stop = 0;
		in = (struct c_writer){ .area = area, .pages = ipages, .stop = &stop };
		out = (struct c_writer){ .area = outside, .pages = opages, .stop = &stop };
		if (pthread_create(&in.thread, NULL, c_writer_fn, &in) ||
		    pthread_create(&out.thread, NULL, c_writer_fn, &out))
			die("pthread_create");
		while (LOAD(in.written) < 256 || LOAD(out.written) < 256)
			sched_yield();
		t0 = now();
		uffd_wp(fd, area, len, true);
		t += now() - t0;
		STORE(stop, 1);
		pthread_join(in.thread, NULL);
		pthread_join(out.thread, NULL);
		if (LOAD(out.written) >= opages)
			fprintf(stderr, "tpf-bench: c: the outside writer ran out of pages\n");
		uffd_wp(fd, area, len, false);
		touch_write(area, pages);
	}

	if (traced) {
		trace_write("events/tlb_pending_filter/wp_flush/enable", "0");
		trace_write("events/tlb_pending_filter/tpf_test/enable", "0");
		c_count(&ev, area, len, outside, olen);
		trace_write("events/tlb_pending_filter/wp_flush/filter", "0");
		trace_write("events/tlb_pending_filter/tpf_test/filter", "0");
	}
	printf("{\"shape\": \"c\", \"wp_bytes\": %zu, \"rounds\": %zu, \"wp_ms\": %.2f, ",
	       len, rounds, t * 1e3 / rounds);
	printf("\"in_flushes\": %lu, \"out_flushes\": %lu, ", ev.in_flush, ev.out_flush);
	printf("\"out_tests\": %lu, \"out_hits\": %lu}\n", ev.out_test, ev.out_hit);
}

/*
 * Time one call: the mean over all rounds, and the minimum, which is what
 * the benchmark compares (the TCG guest's timings carry scheduling noise
 * of some 20 %, always upwards).
 */
struct timing {
	double sum, min;
	size_t n;
};

static void timing_add(struct timing *t, double seconds)
{
	if (!t->n || seconds < t->min)
		t->min = seconds;
	t->sum += seconds;
	t->n++;
}

static void shape_d(void)
{
	const size_t pages = (64UL << 20) / psize, rounds = 30;
	size_t len = pages * psize, r;
	struct timing tm = { 0 }, tu = { 0 };
	int fd = uffd_open(false);
	char *a = map(len), *b = map(len);
	double t0;

	touch_write(a, pages);
	uffd_register(fd, b, len);
	touch_write(b, pages);
	for (r = 0; r < rounds; r++) {
		t0 = now();
		if (mprotect(a, len, PROT_READ))
			die("mprotect");
		timing_add(&tm, now() - t0);
		/* Writable again (exclusive anon PTEs go writable at once). */
		if (mprotect(a, len, PROT_READ | PROT_WRITE))
			die("mprotect");
		t0 = now();
		uffd_wp(fd, b, len, true);
		timing_add(&tu, now() - t0);
		uffd_wp(fd, b, len, false);
		touch_write(b, pages);
	}
	printf("{\"shape\": \"d\", \"bytes\": %zu, \"calls\": %zu, ", len, rounds);
	printf("\"mprotect_us\": %.1f, \"mprotect_us_min\": %.1f, ",
	       tm.sum * 1e6 / tm.n, tm.min * 1e6);
	printf("\"uffd_wp_us\": %.1f, \"uffd_wp_us_min\": %.1f}\n",
	       tu.sum * 1e6 / tu.n, tu.min * 1e6);
}

static void shape_e(void)
{
	const size_t pages = 4096, rounds = 16;
	size_t len = pages * psize, r;
	struct timing t = { 0 };
	int fd = uffd_open(true);
	char *a = map(len);
	double t0;

	uffd_register(fd, a, len);
	for (r = 0; r < rounds; r++) {
		madvise(a, len, MADV_DONTNEED);
		touch_read(a, pages);
		t0 = now();
		touch_write(a, pages);
		timing_add(&t, now() - t0);
	}
	printf("{\"shape\": \"e\", \"faults\": %zu, \"fault_ns\": %.1f, \"fault_ns_min\": %.1f}\n",
	       pages * rounds, t.sum * 1e9 / (pages * rounds), t.min * 1e9 / pages);
}

/*
 * Shape h: copy faults in a uffd-wp VMA while other threads hold flushes
 * pending for unrelated memory, the case where the placement of the check
 * cannot help (there is no reuse to spare) and only the filter can.
 * H_WRITERS threads write their slice of a uffd-wp area whose pages were
 * first read-faulted to the zero page, so every write copies; between
 * rounds each re-arms its slice with MADV_DONTNEED.  Meanwhile one thread
 * zaps 256 KiB of plain memory (populated, then already empty) and another
 * write-protects random single pages of a second uffd-wp region 1 GiB away
 * and un-protects them again.  Upstream's check, wherever it sits, flushes
 * every copy that meets any open mmu_gather; the filter only those whose
 * bucket a write-protect has marked.  Buckets are address bits, so the
 * write-protected pages share buckets with the copies now and then: that
 * is what is measured, not avoided.  The agitators are seen running before
 * the writers start, and run until they are done.
 */
#define H_WRITERS	2

struct h_writer {
	pthread_t thread;
	char *area;
	size_t pages, rounds;
	int *go;
};

static void *h_writer_fn(void *arg)
{
	struct h_writer *w = arg;
	size_t r;

	while (!LOAD(*w->go))
		sched_yield();
	for (r = 0; r < w->rounds; r++) {
		madvise(w->area, w->pages * psize, MADV_DONTNEED);
		touch_read(w->area, w->pages);
		touch_write(w->area, w->pages);
	}
	return NULL;
}

static void *h_protector_fn(void *arg)
{
	struct scatterer *p = arg;
	unsigned int seed = p->seed ?: 2;

	while (!LOAD(*p->stop)) {
		char *a = p->area + (rand_r(&seed) % p->pages) * psize;

		uffd_wp(p->fd, a, psize, true);
		uffd_wp(p->fd, a, psize, false);
		ADD(p->wps, 1);
	}
	return NULL;
}

/* Shape v's protector: its whole region each call, then un-protected. */
static void *v_protector_fn(void *arg)
{
	struct scatterer *p = arg;

	while (!LOAD(*p->stop)) {
		uffd_wp(p->fd, p->area, p->pages * psize, true);
		uffd_wp(p->fd, p->area, p->pages * psize, false);
		ADD(p->wps, 1);
	}
	return NULL;
}

static void shape_h(void)
{
	const size_t pages = 1024, rounds = 16, slice = pages / H_WRITERS;
	const size_t ppages = 1024;
	size_t len = pages * psize, plen = ppages * psize, i;
	struct h_writer w[H_WRITERS];
	struct zapper z = { .pages = 64 };
	struct scatterer p = { .pages = ppages };
	int fd = uffd_open(true), stop = 0, go = 0;
	char *area = map(len);
	unsigned long zaps, wps;
	double t0, t;

	p.fd = uffd_open(true);
	p.area = map_far(area, plen);
	p.stop = &stop;
	z.area = map(z.pages * psize);
	z.stop = &stop;
	uffd_register(fd, area, len);
	uffd_register(p.fd, p.area, plen);
	touch_write(p.area, ppages);

	if (pthread_create(&z.thread, NULL, zapper_fn, &z) ||
	    pthread_create(&p.thread, NULL, h_protector_fn, &p))
		die("pthread_create");
	for (i = 0; i < H_WRITERS; i++) {
		w[i] = (struct h_writer){ .area = area + i * slice * psize,
					  .pages = slice, .rounds = rounds,
					  .go = &go };
		if (pthread_create(&w[i].thread, NULL, h_writer_fn, &w[i]))
			die("pthread_create");
	}
	while (LOAD(z.zaps) < 8 || LOAD(p.wps) < 8)
		sched_yield();
	zaps = LOAD(z.zaps);
	wps = LOAD(p.wps);
	t0 = now();
	STORE(go, 1);
	for (i = 0; i < H_WRITERS; i++)
		pthread_join(w[i].thread, NULL);
	t = now() - t0;
	zaps = LOAD(z.zaps) - zaps;
	wps = LOAD(p.wps) - wps;
	STORE(stop, 1);
	pthread_join(z.thread, NULL);
	pthread_join(p.thread, NULL);
	printf("{\"shape\": \"h\", \"writers\": %d, \"copies\": %zu, ", H_WRITERS,
	       slice * H_WRITERS * rounds);
	printf("\"zaps\": %lu, \"wps\": %lu, \"seconds\": %.3f}\n", zaps, wps, t);
}

/*
 * How much of [a, a + len) THPs back: the AnonHugePages of the VMAs that
 * overlap it, in KiB, from /proc/self/smaps.
 */
static unsigned long anon_huge_kb(char *a, size_t len)
{
	unsigned long start, end, kb, sum = 0;
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[512];
	bool in = false;

	if (!f)
		die("/proc/self/smaps");
	while (fgets(line, sizeof(line), f)) {
		/* A VMA's first line: no field line starts with "hex-hex". */
		if (sscanf(line, "%lx-%lx ", &start, &end) == 2)
			in = start < (unsigned long)a + len && end > (unsigned long)a;
		else if (in && sscanf(line, "AnonHugePages: %lu kB", &kb) == 1)
			sum += kb;
	}
	fclose(f);
	return sum;
}

/*
 * do_wp_page()'s flushes and filter tests at the addresses of one region,
 * traced as shape c traces its two: shapes f and g count those of their
 * uffd-wp region apart from anything else in the mm.
 */
static bool region_trace_start(char *a, size_t len)
{
	char filter[80];

	snprintf(filter, sizeof(filter), "addr >= %#lx && addr < %#lx",
		 (unsigned long)a, (unsigned long)a + len);
	return trace_write("buffer_size_kb", "16384") &&
	       trace_write("events/tlb_pending_filter/wp_flush/filter", filter) &&
	       trace_write("events/tlb_pending_filter/wp_flush/enable", "1") &&
	       (!access(TRACEFS "/events/tlb_pending_filter/tpf_test", F_OK) ?
		trace_write("events/tlb_pending_filter/tpf_test/filter", filter) &&
		trace_write("events/tlb_pending_filter/tpf_test/enable", "1") : true) &&
	       trace_write("trace", "");
}

/* Stops tracing; the region's events go to ev->out_*. */
static void region_trace_stop(char *a, size_t len, struct c_events *ev)
{
	trace_write("events/tlb_pending_filter/wp_flush/enable", "0");
	trace_write("events/tlb_pending_filter/tpf_test/enable", "0");
	c_count(ev, NULL, 0, a, len);
	trace_write("events/tlb_pending_filter/wp_flush/filter", "0");
	trace_write("events/tlb_pending_filter/tpf_test/filter", "0");
}

/* The end of the JSON line: the region's counts, null if not traced. */
static void region_print(const struct c_events *ev, bool traced)
{
	if (!traced) {
		printf("\"far_flushes\": null, \"far_tests\": null, \"far_hits\": null}\n");
		return;
	}
	printf("\"far_flushes\": %lu, \"far_tests\": %lu, \"far_hits\": %lu}\n",
	       ev->out_flush, ev->out_test, ev->out_hit);
}

/*
 * Shape f: copy faults in a uffd-wp region 1 GiB above a THP-backed one
 * that another thread write-protects and un-protects in a loop.  The THP
 * region, F_THP_MIB at a 2 MiB boundary, MADV_HUGEPAGE, async uffd-wp, is
 * write-faulted whole first, one THP per 2 MiB wherever the kernel finds
 * one; "anon_huge_kb" and "anon_huge_kb_end" give its AnonHugePages in
 * /proc/self/smaps before and after the run.  Its write-protects go
 * through change_huge_pmd(), which does not mark the filter: a write fault
 * on a write-protected PMD either reuses the THP or splits the PMD, and
 * the split flushes, so no copy can meet a stale entry of it.  One writer
 * copies zero-page PTEs of a 4 MiB async uffd-wp region FAR_GAP above the
 * THP region, 16 rounds re-armed by MADV_DONTNEED as in shape h.
 * Upstream's check flushes every copy made while a write-protect or an
 * un-protect has its mmu_gather open; the filter none: nothing is marked,
 * and whatever PTE-mapped remainder of the THP region were marked would
 * make a span far below the copies.  The protector is seen running before
 * the writer starts and runs until it is done; the far region's flushes
 * are told apart by address with the tracepoints, as in shape c.
 */
#define F_THP_MIB	64UL

static void *f_protector_fn(void *arg)
{
	struct scatterer *p = arg;

	while (!LOAD(*p->stop)) {
		uffd_wp(p->fd, p->area, p->pages * psize, true);
		uffd_wp(p->fd, p->area, p->pages * psize, false);
		ADD(p->wps, 1);
	}
	return NULL;
}

static void shape_f(void)
{
	const size_t len = F_THP_MIB << 20, pages = 1024, rounds = 16;
	size_t flen = pages * psize;
	struct scatterer p = { .pages = len / psize };
	struct c_events ev = { 0 };
	struct h_writer w;
	int fd = uffd_open(true), stop = 0, go = 0;
	unsigned long huge_kb, huge_kb_end, wps;
	char *thp, *far;
	double t0, t;
	bool traced;

	map_apart(len, flen, &thp, &far);
	if (madvise(thp, len, MADV_HUGEPAGE))
		die("madvise(MADV_HUGEPAGE)");
	if (madvise(far, flen, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE)");
	uffd_register(fd, thp, len);
	uffd_register(fd, far, flen);
	touch_write(thp, len / psize);
	huge_kb = anon_huge_kb(thp, len);
	traced = region_trace_start(far, flen);

	p.fd = fd;
	p.area = thp;
	p.stop = &stop;
	w = (struct h_writer){ .area = far, .pages = pages, .rounds = rounds,
			       .go = &go };
	if (pthread_create(&p.thread, NULL, f_protector_fn, &p) ||
	    pthread_create(&w.thread, NULL, h_writer_fn, &w))
		die("pthread_create");
	while (LOAD(p.wps) < 8)
		sched_yield();
	wps = LOAD(p.wps);
	t0 = now();
	STORE(go, 1);
	pthread_join(w.thread, NULL);
	t = now() - t0;
	wps = LOAD(p.wps) - wps;
	STORE(stop, 1);
	pthread_join(p.thread, NULL);
	huge_kb_end = anon_huge_kb(thp, len);
	if (traced)
		region_trace_stop(far, flen, &ev);

	printf("{\"shape\": \"f\", \"thp_bytes\": %zu, \"anon_huge_kb\": %lu, ",
	       len, huge_kb);
	printf("\"anon_huge_kb_end\": %lu, \"copies\": %zu, \"wps\": %lu, ",
	       huge_kb_end, pages * rounds, wps);
	printf("\"seconds\": %.3f, ", t);
	region_print(&ev, traced);
}

/*
 * Shape g: copy faults in a uffd-wp region while NUMA balancing scans the
 * heap of the same mm, in a guest with two NUMA nodes (the benchmark boots
 * one for it).  A thread write-faults a G_HEAP_MIB heap of 4 KiB pages (no
 * THP: change_huge_pmd() does not mark) and then reads it page by page
 * without end, so that the scans that the scheduler tick queues (they only
 * come to tasks that use CPU time, and skip VMAs their task has not
 * touched lately) keep finding it, and each scan's PROT_NONE PTEs are
 * restored by NUMA hinting faults for the next one.  Once a scan has been
 * seen (numa_pte_updates moved), one writer copies zero-page PTEs of a
 * 4 MiB async uffd-wp region FAR_GAP above the heap, 16 rounds re-armed by
 * MADV_DONTNEED as in shape h.  Each scan step, change_prot_numa() of up to
 * scan_size_mb, holds an mmu_gather open, and marks every page table of
 * the heap it changes: all 64 buckets.  Upstream's check flushes every
 * copy made meanwhile; the filter only those inside the span of what the
 * step marked, which happens when a step walks the uffd-wp region itself
 * (its copied pages are normal anonymous pages to the scanner).  The run
 * fails if numa_pte_updates did not move during the copies: without scans
 * the flush counts would say nothing.
 */
#define G_HEAP_MIB	256UL
#define G_WAIT_S	60	/* for the first scan, from the heap's population */

/*
 * The scan knobs (kernel/sched/debug.c), against their defaults: the first
 * scan of an mm, and of a new VMA, after scan_delay_ms (1000); then one
 * step of scan_size_mb (256) every scan_period_min_ms divided by the RSS
 * in steps (task_scan_min()), but no more often than scan_size_mb at 2560
 * MB/s (25 ms for 64 MiB), and no backing off past scan_period_max_ms
 * (60000) however local the faults.  With about 260 MiB resident that is
 * a step every 25 ms of the scanning thread's CPU time, plus 32 times the
 * time the step took (task_numa_work() keeps scanning under 3 %): the heap
 * scanned in four steps some ten times a second rather than once.
 */
#define NUMAB_DEBUGFS	"/sys/kernel/debug/sched/numa_balancing/"

static const char *const numab_knobs[][2] = {
	{ "scan_delay_ms", "100" },
	{ "scan_period_min_ms", "100" },
	{ "scan_period_max_ms", "100" },
};

#define NUMAB_SYSCTL	"/proc/sys/kernel/numa_balancing"

/* kernel.numa_balancing's value. */
static int numab_mode(void)
{
	char buf[16] = "";
	FILE *f = fopen(NUMAB_SYSCTL, "r");

	if (!f || !fgets(buf, sizeof(buf), f))
		die(NUMAB_SYSCTL);
	fclose(f);
	return atoi(buf);
}

/* Sets kernel.numa_balancing to @mode (1: NUMA_BALANCING_NORMAL). */
static void numab_set(int mode)
{
	char buf[16];

	snprintf(buf, sizeof(buf), "%d", mode);
	if (!write_file(NUMAB_SYSCTL, buf))
		die("kernel.numa_balancing");
}

/*
 * Balancing on (kernel.numa_balancing, NUMA_BALANCING_NORMAL), knobs set,
 * scan steps of @scan_size_mb.
 */
static int numab_setup(const char *scan_size_mb)
{
	char path[128];
	size_t i;
	int mode = numab_mode();

	if (!(mode & 1)) {
		numab_set(1);
		mode = 1;
	}
	for (i = 0; i < ARRAY_SIZE(numab_knobs); i++) {
		snprintf(path, sizeof(path), NUMAB_DEBUGFS "%s", numab_knobs[i][0]);
		if (!write_file(path, numab_knobs[i][1]))
			die(path);
	}
	if (!write_file(NUMAB_DEBUGFS "scan_size_mb", scan_size_mb))
		die(NUMAB_DEBUGFS "scan_size_mb");
	return mode;
}

/* Online NUMA nodes: a list such as "0-1" or "0,2-3"; 1 without NUMA. */
static int numa_nodes(void)
{
	FILE *f = fopen("/sys/devices/system/node/online", "r");
	char buf[256] = "", *p = buf, *e;
	long a, b;
	int n = 0;

	if (!f)
		return 1;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	for (;;) {
		a = b = strtol(p, &e, 10);
		if (e == p)
			break;
		if (*e == '-')
			b = strtol(e + 1, &e, 10);
		n += b - a + 1;
		if (*e != ',')
			break;
		p = e + 1;
	}
	return n;
}

struct g_heap {
	pthread_t thread;
	char *area;
	size_t pages;
	int *stop;
	bool writes;		/* every pass writes (s), not only the first */
	unsigned long passes;
};

/*
 * Populates the heap, then reads it (or, with @writes, writes it) over and
 * over; "passes" counts them all.
 */
static void *g_heap_fn(void *arg)
{
	struct g_heap *h = arg;

	touch_write(h->area, h->pages);
	ADD(h->passes, 1);
	while (!LOAD(*h->stop)) {
		if (h->writes)
			touch_write(h->area, h->pages);
		else
			touch_read(h->area, h->pages);
		ADD(h->passes, 1);
	}
	return NULL;
}

static const char *const g_counters[] = {
	"numa_pte_updates", "numa_hint_faults", "numa_hint_faults_local",
	"numa_pages_migrated",
};

static void shape_g(void)
{
	const size_t hlen = G_HEAP_MIB << 20, pages = 1024, rounds = 16;
	size_t len = pages * psize, i;
	struct g_heap h = { .pages = hlen / psize };
	unsigned long vm[ARRAY_SIZE(g_counters)], passes, u0;
	struct c_events ev = { 0 };
	struct h_writer w;
	int fd = uffd_open(true), stop = 0, go = 0, nodes, mode;
	char *heap, *area;
	double t0, t;
	bool traced;

	mode = numab_setup("64");
	nodes = numa_nodes();
	map_apart(hlen, len, &heap, &area);
	if (madvise(heap, hlen, MADV_NOHUGEPAGE) ||
	    madvise(area, len, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE)");
	uffd_register(fd, area, len);
	traced = region_trace_start(area, len);

	h.area = heap;
	h.stop = &stop;
	w = (struct h_writer){ .area = area, .pages = pages, .rounds = rounds,
			       .go = &go };
	if (pthread_create(&h.thread, NULL, g_heap_fn, &h) ||
	    pthread_create(&w.thread, NULL, h_writer_fn, &w))
		die("pthread_create");
	/* The main thread sleeps: the scans are for the heap's thread. */
	while (!LOAD(h.passes))
		usleep(10000);
	u0 = vmstat_read("numa_pte_updates");
	for (t0 = now(); vmstat_read("numa_pte_updates") == u0; usleep(10000)) {
		if (now() - t0 < G_WAIT_S)
			continue;
		if (traced)
			region_trace_stop(area, len, &ev);
		fprintf(stderr, "tpf-bench: g: no NUMA hinting scan in %d s (numa_pte_updates did not move)\n",
			G_WAIT_S);
		exit(1);
	}
	for (i = 0; i < ARRAY_SIZE(g_counters); i++)
		vm[i] = vmstat_read(g_counters[i]);
	passes = LOAD(h.passes);
	t0 = now();
	STORE(go, 1);
	pthread_join(w.thread, NULL);
	t = now() - t0;
	for (i = 0; i < ARRAY_SIZE(g_counters); i++)
		vm[i] = vmstat_read(g_counters[i]) - vm[i];
	passes = LOAD(h.passes) - passes;
	STORE(stop, 1);
	pthread_join(h.thread, NULL);
	if (traced)
		region_trace_stop(area, len, &ev);

	printf("{\"shape\": \"g\", \"nodes\": %d, \"numa_balancing\": %d, ", nodes, mode);
	printf("\"heap_bytes\": %zu, \"copies\": %zu, \"seconds\": %.3f, ",
	       hlen, pages * rounds, t);
	printf("\"heap_passes\": %lu, ", passes);
	for (i = 0; i < ARRAY_SIZE(g_counters); i++)
		printf("\"%s\": %lu, ", g_counters[i], vm[i]);
	region_print(&ev, traced);
	if (!vm[0]) {
		fprintf(stderr, "tpf-bench: g: no NUMA hinting scan during the copies (numa_pte_updates did not move)\n");
		exit(1);
	}
}

/*
 * move_pages() of @n pages from @pages to @node; returns how many arrived.
 * One call: the kernel migrates them in batches.
 */
static size_t move_to(void **pages, int *nodes, int *status, size_t n, int node)
{
	size_t i, moved = 0;

	for (i = 0; i < n; i++) {
		nodes[i] = node;
		status[i] = -1;
	}
	if (syscall(__NR_move_pages, 0, n, pages, nodes, status, MPOL_MF_MOVE) < 0)
		die("move_pages");
	for (i = 0; i < n; i++)
		moved += status[i] == node;
	return moved;
}

/*
 * Shapes n and p: PROT_NONE PTEs that NUMA hinting made, cleared by a
 * migration (n) or by reclaim (p), the decisions of
 * tlb_pending_pte_accessible() counted by perf (tpf_protnone: all, those
 * that flushed, those the mm-wide answer flushes).  As in g, a thread
 * reads an NP_HEAP_MIB heap without end so that scans keep coming; they
 * also make the PTEs of an NP_REGION_MIB region PROT_NONE, a region that
 * nothing else touches between the operations under test.  Each of
 * NP_ROUNDS rounds waits until scans have changed NP_REGION_PAGES PTEs
 * since the last one (numa_pte_updates: about one scan of the region),
 * then:
 *
 *  n: moves the region's pages to the other node one at a time
 *     (move_pages(), single-folio migrations), while a thread zaps an
 *     unrelated range without pause: its gathers keep
 *     mm_tlb_flush_pending() set most of the time, as an allocator's
 *     MADV_DONTNEED would.  Per migration.
 *  p: pages the region out (MADV_PAGEOUT, whose own gather is open while
 *     it unmaps), then reads it back in.  Per page paged out (pswpout).
 *
 * The filter flushes only for a PTE whose address lies in the span of a
 * scan step still open (the bucket and the span it tests are only set by
 * NUMA hinting here): those are the races the flush exists for.
 */
#define NP_HEAP_MIB	64UL
#define NP_REGION_MIB	4UL
#define NP_REGION_PAGES	(NP_REGION_MIB << 8)
#define NP_ROUNDS(shape)	((shape) == 'n' ? 4 : 8)	/* n: ~2-5 s a round */
#define NP_WAIT_S	30	/* for the scans of one round */

static void np_wait_scans(char shape, unsigned long *u0)
{
	double t0 = now();
	unsigned long u;

	while ((u = vmstat_read("numa_pte_updates")) - *u0 < NP_REGION_PAGES) {
		if (now() - t0 > NP_WAIT_S) {
			fprintf(stderr, "tpf-bench: %c: fewer than %lu NUMA PTE updates in %d s\n",
				shape, NP_REGION_PAGES, NP_WAIT_S);
			exit(1);
		}
		usleep(10000);
	}
	*u0 = u;
}

static void shape_np(char shape)
{
	const size_t hlen = NP_HEAP_MIB << 20, len = NP_REGION_MIB << 20;
	size_t pages = len / psize, i, r, moved = 0, ops = 0;
	unsigned long u0, pswp, migrated, scans;
	struct g_heap h = { .pages = hlen / psize };
	struct zapper z = { .pages = 64 };
	int stop = 0, nodes, mode, node = 1, status;
	char *heap, *area;
	double t0, t;

	mode = numab_setup("64");
	nodes = numa_nodes();
	if (nodes < 2) {
		fprintf(stderr, "tpf-bench: %c: %d NUMA node(s), needs two\n", shape, nodes);
		exit(1);
	}
	map_apart(hlen, len, &heap, &area);
	z.area = map(z.pages * psize);
	if (madvise(heap, hlen, MADV_NOHUGEPAGE) ||
	    madvise(area, len, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE)");
	touch_write(area, pages);
	h.area = heap;
	h.stop = &stop;
	z.stop = &stop;
	if (pthread_create(&h.thread, NULL, g_heap_fn, &h))
		die("pthread_create");
	while (!LOAD(h.passes))
		usleep(10000);
	if (shape == 'n' && pthread_create(&z.thread, NULL, zapper_fn, &z))
		die("pthread_create");

	u0 = vmstat_read("numa_pte_updates");
	scans = u0;
	migrated = vmstat_read("pgmigrate_success");
	pswp = vmstat_read("pswpout");
	t0 = now();
	for (r = 0; r < NP_ROUNDS(shape); r++) {
		np_wait_scans(shape, &u0);
		if (shape == 'p') {
			if (madvise(area, len, MADV_PAGEOUT))
				die("madvise(MADV_PAGEOUT)");
			ops++;
			touch_read(area, pages);
			continue;
		}
		for (i = 0; i < pages; i++) {
			void *page = area + i * psize;

			moved += move_to(&page, &node, &status, 1, node);
			ops++;
		}
		node = !node;
	}
	t = now() - t0;
	migrated = vmstat_read("pgmigrate_success") - migrated;
	pswp = vmstat_read("pswpout") - pswp;
	scans = vmstat_read("numa_pte_updates") - scans;
	STORE(stop, 1);
	pthread_join(h.thread, NULL);
	if (shape == 'n')
		pthread_join(z.thread, NULL);

	printf("{\"shape\": \"%c\", \"nodes\": %d, \"numa_balancing\": %d, ",
	       shape, nodes, mode);
	printf("\"region_bytes\": %zu, \"rounds\": %d, \"calls\": %zu, \"seconds\": %.3f, ",
	       len, NP_ROUNDS(shape), ops, t);
	printf("\"migrations\": %zu, \"pgmigrate_success\": %lu, \"pswpout\": %lu, ",
	       moved, migrated, pswp);
	printf("\"numa_pte_updates\": %lu, \"zaps\": %lu}\n", scans, LOAD(z.zaps));
	if (shape == 'n' && !moved) {
		fprintf(stderr, "tpf-bench: n: no page migrated\n");
		exit(1);
	}
	if (shape == 'p' && !pswp) {
		fprintf(stderr, "tpf-bench: p: nothing paged out (no swap?)\n");
		exit(1);
	}
}

/*
 * Shape s: the PROT_NONE answer where it must beat a plain count of
 * marking deferrers.  One process larger than a scan step: an S_HEAP_MIB
 * heap of 4 KiB pages, first touched under a policy that binds it to
 * node 1 (the guest's CPUs are all on node 0: numa=fake without an SRAT),
 * which NUMA balancing scans without pause in steps of the default
 * 256 MiB, each a change_prot_numa() that marks the page tables it walks
 * and keeps its flush pending until it is done.  S_WORKERS threads write
 * their slices of the heap page by page, over and over: their NUMA hinting
 * faults on the PTEs the steps made PROT_NONE migrate the pages to node 0
 * (do_numa_page(), whose migration clears a PROT_NONE PTE: a decision of
 * tlb_pending_pte_accessible()).  A thread zaps unrelated memory without
 * pause, as in n.  The count flushes for every such decision while any
 * step is open; the filter only for a PTE in the span of the open step,
 * behind its walk.  Per hinting-fault migration (numa_pages_migrated, over
 * the whole run, as perf counts it); the run fails if there was none.
 */
#define S_HEAP_MIB	1024UL
#define S_WORKERS	3
#define S_SECONDS	10	/* of migrations, after the first scan */

/* The calling thread's memory policy: bound to @node, or the default. */
static void bind_to(int node)
{
	unsigned long mask = 1UL << (node < 0 ? 0 : node);

	if (syscall(__NR_set_mempolicy, node < 0 ? MPOL_DEFAULT : MPOL_BIND,
		    node < 0 ? NULL : &mask, node < 0 ? 0 : 8 * sizeof(mask)))
		die("set_mempolicy");
}

static void shape_s(void)
{
	const size_t hlen = S_HEAP_MIB << 20, slice = hlen / S_WORKERS / psize;
	static const char *const counters[] = {
		"numa_pages_migrated", "pgmigrate_success", "numa_hint_faults",
		"numa_hint_faults_local", "numa_pte_updates",
	};
	unsigned long vm[ARRAY_SIZE(counters)], u0, passes = 0;
	struct g_heap w[S_WORKERS];
	struct zapper z = { .pages = 64 };
	int stop = 0, nodes, mode;
	size_t i;
	char *heap;
	double t0;

	for (i = 0; i < ARRAY_SIZE(counters); i++)
		vm[i] = vmstat_read(counters[i]);
	mode = numab_setup("256");
	nodes = numa_nodes();
	if (nodes < 2) {
		fprintf(stderr, "tpf-bench: s: %d NUMA node(s), needs two\n", nodes);
		exit(1);
	}
	heap = map(hlen);
	z.area = map(z.pages * psize);
	z.stop = &stop;
	bind_to(1);
	touch_write(heap, hlen / psize);
	bind_to(-1);
	for (i = 0; i < S_WORKERS; i++) {
		w[i] = (struct g_heap){ .area = heap + i * slice * psize,
					.pages = slice, .stop = &stop, .writes = true };
		if (pthread_create(&w[i].thread, NULL, g_heap_fn, &w[i]))
			die("pthread_create");
	}
	if (pthread_create(&z.thread, NULL, zapper_fn, &z))
		die("pthread_create");
	u0 = vmstat_read("numa_pte_updates");
	for (t0 = now(); vmstat_read("numa_pte_updates") == u0; usleep(10000)) {
		if (now() - t0 > G_WAIT_S) {
			fprintf(stderr, "tpf-bench: s: no NUMA hinting scan in %d s\n", G_WAIT_S);
			exit(1);
		}
	}
	sleep(S_SECONDS);
	STORE(stop, 1);
	for (i = 0; i < S_WORKERS; i++) {
		pthread_join(w[i].thread, NULL);
		passes += w[i].passes;
	}
	pthread_join(z.thread, NULL);
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		vm[i] = vmstat_read(counters[i]) - vm[i];

	printf("{\"shape\": \"s\", \"nodes\": %d, \"numa_balancing\": %d, ", nodes, mode);
	printf("\"heap_bytes\": %zu, \"workers\": %d, \"seconds\": %d, \"passes\": %lu, ",
	       hlen, S_WORKERS, S_SECONDS, passes);
	for (i = 0; i < ARRAY_SIZE(counters); i++)
		printf("\"%s\": %lu, ", counters[i], vm[i]);
	printf("\"zaps\": %lu}\n", LOAD(z.zaps));
	if (!vm[0]) {
		fprintf(stderr, "tpf-bench: s: no NUMA hinting migration\n");
		exit(1);
	}
}

/*
 * tpf-bench push PID SECONDS, for the real programs of real-run.sh.  The
 * guest's vCPUs are all on node 0, so a program's memory stays there and
 * balancing has nothing to migrate.  Every @secs, migrate_pages(2) moves
 * @pid's pages from node 0 to node 1, as a scheduler that moved the
 * program's threads to the other node of a real two-node machine would
 * leave them remote; balancing (turned on, knobs as for g) migrates them
 * back on hinting faults.  Until @pid is gone; prints how many calls it
 * made and how many pages they left behind.
 */
static void push(pid_t pid, unsigned int secs)
{
	unsigned long from = 1UL << 0, to = 1UL << 1, calls = 0, left = 0;
	int nodes = numa_nodes();
	long ret;

	if (nodes < 2) {
		fprintf(stderr, "tpf-bench: push: %d NUMA node(s), needs two\n", nodes);
		exit(1);
	}
	numab_setup("256");
	for (;;) {
		ret = syscall(__NR_migrate_pages, pid, 8 * sizeof(from), &from, &to);
		if (ret < 0 && errno == ESRCH)
			break;
		if (ret < 0)
			die("migrate_pages");
		calls++;
		left += ret;
		sleep(secs);
	}
	printf("pushes %lu left %lu\n", calls, left);
}

/*
 * Shape w: saturation.  Two threads each write-protect and un-protect
 * random single pages of a uffd-wp region of their own, one region
 * FAR_GAP below and one FAR_GAP above a third, in which a writer copies
 * zero-page PTEs, 8 rounds re-armed by MADV_DONTNEED as in shape h.  Each
 * write-protect marks one bucket, but the two protectors' calls overlap,
 * so the filter's users rarely drop to zero and the reset that would
 * clear old marks waits: the buckets fill, and the span, from one region
 * to the other, covers the copies.  Reported from the tracepoints: the
 * copies' filter tests, those answered with every bucket set (of all the
 * slots together), and how long a slot's users stayed above zero (from
 * the first mark in the slot after its reset to its next reset, tpf_mark
 * and tpf_reset; the mean over the slots used).  Shape v is the same with each
 * protector write-protecting its whole region (W_PAGES, every bucket) in
 * each call: the span of two overlapping calls covers the copies.
 */
#define W_PAGES		1024

struct w_events {
	unsigned long marks, resets, tests, full, hits, flushes;
	double busy, longest, window;
};

/* The trace's timestamp of @event in @line, or -1. */
static double trace_stamp(const char *line, const char *event)
{
	const char *q = strstr(line, event), *p;

	if (!q)
		return -1;
	for (p = q; p > line && p[-1] != ' '; p--)
		;
	return strtod(p, NULL);
}

struct w_stamp {
	double t;
	unsigned long slot;
	bool reset;
};

#define W_MAX_SLOTS	8

static int w_stamp_cmp(const void *x, const void *y)
{
	const struct w_stamp *a = x, *b = y;

	return (a->t > b->t) - (a->t < b->t);
}

/*
 * The copies' tests and flushes, and the stretches with users above zero:
 * from a mark that finds no stretch open to the next reset, the events put
 * in time order first (the trace merges its CPUs' buffers).
 */
/* A wp_flush or tpf_test line: counted if it is about a copy of [a, +len). */
static void w_count_copy(struct w_events *ev, const char *line, char *a, size_t len)
{
	const char *p = strstr(line, "addr=");
	unsigned long addr, buckets;

	if (!p || sscanf(p, "addr=%lx", &addr) != 1 ||
	    addr < (unsigned long)a || addr >= (unsigned long)a + len)
		return;
	if (strstr(line, ": wp_flush: ")) {
		ev->flushes++;
		return;
	}
	p = strstr(p, "buckets=");
	if (!p || sscanf(p, "buckets=%lx", &buckets) != 1)
		return;
	ev->tests++;
	ev->full += buckets == ~0UL;
	ev->hits += !!strstr(p, " hit");
}

static void w_count(struct w_events *ev, char *a, size_t len)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	double start[W_MAX_SLOTS], t;
	unsigned long slots[W_MAX_SLOTS];
	struct w_stamp *st = NULL;
	size_t n = 0, cap = 0, i, k, nslots = 0;
	char line[512];
	const char *p;

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		double mark = trace_stamp(line, ": tpf_mark: ");
		double reset = trace_stamp(line, ": tpf_reset: ");

		if (mark < 0 && reset < 0) {
			w_count_copy(ev, line, a, len);
			continue;
		}
		if (reset >= 0)
			ev->resets++;
		else
			ev->marks++;
		t = reset >= 0 ? reset : mark;
		if (n == cap) {
			cap = cap ? 2 * cap : 4096;
			st = realloc(st, cap * sizeof(*st));
			if (!st)
				die("realloc");
		}
		p = strstr(line, "slot=");
		st[n] = (struct w_stamp){ .t = t, .reset = reset >= 0 };
		if (p)
			sscanf(p, "slot=%lx", &st[n].slot);
		n++;
	}
	fclose(f);
	qsort(st, n, sizeof(*st), w_stamp_cmp);
	for (i = 0; i < n; i++) {
		for (k = 0; k < nslots && slots[k] != st[i].slot; k++)
			;
		if (k == nslots) {
			if (nslots == W_MAX_SLOTS)
				continue;
			slots[nslots] = st[i].slot;
			start[nslots++] = -1;
		}
		if (!st[i].reset) {
			if (start[k] < 0)
				start[k] = st[i].t;
			continue;
		}
		if (start[k] < 0)
			continue;
		ev->busy += st[i].t - start[k];
		if (st[i].t - start[k] > ev->longest)
			ev->longest = st[i].t - start[k];
		start[k] = -1;
	}
	/* The mean over the slots used: busy / window is per slot. */
	ev->window = n ? (st[n - 1].t - st[0].t) * nslots : 0;
	free(st);
}

static void shape_w(bool ranges)
{
	const size_t pages = 1024, rounds = 8, plen = W_PAGES * psize;
	size_t len = pages * psize, i;
	struct scatterer p[2] = { { .pages = W_PAGES, .seed = 3 },
				  { .pages = W_PAGES, .seed = 4 } };
	struct w_events ev = { 0 };
	struct h_writer wr;
	int fd = uffd_open(true), stop = 0, go = 0;
	char *area, *hi, filter[80];
	bool traced;
	double t0, t;

	map_apart(plen, len, &p[0].area, &area);
	hi = mmap(area + len + FAR_GAP, plen, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (hi != area + len + FAR_GAP) {
		fprintf(stderr, "tpf-bench: w: no room FAR_GAP above the copies\n");
		exit(1);
	}
	p[1].area = hi;
	if (madvise(p[0].area, plen, MADV_NOHUGEPAGE) ||
	    madvise(hi, plen, MADV_NOHUGEPAGE) ||
	    madvise(area, len, MADV_NOHUGEPAGE))
		die("madvise(MADV_NOHUGEPAGE)");
	uffd_register(fd, area, len);
	for (i = 0; i < 2; i++) {
		p[i].fd = uffd_open(true);
		p[i].stop = &stop;
		uffd_register(p[i].fd, p[i].area, plen);
		touch_write(p[i].area, W_PAGES);
	}

	snprintf(filter, sizeof(filter), "addr >= %#lx && addr < %#lx",
		 (unsigned long)area, (unsigned long)area + len);
	traced = !access(TRACEFS "/events/tlb_pending_filter/tpf_test", F_OK) &&
		 trace_write("buffer_size_kb", "32768") &&
		 trace_write("events/tlb_pending_filter/wp_flush/filter", filter) &&
		 trace_write("events/tlb_pending_filter/tpf_test/filter", filter) &&
		 trace_write("events/tlb_pending_filter/wp_flush/enable", "1") &&
		 trace_write("events/tlb_pending_filter/tpf_test/enable", "1") &&
		 trace_write("events/tlb_pending_filter/tpf_mark/enable", "1") &&
		 trace_write("events/tlb_pending_filter/tpf_reset/enable", "1") &&
		 trace_write("trace", "");

	for (i = 0; i < 2; i++)
		if (pthread_create(&p[i].thread, NULL,
				   ranges ? v_protector_fn : h_protector_fn, &p[i]))
			die("pthread_create");
	wr = (struct h_writer){ .area = area, .pages = pages, .rounds = rounds,
				.go = &go };
	if (pthread_create(&wr.thread, NULL, h_writer_fn, &wr))
		die("pthread_create");
	while (LOAD(p[0].wps) < 8 || LOAD(p[1].wps) < 8)
		sched_yield();
	t0 = now();
	STORE(go, 1);
	pthread_join(wr.thread, NULL);
	t = now() - t0;
	STORE(stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(p[i].thread, NULL);
	if (traced) {
		trace_write("events/tlb_pending_filter/wp_flush/enable", "0");
		trace_write("events/tlb_pending_filter/tpf_test/enable", "0");
		trace_write("events/tlb_pending_filter/tpf_mark/enable", "0");
		trace_write("events/tlb_pending_filter/tpf_reset/enable", "0");
		w_count(&ev, area, len);
		trace_write("events/tlb_pending_filter/wp_flush/filter", "0");
		trace_write("events/tlb_pending_filter/tpf_test/filter", "0");
	}

	printf("{\"shape\": \"%c\", \"copies\": %zu, \"wps\": %lu, \"seconds\": %.3f, ",
	       ranges ? 'v' : 'w', pages * rounds, LOAD(p[0].wps) + LOAD(p[1].wps), t);
	if (!traced) {
		printf("\"traced\": false}\n");
		return;
	}
	printf("\"traced\": true, \"far_flushes\": %lu, \"far_tests\": %lu, ",
	       ev.flushes, ev.tests);
	printf("\"far_hits\": %lu, \"full_tests\": %lu, \"marks\": %lu, ",
	       ev.hits, ev.full, ev.marks);
	printf("\"resets\": %lu, \"users_busy\": %.4f, \"users_longest_s\": %.4f}\n",
	       ev.resets, ev.window > 0 ? ev.busy / ev.window : 0, ev.longest);
}

/*
 * tpf-bench cost OP MIB ROUNDS: what one call or one fault costs, for the
 * deterministic pass of the benchmark, where QEMU's -icount makes guest
 * time count executed instructions (one nanosecond each).  COST_WARMUP
 * untimed rounds, then ROUNDS rounds of the same work; one JSON line with
 * the mean nanoseconds per call (or fault) of each round.
 *
 *   mprotect    mprotect(PROT_READ) of a populated MIB range, made writable
 *               again between calls (untimed)
 *   uffd-wp     UFFDIO_WRITEPROTECT of a populated, registered MIB range,
 *               un-protected between calls (untimed; exclusive anon PTEs
 *               go writable at once)
 *   clear-refs  soft-dirty clear, "4" written to /proc/self/clear_refs, with
 *               a populated MIB range: every present PTE of the mm is
 *               write-protected each time
 *   copy        write faults that copy: zero-page PTEs of a MIB range in an
 *               async uffd-wp VMA, one fault per page
 *   copy-plain  the same in a VMA without userfaultfd: what every other
 *               copy-on-write fault pays
 *   migrate     move_pages() of every page of a populated MIB range to the
 *               other of two NUMA nodes, one call (booted with numa=fake=2
 *               and balancing off: no PTE is PROT_NONE)
 *   pageout     MADV_PAGEOUT of a populated MIB range, to swap; the range
 *               is read back in between calls (untimed)
 *   numa-scan   one NUMA balancing scan step over a populated MIB range of
 *               4 KiB pages, timed by the function_graph tracer (see
 *               cost_scan_round())
 *   numa-scan-thp  the same over THPs
 *   thp-copy    write faults on THPs (MADV_HUGEPAGE) of a MIB range in an
 *               async uffd-wp VMA, shared with a child by fork(): each
 *               splits the PMD and copies one 4 KiB page, one fault per
 *               2 MiB, THP_SETS new ranges per round; "splits" counts the
 *               timed thp_split_pmd events, one per fault when every fault
 *               found its THP
 *
 * A round lasts some tens of milliseconds of guest time at least, so that
 * the kernel's own periodic work (a tick, a worker) that lands in one round
 * and not in another is a small part of it.
 */
#define COST_CALLS_MIB	16384	/* deferrals: 16384 / MIB calls a round, */
#define COST_MOVES_MIB	256	/* migrations and pageouts: 256 / MIB */
#define COST_CALLS_MIN	16	/* and no fewer than this */
/*
 * thp-copy times THP_SETS windows of 128 faults (256 MiB), some 1.8 ms of
 * guest time each, shorter than the cost kernels' 4 ms tick (HZ=250), so
 * how many windows hold a tick varies from round to round.  With 8
 * windows (14 ms a round) the rounds spread by up to 0.85 %; 32 make a
 * round some 58 ms.
 */
#define THP_SETS	32
/* The first timed round was often the slowest by up to 0.5 % after one. */
#define COST_WARMUP	2

static void soft_dirty_clear(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY);

	if (fd < 0 || write(fd, "4", 1) != 1)
		die("clear_refs");
	close(fd);
}

enum cost_op {
	COST_MPROTECT, COST_UFFD_WP, COST_CLEAR_REFS, COST_COPY, COST_COPY_PLAIN,
	COST_THP_COPY, COST_MIGRATE, COST_PAGEOUT, COST_SCAN, COST_SCAN_THP,
};

static const char *const cost_ops[] = {
	[COST_MPROTECT] = "mprotect", [COST_UFFD_WP] = "uffd-wp",
	[COST_CLEAR_REFS] = "clear-refs", [COST_COPY] = "copy",
	[COST_COPY_PLAIN] = "copy-plain", [COST_THP_COPY] = "thp-copy",
	[COST_MIGRATE] = "migrate", [COST_PAGEOUT] = "pageout",
	[COST_SCAN] = "numa-scan", [COST_SCAN_THP] = "numa-scan-thp",
};

/* One deferral, timed; the range is put back as it was, untimed. */
static double cost_defer(enum cost_op op, int fd, char *a, size_t len)
{
	double t0 = now(), t;

	if (op == COST_MPROTECT && mprotect(a, len, PROT_READ))
		die("mprotect");
	else if (op == COST_UFFD_WP)
		uffd_wp(fd, a, len, true);
	else if (op == COST_CLEAR_REFS)
		soft_dirty_clear();
	t = now() - t0;
	if (op == COST_MPROTECT && mprotect(a, len, PROT_READ | PROT_WRITE))
		die("mprotect");
	else if (op == COST_UFFD_WP)
		uffd_wp(fd, a, len, false);
	return t;
}

/* A new THP range shared with a sleeping child: faults there copy. */
static char *thp_shared(int fd, size_t len, pid_t *child)
{
	char *a = map(len);
	size_t off;

	uffd_register(fd, a, len);
	if (madvise(a, len, MADV_HUGEPAGE))
		die("madvise(MADV_HUGEPAGE)");
	for (off = 0; off < len; off += 2UL << 20)
		a[off] = 1;
	*child = fork();
	if (*child < 0)
		die("fork");
	if (!*child)
		for (;;)
			pause();
	return a;
}

/* Timed write faults, one per @step bytes of [a, a + len). */
static double cost_faults(char *a, size_t len, size_t step)
{
	double t0 = now();
	size_t off;

	for (off = 0; off < len; off += step)
		a[off] = 2;
	return now() - t0;
}

/*
 * The NUMA scanner's cost (ops numa-scan and numa-scan-thp): one
 * task_numa_work() step over a populated MIB range of 4 KiB pages or of
 * THPs.  Each round forks a child, a fresh mm whose first step starts at
 * its lowest address and, with scan_size_mb twice MIB, covers the range at
 * once.  The child, given a sleeping second thread (a single-threaded
 * process's pages on its own node are not scanned), populates the range,
 * then spins in user space, so that the scheduler tick queues the steps,
 * until numa_pte_updates has moved by the range's pages.  The
 * function_graph tracer times task_numa_work() alone (depth 1): under
 * -icount, its instructions.  The child's longest
 * call is the step that changed the range; the others found nothing to do
 * (the first visit of a VMA only sets up its scan state).
 */
#define SCAN_KNOBS_DELAY	"0"
#define SCAN_KNOBS_PERIOD	"10"
#define SCAN_WAIT_S		20	/* of guest time, for the step */

/* The scanned child's second thread: only there, see scan_child(). */
static void *scan_idle_fn(void *arg)
{
	for (;;)
		pause();
	return NULL;
}

static void scan_child(size_t len, bool thp, int ready, int go)
{
	size_t pages = len / psize;
	unsigned long u0;
	unsigned long spin;
	char *a = map(len);
	pthread_t idle;
	double t0;
	char c;

	/*
	 * change_prot_numa() leaves alone the pages of a single-threaded
	 * process that are on the node it runs on (all of them, on one
	 * vCPU): a second thread makes the mm multi-threaded, as the
	 * processes NUMA balancing exists for are.
	 */
	if (pthread_create(&idle, NULL, scan_idle_fn, NULL))
		die("pthread_create");

	if (thp && madvise(a, len, MADV_HUGEPAGE))
		die("madvise(MADV_HUGEPAGE)");
	touch_write(a, pages);
	if (thp && anon_huge_kb(a, len) < (len >> 10) * 9 / 10) {
		fprintf(stderr, "tpf-bench: cost: %lu of %zu KiB were THPs\n",
			anon_huge_kb(a, len), len >> 10);
		_exit(3);
	}
	/* Populated: the parent turns balancing on, then lets us spin. */
	u0 = vmstat_read("numa_pte_updates");
	if (write(ready, "r", 1) != 1 || read(go, &c, 1) != 1)
		_exit(5);
	t0 = now();
	while (vmstat_read("numa_pte_updates") - u0 < pages) {
		/* In user space: a barrier keeps the loop from being folded. */
		for (spin = 0; spin < 1000000; spin++)
			__asm__ __volatile__("" ::: "memory");
		if (now() - t0 > SCAN_WAIT_S) {
			fprintf(stderr, "tpf-bench: cost: no scan step over the range in %d s\n",
				SCAN_WAIT_S);
			_exit(4);
		}
	}
	_exit(0);
}

/* The longest task_numa_work() in the function_graph trace, in ns. */
static double scan_longest(void)
{
	FILE *f = fopen(TRACEFS "/trace", "r");
	double us, longest = 0;
	char line[512], *p;

	if (!f)
		die(TRACEFS "/trace");
	while (fgets(line, sizeof(line), f)) {
		if (!strstr(line, "task_numa_work"))
			continue;
		p = strstr(line, " us ");
		if (!p)
			continue;
		while (p > line && p[-1] != ' ')
			p--;
		us = strtod(p, NULL);
		if (us > longest)
			longest = us;
	}
	fclose(f);
	return longest * 1e3;
}

/*
 * Balancing is on only while the child spins: a step during its
 * population would scan part of the range, and later passes skip a VMA
 * its task does not fault in.
 */
static double cost_scan_round(size_t len, bool thp)
{
	int ready[2], go[2], status;
	pid_t child;
	char c;

	if (!trace_write("trace", ""))
		die("clearing the trace");
	if (pipe(ready) || pipe(go))
		die("pipe");
	child = fork();
	if (child < 0)
		die("fork");
	if (!child)
		scan_child(len, thp, ready[1], go[0]);
	if (read(ready[0], &c, 1) == 1) {
		numab_set(1);
		if (write(go[1], "g", 1) != 1)
			die("write");
	}
	if (waitpid(child, &status, 0) != child || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "tpf-bench: cost: the scanned child failed (status %#x)\n",
			status);
		exit(1);
	}
	numab_set(0);
	close(ready[0]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	return scan_longest();
}

/*
 * Scan steps of twice @mib, the tracer on task_numa_work() alone: with
 * set_graph_function only, every function the step calls out of line
 * would enter the graph tracer too (some hundreds of instructions each,
 * under -icount as real as the step's own), charging the kernel that
 * calls more of them; set_ftrace_filter patches task_numa_work() only.
 */
static int cost_scan_setup(size_t mib)
{
	int was = numab_mode();
	char size[32];

	snprintf(size, sizeof(size), "%zu", 2 * mib);
	if (!write_file(NUMAB_DEBUGFS "scan_delay_ms", SCAN_KNOBS_DELAY) ||
	    !write_file(NUMAB_DEBUGFS "scan_period_min_ms", SCAN_KNOBS_PERIOD) ||
	    !write_file(NUMAB_DEBUGFS "scan_size_mb", size))
		die("NUMA balancing knobs");
	if (!trace_write("current_tracer", "nop") ||
	    !trace_write("set_ftrace_filter", "task_numa_work") ||
	    !trace_write("set_graph_function", "task_numa_work") ||
	    !trace_write("max_graph_depth", "1") ||
	    !trace_write("current_tracer", "function_graph")) {
		fprintf(stderr, "tpf-bench: cost: no function_graph tracer for task_numa_work() alone (CONFIG_FUNCTION_GRAPH_TRACER, CONFIG_DYNAMIC_FTRACE)\n");
		exit(1);
	}
	return was;
}

static void cost_scan_teardown(int was)
{
	trace_write("current_tracer", "nop");
	trace_write("set_graph_function", "");
	trace_write("set_ftrace_filter", "");
	trace_write("max_graph_depth", "0");
	numab_set(was);
}

static void shape_cost(const char *name, size_t mib, size_t rounds)
{
	const size_t thp = 2UL << 20;
	size_t len = mib << 20, pages = len / psize, calls, r, c;
	unsigned long splits = 0, s0;
	int *mig_nodes = NULL, *mig_status = NULL, node = 1, numab = 0;
	void **mig_pages = NULL;
	enum cost_op op;
	char *a = NULL;
	double sum, t0;
	pid_t child;
	int fd;

	for (op = 0; op < ARRAY_SIZE(cost_ops); op++)
		if (!strcmp(name, cost_ops[op]))
			break;
	if (op == ARRAY_SIZE(cost_ops) || !mib ||
	    (op == COST_THP_COPY && len % thp)) {
		fprintf(stderr, "tpf-bench: cost: bad operation or size '%s' %zu\n", name, mib);
		exit(2);
	}
	fd = uffd_open(op == COST_COPY || op == COST_THP_COPY);
	if (op == COST_SCAN || op == COST_SCAN_THP)
		numab = cost_scan_setup(mib);
	if (op == COST_MIGRATE) {
		mig_pages = calloc(pages, sizeof(*mig_pages));
		mig_nodes = calloc(pages, sizeof(*mig_nodes));
		mig_status = calloc(pages, sizeof(*mig_status));
		if (!mig_pages || !mig_nodes || !mig_status)
			die("calloc");
	}
	if (op != COST_THP_COPY && op != COST_SCAN && op != COST_SCAN_THP) {
		a = map(len);
		if (op == COST_UFFD_WP || op == COST_COPY)
			uffd_register(fd, a, len);
		if (op != COST_COPY && op != COST_COPY_PLAIN)
			touch_write(a, pages);
	}
	switch (op) {
	case COST_COPY:
	case COST_COPY_PLAIN:
		calls = pages;
		break;
	case COST_THP_COPY:
		calls = THP_SETS * (len / thp);
		break;
	case COST_SCAN:
	case COST_SCAN_THP:
		calls = 1;
		break;
	case COST_MIGRATE:
		for (c = 0; c < pages; c++)
			mig_pages[c] = a + c * psize;
		/* fall through */
	case COST_PAGEOUT:
		calls = COST_MOVES_MIB / mib;
		if (calls < COST_CALLS_MIN)
			calls = COST_CALLS_MIN;
		break;
	default:
		calls = COST_CALLS_MIB / mib;
		if (calls < COST_CALLS_MIN)
			calls = COST_CALLS_MIN;
		break;
	}
	printf("{\"shape\": \"cost\", \"op\": \"%s\", \"bytes\": %zu, \"calls\": %zu, \"ns\": [",
	       name, len, calls);
	for (r = 0; r < COST_WARMUP + rounds; r++) {
		s0 = vmstat_read("thp_split_pmd");
		sum = 0;
		switch (op) {
		case COST_COPY:
		case COST_COPY_PLAIN:
			madvise(a, len, MADV_DONTNEED);
			touch_read(a, pages);
			sum = cost_faults(a, len, psize);
			break;
		case COST_THP_COPY:
			/*
			 * A new VMA each time: MADV_DONTNEED would leave the
			 * page tables of the split PMDs behind, and faults
			 * there would map 4 KiB pages.  The untimed work
			 * around the faults moves thp_split_pmd too, but only
			 * the faults split.
			 */
			for (c = 0; c < THP_SETS; c++) {
				a = thp_shared(fd, len, &child);
				sum += cost_faults(a, len, thp);
				kill(child, SIGKILL);
				waitpid(child, NULL, 0);
				munmap(a, len);
			}
			break;
		case COST_MIGRATE:
			for (c = 0; c < calls; c++) {
				t0 = now();
				if (move_to(mig_pages, mig_nodes, mig_status,
					    pages, node) != pages)
					die("move_pages: not every page moved");
				sum += now() - t0;
				node = !node;
			}
			break;
		case COST_SCAN:
		case COST_SCAN_THP:
			sum = cost_scan_round(len, op == COST_SCAN_THP) / 1e9;
			break;
		case COST_PAGEOUT:
			for (c = 0; c < calls; c++) {
				touch_read(a, pages);
				t0 = now();
				if (madvise(a, len, MADV_PAGEOUT))
					die("madvise(MADV_PAGEOUT)");
				sum += now() - t0;
			}
			break;
		default:
			for (c = 0; c < calls; c++)
				sum += cost_defer(op, fd, a, len);
			break;
		}
		/* Warm-up: first touches of the tables, deferred kernel work. */
		if (r < COST_WARMUP)
			continue;
		splits += vmstat_read("thp_split_pmd") - s0;
		printf("%s%.1f", r > COST_WARMUP ? ", " : "", sum * 1e9 / calls);
	}
	printf("], \"splits\": %lu}\n", splits);
	if (op == COST_SCAN || op == COST_SCAN_THP)
		cost_scan_teardown(numab);
	close(fd);
	free(mig_pages);
	free(mig_nodes);
	free(mig_status);
}

/*
 * tpf-bench marks OP MIB CALLS: CALLS deferrals of OP, one of the three of
 * shape d (mprotect, uffd-wp, clear-refs, made as cost_defer() makes them)
 * on a populated MIB range, untimed, for perf stat to count the filter's
 * marks (tlb_pending_filter:tpf_mark, one per page table published) per
 * call.  mprotect() and soft-dirty clear_refs hold the mmap lock for write
 * until their flush has completed, so that no fault can overlap them: they
 * must not mark at all.  UFFDIO_WRITEPROTECT marks every page table in
 * which it write-protects a PTE.
 */
static void shape_marks(const char *name, size_t mib, size_t calls)
{
	size_t len = mib << 20, c;
	enum cost_op op;
	char *a;
	int fd;

	/* The deferrals are the first three operations. */
	for (op = COST_MPROTECT; op <= COST_CLEAR_REFS; op++)
		if (!strcmp(name, cost_ops[op]))
			break;
	if (op > COST_CLEAR_REFS || !mib || !calls) {
		fprintf(stderr, "tpf-bench: marks: bad operation, size or calls '%s' %zu %zu\n",
			name, mib, calls);
		exit(2);
	}
	fd = uffd_open(false);
	a = map(len);
	if (op == COST_UFFD_WP)
		uffd_register(fd, a, len);
	touch_write(a, len / psize);
	for (c = 0; c < calls; c++)
		cost_defer(op, fd, a, len);
	printf("{\"shape\": \"marks\", \"op\": \"%s\", \"bytes\": %zu, \"calls\": %zu}\n",
	       name, len, calls);
	close(fd);
}

int main(int argc, char **argv)
{
	psize = getpagesize();
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 5 && !strcmp(argv[1], "cost")) {
		shape_cost(argv[2], strtoul(argv[3], NULL, 0),
			   strtoul(argv[4], NULL, 0));
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "push")) {
		push(strtol(argv[2], NULL, 0), strtoul(argv[3], NULL, 0));
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "marks")) {
		shape_marks(argv[2], strtoul(argv[3], NULL, 0),
			    strtoul(argv[4], NULL, 0));
		return 0;
	}
	if (argc != 2 || !strchr("abcdefghnpsvw", argv[1][0]) || !argv[1][0] || argv[1][1]) {
		fprintf(stderr, "usage: tpf-bench a|b|c|d|e|f|g|h|n|p|s|v|w\n"
			"       tpf-bench cost mprotect|uffd-wp|clear-refs|copy|copy-plain|thp-copy|\n"
			"                      migrate|pageout|numa-scan|numa-scan-thp MIB ROUNDS\n"
			"       tpf-bench marks mprotect|uffd-wp|clear-refs MIB CALLS\n"
			"       tpf-bench push PID SECONDS\n");
		return 2;
	}
	switch (argv[1][0]) {
	case 'a':
		shape_a();
		break;
	case 'b':
		shape_b();
		break;
	case 'c':
		shape_c();
		break;
	case 'd':
		shape_d();
		break;
	case 'e':
		shape_e();
		break;
	case 'f':
		shape_f();
		break;
	case 'g':
		shape_g();
		break;
	case 'h':
		shape_h();
		break;
	case 'n':
	case 'p':
		shape_np(argv[1][0]);
		break;
	case 's':
		shape_s();
		break;
	case 'v':
	case 'w':
		shape_w(argv[1][0] == 'v');
		break;
	}
	return 0;
}
