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
 *    sets the bucket of every address whose flush it defers;
 *  - the fault path tests the bucket of its address under the same PTL;
 *  - the buckets are reset only by the last registered deferrer, after its
 *    flush has completed, when no deferred flush can be in flight.
 *
 * A set bucket may be shared by another address (a false positive costs one
 * flush_tlb_page()); a clear bucket for an address whose flush is deferred
 * (a false negative) can never be observed.  The argument is written next
 * to the code in mm/tlb_pending_filter.c.
 *
 * With CONFIG_TLB_PENDING_FILTER=n the deferrer side compiles away and
 * tlb_pending_filter_test() is mm_tlb_flush_pending(), as upstream.
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
			     unsigned long bits);
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
	atomic_set(&mm->tlb_pending_filter.users, 0);
}

/**
 * tlb_pending_filter_publish - set buckets in the mm's filter
 * @mm: the mm whose flush is deferred
 * @bits: buckets accumulated for one page table
 *
 * The caller must be registered (tlb_pending_filter_register()) and must
 * hold the page-table lock of the PTEs whose flush it defers, after having
 * written them: the unlock then orders PTE writes and buckets before any
 * fault path that takes the same lock and tests the filter.
 *
 * Buckets that are already set are not written again: no reset can happen
 * while the caller is registered, so once set they stay set until the
 * caller unregisters, and the PTL release is cumulative over the store that
 * set them.  A page table whose buckets are all set costs one load.
 *
 * Return: true if an atomic RMW was issued, false if every bit was set.
 */
static inline bool tlb_pending_filter_publish(struct mm_struct *mm,
					      unsigned long bits)
{
	atomic_long_t *buckets = &mm->tlb_pending_filter.buckets;

	if ((atomic_long_read(buckets) & bits) == bits)
		return false;
	atomic_long_or(bits, buckets);
	return true;
}

/**
 * tlb_pending_filter_finish - unregister after the deferred flush
 * @mm: the mm whose flush was deferred
 * @deferrer: the operation tlb_pending_filter_mark() may have registered
 *
 * Must only be called once the TLB flush covering every bucket published
 * for @deferrer has *completed*; see tlb_pending_filter_unregister().
 * Does nothing if @deferrer never marked anything.
 */
static inline void tlb_pending_filter_finish(struct mm_struct *mm,
					     struct tlb_pending_deferrer *deferrer)
{
	if (deferrer->registered) {
		tlb_pending_filter_unregister(mm);
		deferrer->registered = false;
	}
}

/**
 * enum tlb_pending_filter_mode - how do_wp_page() guards a copy
 * @TPF_MODE_UPSTREAM: flush if mm_tlb_flush_pending(), checked before the
 *	reuse decision, as without the filter (vm.tlb_pending_filter=0)
 * @TPF_MODE_FILTER: flush if the filter may hold the faulting address,
 *	checked just before the copy (1, the default)
 * @TPF_MODE_MOVED: flush if mm_tlb_flush_pending(), checked just before
 *	the copy: upstream's check at the filter's place, for measurements
 *	only (2)
 * @TPF_MODE_NEVER: never flush before a copy (3).  Can lose user data; only
 *	with CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH, for the lost-write
 *	torture.
 * @TPF_MODE_NONE: not a mode; do_wp_page() in a VMA without uffd-wp
 */
enum tlb_pending_filter_mode {
	TPF_MODE_UPSTREAM,
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
 * tlb_pending_filter_test - may a stale TLB entry exist for an address?
 * @mm: the faulting mm
 * @addr: the faulting address
 *
 * Must be called with the page-table lock of @addr held: its acquire pairs
 * with the deferrer's release of the same lock, so a PTE change we can see
 * comes with the bucket set for it.  One load of the filter word.
 *
 * Return: true if a flush of @addr may still be deferred (flush before
 * relying on the TLB), false if none can be.
 */
static inline bool tlb_pending_filter_test(struct mm_struct *mm,
					   unsigned long addr)
{
	return atomic_long_read(&mm->tlb_pending_filter.buckets) &
	       tlb_pending_filter_bit(addr);
}

#else /* !CONFIG_TLB_PENDING_FILTER */

static inline void tlb_pending_filter_init(struct mm_struct *mm)
{
}

static inline bool tlb_pending_filter_publish(struct mm_struct *mm,
					      unsigned long bits)
{
	return false;
}

static inline void tlb_pending_filter_mark(struct mm_struct *mm,
					   struct tlb_pending_deferrer *deferrer,
					   unsigned long bits)
{
}

static inline void tlb_pending_filter_finish(struct mm_struct *mm,
					     struct tlb_pending_deferrer *deferrer)
{
}

/* Without the filter, any pending flush in the mm counts, as upstream. */
static inline bool tlb_pending_filter_test(struct mm_struct *mm,
					   unsigned long addr)
{
	return mm_tlb_flush_pending(mm);
}

#endif /* CONFIG_TLB_PENDING_FILTER */

#endif /* _LINUX_TLB_PENDING_FILTER_H */
