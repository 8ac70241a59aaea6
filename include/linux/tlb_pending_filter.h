/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLB pending filter: a one-hash Bloom filter over the user addresses whose
 * TLB flush may still be deferred past the release of their page-table lock.
 *
 * A deferrer that a fault can overlap (UFFDIO_WRITEPROTECT, NUMA hinting)
 * registers, sets the bucket of every address whose flush it defers and
 * extends the span [lo, hi) over it, under the page-table lock and after
 * its PTE writes.  A fault tests the bucket and the span of its address
 * under the same lock.  Only the last deferrer out resets them, after its
 * flush has completed.  A set bucket or a wide span costs a needless flush;
 * a miss while a flush of the address is deferred cannot happen.  The
 * protocol and its proof are in mm/tlb_pending_filter.c, the design in
 * Documentation/mm/tlb_pending_filter.rst.
 */
#ifndef _LINUX_TLB_PENDING_FILTER_H
#define _LINUX_TLB_PENDING_FILTER_H

#include <linux/atomic.h>
#include <linux/bits.h>
#include <linux/jump_label.h>
#include <linux/mm_inline.h>
#include <linux/mm_types.h>

/* One bucket per bit of the filter word: 64 on 64-bit, 32 on 32-bit. */
#define TLB_PENDING_FILTER_BUCKETS	BITS_PER_LONG

/**
 * tlb_pending_filter_bucket - the bucket an address hashes to
 * @addr: user virtual address
 *
 * The page number modulo %TLB_PENDING_FILTER_BUCKETS: address bits 12-17
 * with 4 KiB pages on 64-bit.  Neighbouring pages never share a bucket.
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

/* In tlb_pending_filter.users while the last deferrer out resets. */
#define TLB_PENDING_FILTER_CLEARING	BIT(30)

DECLARE_STATIC_KEY_TRUE(tlb_pending_filter_on);

void tlb_pending_filter_register(struct mm_struct *mm);
void tlb_pending_filter_unregister(struct mm_struct *mm);
void tlb_pending_filter_mark(struct mm_struct *mm,
			     struct tlb_pending_deferrer *deferrer,
			     unsigned long start, unsigned long end);
void tlb_pending_filter_assert_excluded(struct tlb_pending_deferrer *deferrer,
					struct vm_area_struct *vma);
void __tlb_pending_filter_finish(struct mm_struct *mm,
				 struct tlb_pending_deferrer *deferrer);

#if IS_ENABLED(CONFIG_KUNIT)
unsigned long tlb_pending_filter_range_bits(unsigned long start,
					    unsigned long end);
bool tlb_pending_filter_publish(struct mm_struct *mm, unsigned long start,
				unsigned long end);
void tlb_pending_filter_reset(struct tlb_pending_filter *filter);
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
 * tlb_pending_filter_finish - end a deferral once its flush has completed
 * @mm: the mm whose flush was deferred
 * @deferrer: the operation that tlb_pending_filter_mark() may have
 *	registered, or that tlb_pending_filter_assert_excluded() vouched for
 *
 * Call only once the TLB flush covering everything @deferrer deferred has
 * completed.  Unregisters @deferrer if it marked anything.
 */
static inline void tlb_pending_filter_finish(struct mm_struct *mm,
					     struct tlb_pending_deferrer *deferrer)
{
	if (deferrer->registered || deferrer->excluded)
		__tlb_pending_filter_finish(mm, deferrer);
}

/**
 * tlb_pending_filter_test - may a flush of an address still be deferred?
 * @mm: the faulting mm
 * @addr: the faulting address
 *
 * Call with the page-table lock of @addr held: its acquisition pairs with
 * the deferrer's release of that lock after marking.  Three loads of one
 * cache line, in any order (mm/tlb_pending_filter.c, point 5).
 *
 * Return: true if a flush of @addr may still be deferred.
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
 * tlb_pending_flush_needed - must a fault flush before it relies on @addr?
 * @mm: the faulting mm
 * @addr: the faulting address
 *
 * The filter's answer, or mm_tlb_flush_pending() when the kernel was
 * booted with tlb_pending_filter=off.  Same locking as
 * tlb_pending_filter_test().
 *
 * Return: true if the caller must flush the TLB for @addr.
 */
static inline bool tlb_pending_flush_needed(struct mm_struct *mm,
					    unsigned long addr)
{
	if (!static_branch_likely(&tlb_pending_filter_on))
		return mm_tlb_flush_pending(mm);
	return tlb_pending_filter_test(mm, addr);
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

static inline bool tlb_pending_flush_needed(struct mm_struct *mm,
					    unsigned long addr)
{
	return mm_tlb_flush_pending(mm);
}

#endif /* CONFIG_TLB_PENDING_FILTER */

#endif /* _LINUX_TLB_PENDING_FILTER_H */
