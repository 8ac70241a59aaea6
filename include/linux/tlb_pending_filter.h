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
#include <linux/jump_label.h>
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
/* Internals of mm/tlb_pending_filter.c, for its KUnit suite. */
unsigned long tlb_pending_filter_range_bits(unsigned long start,
					    unsigned long end);
bool tlb_pending_filter_publish(struct mm_struct *mm, unsigned long start,
				unsigned long end);
void tlb_pending_filter_reset(struct tlb_pending_filter *filter);
int tlb_pending_filter_set_mode(int mode);
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

/**
 * enum tlb_pending_filter_mode - how a consumer decides whether to flush
 * @TPF_MODE_PENDING: ask mm_tlb_flush_pending(), as without the filter;
 *	do_wp_page() asks before its reuse decision (tlb_pending_filter=off)
 * @TPF_MODE_FILTER: ask the filter about the address; do_wp_page() asks
 *	just before the copy (the default)
 * @TPF_MODE_MOVED: CONFIG_TLB_PENDING_FILTER_DEBUG only: ask
 *	mm_tlb_flush_pending() where the filter would be asked, to measure
 *	the filter apart from the place of the check
 * @TPF_MODE_NEVER: CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH only: never
 *	flush.  Loses user data; for the lost-write torture, which shows
 *	which flushes are needed.
 * @TPF_MODE_NONE: not a mode: do_wp_page() in a VMA without uffd-wp
 */
enum tlb_pending_filter_mode {
	TPF_MODE_PENDING,
	TPF_MODE_FILTER,
	TPF_MODE_MOVED,
	TPF_MODE_NEVER,
	TPF_MODE_NONE = -1,
};

#ifdef CONFIG_TLB_PENDING_FILTER_DEBUG
int tlb_pending_filter_get_mode(void);
#else
DECLARE_STATIC_KEY_TRUE(tlb_pending_filter_on);

/**
 * tlb_pending_filter_get_mode - the mode a consumer decides by, now
 *
 * %TPF_MODE_FILTER unless the kernel was booted with tlb_pending_filter=off.
 * A static key, so one patched jump.  With CONFIG_TLB_PENDING_FILTER_DEBUG
 * the mode is a word that debugfs can change at any time, read out of
 * line; either way do_wp_page() reads it once per fault and carries that
 * reading from its reuse decision to the copy, as two readings that
 * straddle a change could skip both checks.
 *
 * Return: an enum tlb_pending_filter_mode other than %TPF_MODE_NONE.
 */
static inline int tlb_pending_filter_get_mode(void)
{
	return static_branch_likely(&tlb_pending_filter_on) ? TPF_MODE_FILTER :
							     TPF_MODE_PENDING;
}
#endif

/**
 * tlb_pending_filter_answer - whose answer a mode takes
 * @mode: an enum tlb_pending_filter_mode, or any other value
 *
 * Return: %TPF_MODE_FILTER for the filter's answer, %TPF_MODE_NEVER for
 * "no flush" (only with CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH), and
 * %TPF_MODE_PENDING, mm_tlb_flush_pending(), for every other value: a mode
 * this kernel does not know flushes whenever any flush is pending.
 */
static inline int tlb_pending_filter_answer(int mode)
{
	if (mode == TPF_MODE_FILTER)
		return TPF_MODE_FILTER;
	if (IS_ENABLED(CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH) &&
	    mode == TPF_MODE_NEVER)
		return TPF_MODE_NEVER;
	return TPF_MODE_PENDING;
}

/**
 * tlb_pending_filter_decide - must a consumer flush for an address?
 * @mm: the mm
 * @addr: the address whose TLB entry the consumer is about to rely on
 * @answer: what tlb_pending_filter_answer() gave for the consumer's mode
 *
 * Same locking as tlb_pending_filter_test().
 *
 * Return: true if the consumer must flush the TLB for @addr.
 */
static inline bool tlb_pending_filter_decide(struct mm_struct *mm,
					     unsigned long addr, int answer)
{
	switch (answer) {
	case TPF_MODE_FILTER:
		return tlb_pending_filter_test(mm, addr);
	case TPF_MODE_NEVER:
		return false;
	default:
		return mm_tlb_flush_pending(mm);
	}
}

#else /* !CONFIG_TLB_PENDING_FILTER */

static inline void tlb_pending_filter_init(struct mm_struct *mm)
{
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
