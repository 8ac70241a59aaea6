/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLB pending filter: a one-hash Bloom filter over the user addresses whose
 * TLB flush has been deferred past the release of their page-table lock.
 *
 * Paths such as change_protection() write-protect PTEs under the PTL and
 * flush the TLB later.  Until that flush completes another CPU may still
 * write through a stale TLB entry, so a write fault that copies the page in
 * that window must flush first.  mm_tlb_flush_pending() answers "is any
 * flush pending anywhere in this mm?", which every mmu_gather raises,
 * zaps included.  The filter answers "may a flush be pending for this
 * address?" instead:
 *
 *  - a deferrer registers, then, under the PTL and after its PTE writes,
 *    sets the bucket of every address whose flush it defers and extends
 *    the span [lo, hi) over them;
 *  - the fault path tests the bucket and the span of its address under the
 *    same PTL;
 *  - buckets and span are reset only by the last registered deferrer, after
 *    its flush has completed, when no deferred flush can be in flight.
 *
 * A set bucket may be shared by another address, and the span may cover
 * addresses nobody marked (a false positive costs one flush_tlb_page()); a
 * clear bucket or a span that misses an address whose flush is deferred (a
 * false negative) can never be observed.  The argument is written next to
 * the code in mm/tlb_pending_filter.c.
 *
 * Only deferrals that a copy or a migration can overlap are marked: those
 * change_protection() makes under the mmap lock for read
 * (UFFDIO_WRITEPROTECT, NUMA hinting).  A deferrer that holds the mmap
 * lock for write and its VMAs write-locked until its flush has completed
 * (mprotect(), soft-dirty clear_refs) cannot be seen by any fault, and
 * only asserts so (tlb_pending_filter_assert_excluded());
 * mapping_dirty_helpers only write-protects shared VMAs, where
 * do_wp_page() never copies.
 *
 * With CONFIG_TLB_PENDING_FILTER=n the deferrer side compiles away and
 * tlb_pending_filter_test() is mm_tlb_flush_pending(), as without it.
 */
#ifndef _LINUX_TLB_PENDING_FILTER_H
#define _LINUX_TLB_PENDING_FILTER_H

#include <linux/bits.h>
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/mm_inline.h>

/* One bucket per bit of the filter word: 64 on 64-bit, 32 on 32-bit. */
#define TLB_PENDING_FILTER_BUCKETS	BITS_PER_LONG

/* All buckets set: what a range of TLB_PENDING_FILTER_BUCKETS pages sets. */
#define TLB_PENDING_FILTER_ALL		(~0UL)

/**
 * tlb_pending_filter_bucket - the bucket an address hashes to
 * @addr: user virtual address
 *
 * The hash is the page number modulo %TLB_PENDING_FILTER_BUCKETS: address
 * bits 12-17 with 4 KiB pages on 64-bit, 12-16 on 32-bit.  Neighbouring
 * pages never share a bucket; pages %TLB_PENDING_FILTER_BUCKETS pages apart
 * (256 KiB on 64-bit) always do.
 *
 * Return: the bucket index, below %TLB_PENDING_FILTER_BUCKETS.
 */
static inline unsigned int tlb_pending_filter_bucket(unsigned long addr)
{
	return (addr >> PAGE_SHIFT) % TLB_PENDING_FILTER_BUCKETS;
}

/**
 * tlb_pending_filter_bit - the filter bit of an address
 * @addr: user virtual address
 *
 * Return: a word with only the bit of tlb_pending_filter_bucket(@addr) set.
 */
static inline unsigned long tlb_pending_filter_bit(unsigned long addr)
{
	return BIT(tlb_pending_filter_bucket(addr));
}

/**
 * tlb_pending_filter_range_bits - the filter bits of an address range
 * @start: first address of the range
 * @end: address just past the range; must be greater than @start
 *
 * Every page that overlaps [@start, @end) contributes its bit.  A range of
 * %TLB_PENDING_FILTER_BUCKETS pages or more sets every bit, which is what a
 * huge PMD (512 pages) always does.
 *
 * Return: the OR of tlb_pending_filter_bit() over the pages of the range.
 */
static inline unsigned long
tlb_pending_filter_range_bits(unsigned long start, unsigned long end)
{
	unsigned long first = start >> PAGE_SHIFT;
	unsigned long pages = ((end - 1) >> PAGE_SHIFT) - first + 1;
	unsigned int shift = first % TLB_PENDING_FILTER_BUCKETS;
	unsigned long mask;

	if (pages >= TLB_PENDING_FILTER_BUCKETS)
		return TLB_PENDING_FILTER_ALL;

	/* @pages consecutive buckets starting at @shift, wrapping around. */
	mask = BIT(pages) - 1;
	if (!shift)
		return mask;
	return (mask << shift) | (mask >> (TLB_PENDING_FILTER_BUCKETS - shift));
}

#ifdef CONFIG_TLB_PENDING_FILTER

/*
 * tlb_pending_filter.users: number of registered deferrers in the low bits,
 * TLB_PENDING_FILTER_CLEARING while the last one out resets the buckets.
 */
#define TLB_PENDING_FILTER_CLEARING	BIT(30)

void tlb_pending_filter_register(struct mm_struct *mm);
void tlb_pending_filter_unregister(struct mm_struct *mm);
void tlb_pending_filter_mark(struct mm_struct *mm,
			     struct tlb_pending_deferrer *deferrer,
			     unsigned long start, unsigned long end);
#if IS_ENABLED(CONFIG_KUNIT)
void tlb_pending_filter_reset(struct tlb_pending_filter *filter);
void tlb_pending_filter_set_mode(int mode);
#endif

/**
 * tlb_pending_filter_init - start an mm with an empty filter
 * @mm: the mm being set up by mm_init()
 */
static inline void tlb_pending_filter_init(struct mm_struct *mm)
{
	atomic_long_set(&mm->tlb_pending_filter.buckets, 0);
	atomic_long_set(&mm->tlb_pending_filter.lo, ULONG_MAX);
	atomic_long_set(&mm->tlb_pending_filter.hi, 0);
	atomic_set(&mm->tlb_pending_filter.users, 0);
}

/*
 * Lower @lo to @start, or raise @hi to @end: test before set, so that a span
 * that already covers the range costs a load; otherwise a cmpxchg loop, as
 * deferrers under other page-table locks may move the same bound.  Between
 * two resets a bound only ever moves outwards.  Relaxed: the caller's PTL
 * release publishes the bound (see tlb_pending_filter_publish()).  Return
 * whether any cmpxchg was issued, failed ones included: a cmpxchg that
 * lost to another deferrer's wider bound still cost an atomic.
 */
static inline bool tlb_pending_filter_lower(atomic_long_t *lo,
					    unsigned long start)
{
	long old = atomic_long_read(lo);
	bool rmw = false;

	do {
		if ((unsigned long)old <= start)
			return rmw;
		rmw = true;
	} while (!atomic_long_try_cmpxchg_relaxed(lo, &old, start));
	return true;
}

static inline bool tlb_pending_filter_raise(atomic_long_t *hi,
					    unsigned long end)
{
	long old = atomic_long_read(hi);
	bool rmw = false;

	do {
		if ((unsigned long)old >= end)
			return rmw;
		rmw = true;
	} while (!atomic_long_try_cmpxchg_relaxed(hi, &old, end));
	return true;
}

/**
 * tlb_pending_filter_publish - add a range to the mm's filter
 * @mm: the mm whose flush is deferred
 * @start: first address of the PTEs whose flush is deferred, in one page
 *	table
 * @end: address just past them; greater than @start
 *
 * Sets the buckets of the range and extends the span over it.  The caller
 * must be registered (tlb_pending_filter_register()) and must hold the
 * page-table lock of the PTEs whose flush it defers, after having written
 * them: the unlock then orders PTE writes, buckets and span before any
 * fault path that takes the same lock and tests the filter.
 *
 * Buckets that are already set, and bounds that already cover the range,
 * are not written again: no reset can happen while the caller is
 * registered, so once there they stay until the caller unregisters, and
 * the PTL release is cumulative over the stores that put them there.  A
 * page table within the span whose buckets are all set costs three loads
 * of one cache line.
 *
 * Return: true if an atomic RMW was issued, false if the filter already
 * held the range.
 */
static inline bool tlb_pending_filter_publish(struct mm_struct *mm,
					      unsigned long start,
					      unsigned long end)
{
	struct tlb_pending_filter *filter = &mm->tlb_pending_filter;
	unsigned long bits = tlb_pending_filter_range_bits(start, end);
	bool atomic = false;

	if (tlb_pending_filter_lower(&filter->lo, start))
		atomic = true;
	if (tlb_pending_filter_raise(&filter->hi, end))
		atomic = true;
	if ((atomic_long_read(&filter->buckets) & bits) != bits) {
		atomic_long_or(bits, &filter->buckets);
		atomic = true;
	}
	return atomic;
}

/**
 * tlb_pending_filter_finish - unregister after the deferred flush
 * @mm: the mm whose flush was deferred
 * @deferrer: the operation tlb_pending_filter_mark() may have registered
 *
 * Must only be called once the TLB flush covering every bucket published
 * for @deferrer has *completed*; see tlb_pending_filter_unregister().
 * Does nothing if @deferrer never marked anything.  If @deferrer skipped
 * marks because faults were excluded, checks with CONFIG_DEBUG_VM that they
 * still are: the flush completed before the mmap lock was dropped.
 */
static inline void tlb_pending_filter_finish(struct mm_struct *mm,
					     struct tlb_pending_deferrer *deferrer)
{
	if (IS_ENABLED(CONFIG_DEBUG_VM) && deferrer->excluded) {
		mmap_assert_write_locked(mm);
		deferrer->excluded = false;
	}
	if (deferrer->registered) {
		tlb_pending_filter_unregister(mm);
		deferrer->registered = false;
	}
}

/**
 * enum tlb_pending_filter_mode - how do_wp_page() guards a copy
 * @TPF_MODE_PENDING: flush if mm_tlb_flush_pending(), checked before the
 *	reuse decision, as without the filter (vm.tlb_pending_filter=0)
 * @TPF_MODE_FILTER: flush if the filter may hold the faulting address,
 *	checked just before the copy (1, the default)
 * @TPF_MODE_MOVED: flush if mm_tlb_flush_pending(), checked just before
 *	the copy: the mm-wide check at the filter's place, for measurements
 *	only (2)
 * @TPF_MODE_NEVER: never flush before a copy (3).  Can lose user data; only
 *	with CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH, for the lost-write
 *	torture.
 * @TPF_MODE_NONE: not a mode; do_wp_page() in a VMA without uffd-wp
 */
enum tlb_pending_filter_mode {
	TPF_MODE_PENDING,
	TPF_MODE_FILTER,
	TPF_MODE_MOVED,
	TPF_MODE_NEVER,
	TPF_MODE_NONE = -1,
};

/* The mode of vm.tlb_pending_filter; read it with the function below. */
extern int tlb_pending_filter_mode_word;

#if IS_ENABLED(CONFIG_KUNIT)
/* Out of line with KUnit, see below. */
int tlb_pending_filter_get_mode(void);
#else
/**
 * tlb_pending_filter_get_mode - the mode of vm.tlb_pending_filter, now
 *
 * The mode may change at any time.  do_wp_page() reads it once per fault,
 * before its reuse decision, and carries that one reading to the copy:
 * combining two readings could skip both checks.  One load, inline; out of
 * line in kernels with KUnit, so that a test can change the mode between
 * the reading and the copy.  Any one value written by the sysctl or the
 * boot parameter will do: READ_ONCE() pairs with their WRITE_ONCE().
 *
 * Return: an enum tlb_pending_filter_mode other than %TPF_MODE_NONE.
 */
static inline int tlb_pending_filter_get_mode(void)
{
	return READ_ONCE(tlb_pending_filter_mode_word);
}
#endif

/**
 * tlb_pending_filter_assert_excluded - a deferral no fault can overlap
 * @deferrer: the deferring operation
 * @vma: the VMA whose PTEs lose a permission, their flush deferred
 *
 * A deferrer need not mark PTEs that no fault can look at before their
 * flush has completed: it holds the mmap lock for write and @vma
 * write-locked, so neither a fault under the mmap lock nor one under the
 * VMA lock can run in @vma, and it flushes before it drops them.
 *
 * With CONFIG_DEBUG_VM, checks both locks now (through lockdep when it is
 * enabled) and, when the deferrer ends with tlb_pending_filter_finish(),
 * that the mmap lock is still held after the flush.  Without it, compiles
 * to nothing (mmap_assert_write_locked() alone would not: it is a
 * WARN_ON_ONCE() when lockdep is off).
 */
static inline void
tlb_pending_filter_assert_excluded(struct tlb_pending_deferrer *deferrer,
				   struct vm_area_struct *vma)
{
	if (!IS_ENABLED(CONFIG_DEBUG_VM))
		return;
	mmap_assert_write_locked(vma->vm_mm);
	vma_assert_write_locked(vma);
	deferrer->excluded = true;
}

/**
 * tlb_pending_filter_test - may a stale TLB entry exist for an address?
 * @mm: the faulting mm
 * @addr: the faulting address
 *
 * Must be called with the page-table lock of @addr held: its acquire pairs
 * with the deferrer's release of the same lock, so a PTE change we can see
 * comes with the bucket set and the span extended for it.  Three loads of
 * one cache line, in any order: each value read either covers every mark
 * made before we took the lock, or was stored by a reset that came after
 * the flushes of those marks had completed (mm/tlb_pending_filter.c,
 * point 5).
 *
 * Return: true if a flush of @addr may still be deferred (flush before
 * relying on the TLB), false if none can be.
 */
static inline bool tlb_pending_filter_test(struct mm_struct *mm,
					   unsigned long addr)
{
	struct tlb_pending_filter *filter = &mm->tlb_pending_filter;

	return (atomic_long_read(&filter->buckets) &
		tlb_pending_filter_bit(addr)) &&
	       (unsigned long)atomic_long_read(&filter->lo) <= addr &&
	       addr < (unsigned long)atomic_long_read(&filter->hi);
}

#else /* !CONFIG_TLB_PENDING_FILTER */

static inline void tlb_pending_filter_init(struct mm_struct *mm)
{
}

static inline bool tlb_pending_filter_publish(struct mm_struct *mm,
					      unsigned long start,
					      unsigned long end)
{
	return false;
}

static inline void tlb_pending_filter_mark(struct mm_struct *mm,
					   struct tlb_pending_deferrer *deferrer,
					   unsigned long start, unsigned long end)
{
}

static inline void
tlb_pending_filter_assert_excluded(struct tlb_pending_deferrer *deferrer,
				   struct vm_area_struct *vma)
{
}

static inline void tlb_pending_filter_finish(struct mm_struct *mm,
					     struct tlb_pending_deferrer *deferrer)
{
}

/* Without the filter, any pending flush in the mm counts. */
static inline bool tlb_pending_filter_test(struct mm_struct *mm,
					   unsigned long addr)
{
	return mm_tlb_flush_pending(mm);
}

#endif /* CONFIG_TLB_PENDING_FILTER */

#endif /* _LINUX_TLB_PENDING_FILTER_H */
