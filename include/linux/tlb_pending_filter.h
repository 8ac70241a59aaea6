/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLB pending filter: a one-hash Bloom filter over the user addresses whose
 * TLB flush may still be deferred past the release of their page-table lock.
 *
 * A deferrer that a fault can overlap (UFFDIO_WRITEPROTECT, NUMA hinting)
 * registers in one of %TLB_PENDING_FILTER_SLOTS slots, each a filter of
 * its own, and there sets the bucket of every address whose flush it
 * defers and extends the span [lo, hi) over it, under the page-table lock
 * and after its PTE writes.  A fault tests the bucket and the span of its
 * address in every slot, under the same lock.  Only the last deferrer out
 * of a slot resets it, after its flush has completed.  A set bucket or a
 * wide span costs a needless flush; a miss while a flush of the address is
 * deferred cannot happen.  The protocol and its proof are in
 * mm/tlb_pending_filter.c, the design in
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

/* In a slot's users while the last deferrer out resets the slot. */
#define TLB_PENDING_FILTER_CLEARING	BIT(30)

DECLARE_STATIC_KEY_TRUE(tlb_pending_filter_on);

struct tlb_pending_slot *tlb_pending_filter_register(struct mm_struct *mm);
void tlb_pending_filter_unregister(struct tlb_pending_slot *slot);
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
bool tlb_pending_filter_publish(struct tlb_pending_slot *slot,
				unsigned long start, unsigned long end);
void tlb_pending_filter_reset(struct tlb_pending_slot *slot);
#endif

/**
 * tlb_pending_slot_clear - empty the buckets and the span of a slot
 * @slot: a slot of a new mm, or one being reset
 */
static inline void tlb_pending_slot_clear(struct tlb_pending_slot *slot)
{
	atomic_long_set(&slot->buckets, 0);
	atomic_long_set(&slot->lo, ULONG_MAX);
	atomic_long_set(&slot->hi, 0);
}

/**
 * tlb_pending_filter_init - start an mm with an empty filter
 * @mm: the mm being set up by mm_init()
 */
static inline void tlb_pending_filter_init(struct mm_struct *mm)
{
	int i;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++) {
		tlb_pending_slot_clear(&mm->tlb_pending_filter.slot[i]);
		atomic_set(&mm->tlb_pending_filter.slot[i].users, 0);
	}
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
	if (deferrer->slot || deferrer->excluded)
		__tlb_pending_filter_finish(mm, deferrer);
}

/**
 * __tlb_pending_filter_test - may a flush in [@first, @last] still be deferred?
 * @mm: the mm to ask
 * @bits: the OR of the filter bits of the pages from @first to @last
 * @first: the first address asked about
 * @last: the last address asked about, not below @first
 *
 * Call with the page-table lock of the addresses held: its acquisition
 * pairs with the deferrer's release of that lock after marking.  Up to
 * three loads per slot, all in one cache line, in any order
 * (mm/tlb_pending_filter.c, points 5 and 6).
 *
 * Return: true if any slot has one of @bits set and a span that meets
 * [@first, @last].
 */
static inline bool __tlb_pending_filter_test(struct mm_struct *mm,
					     unsigned long bits,
					     unsigned long first,
					     unsigned long last)
{
	struct tlb_pending_slot *slot = mm->tlb_pending_filter.slot;
	int i;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++, slot++) {
		if ((atomic_long_read(&slot->buckets) & bits) &&
		    (unsigned long)atomic_long_read(&slot->lo) <= last &&
		    first < (unsigned long)atomic_long_read(&slot->hi))
			return true;
	}
	return false;
}

/**
 * tlb_pending_filter_test - may a flush of an address still be deferred?
 * @mm: the faulting mm
 * @addr: the faulting address
 *
 * Call with the page-table lock of @addr held.
 *
 * Return: true if a flush of @addr may still be deferred.
 */
static inline bool tlb_pending_filter_test(struct mm_struct *mm,
					   unsigned long addr)
{
	return __tlb_pending_filter_test(mm, tlb_pending_filter_bit(addr),
					 addr, addr);
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
