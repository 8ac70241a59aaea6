// SPDX-License-Identifier: GPL-2.0
/*
 * TLB pending filter: marking, reset, and the answer for PROT_NONE PTEs.
 * See Documentation/mm/tlb_pending_filter.rst.
 *
 * Invariant: while a CPU may still hold a TLB entry for address A that
 * grants more than A's PTE because a marking deferrer deferred its flush,
 * tlb_pending_filter_test(mm, A) under A's PTL returns true.
 *
 * A deferrer D of A's flush, and a faulting CPU F:
 *
 *	D: tlb_pending_filter_register()	users++, waits out a reset
 *	D: spin_lock(ptl(A)); set_pte_at(A); tlb_pending_filter_mark(A)
 *	   (lo = min(lo, A), hi = max(hi, A + 1), buckets |= bit(A));
 *	   spin_unlock(ptl(A))
 *	D: flush_tlb_range(A); tlb_pending_filter_unregister()
 *	F: spin_lock(ptl(A)); if (tlb_pending_filter_test(A)) flush
 *
 * 1. Mark vs. test: D's PTE write and its bucket and span stores precede
 *    its unlock of ptl(A); F tests after its lock of ptl(A).  If F sees
 *    D's PTE it sees those stores, or, where D skipped a store because the
 *    word already covered A, the store D observed (release is cumulative).
 * 2. No reset before D's flush has completed: only the unregistration
 *    that takes @users from 1 to 0 resets, and D unregisters after its
 *    flush_tlb_*() has returned.  As for dec_tlb_flush_pending(), it is
 *    the synchronous flush, not a barrier, that orders the invalidation
 *    before the RMW.
 * 3. No registration between "I am the last" and the reset: the decision
 *    is one cmpxchg of @users from 1 to TLB_PENDING_FILTER_CLEARING, and a
 *    registrant either increments first (the cmpxchg fails) or waits while
 *    CLEARING is set.  The reset runs with preemption disabled.
 * 4. Marks follow the reset that preceded their registration: the reset
 *    ends with a release store of @users = 0, read by the registrant's
 *    fully ordered cmpxchg or by a later one of the RMW chain.
 * 5. F's three loads are unordered.  Between resets each word only grows
 *    (bits set, lo lowered, hi raised) and holds D's values for A (1).  A
 *    value F reads that does not cover A was written by a reset, or after
 *    one, and a reset needs D's flush completed (2): so while D's flush is
 *    pending, every word F reads covers A.
 */

#include <linux/atomic.h>
#include <linux/hugetlb.h>
#include <linux/init.h>
#include <linux/jump_label.h>
#include <linux/kstrtox.h>
#include <linux/mm.h>
#include <linux/preempt.h>
#include <linux/tlb_pending_filter.h>
#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <asm/tlb.h>

DEFINE_STATIC_KEY_TRUE(tlb_pending_filter_on);

/* The OR of tlb_pending_filter_bit() over the pages of [@start, @end). */
VISIBLE_IF_KUNIT unsigned long
tlb_pending_filter_range_bits(unsigned long start, unsigned long end)
{
	unsigned long first = start >> PAGE_SHIFT;
	unsigned long pages = ((end - 1) >> PAGE_SHIFT) - first + 1;
	unsigned int shift = first % TLB_PENDING_FILTER_BUCKETS;
	unsigned long mask;

	if (pages >= TLB_PENDING_FILTER_BUCKETS)
		return ~0UL;

	mask = BIT(pages) - 1;
	if (!shift)
		return mask;
	return (mask << shift) | (mask >> (TLB_PENDING_FILTER_BUCKETS - shift));
}

/*
 * Move a bound of the span outwards to @val, racing deferrers under other
 * PTLs.  Relaxed: the caller's PTL release publishes it (point 1).
 */
static bool tlb_pending_filter_extend(atomic_long_t *bound, unsigned long val,
				      bool lower)
{
	long old = atomic_long_read(bound);
	bool rmw = false;

	while (lower ? (unsigned long)old > val : (unsigned long)old < val) {
		rmw = true;
		if (atomic_long_try_cmpxchg_relaxed(bound, &old, val))
			break;
	}
	return rmw;
}

/*
 * Add [@start, @end) to the buckets and the span, writing only what is not
 * there yet: nothing can reset it while the caller is registered.
 */
VISIBLE_IF_KUNIT bool
tlb_pending_filter_publish(struct mm_struct *mm, unsigned long start,
			   unsigned long end)
{
	struct tlb_pending_filter *filter = &mm->tlb_pending_filter;
	unsigned long bits = tlb_pending_filter_range_bits(start, end);
	bool rmw;

	rmw = tlb_pending_filter_extend(&filter->lo, start, true);
	rmw |= tlb_pending_filter_extend(&filter->hi, end, false);
	if ((atomic_long_read(&filter->buckets) & bits) != bits) {
		atomic_long_or(bits, &filter->buckets);
		rmw = true;
	}
	return rmw;
}

/**
 * tlb_pending_filter_register - count a deferrer before its first mark
 * @mm: the mm whose TLB flush will be deferred
 *
 * Waits out a reset (point 3), which runs with preemption disabled: may be
 * called under a PTL.  Fully ordered, for point 4.
 */
void tlb_pending_filter_register(struct mm_struct *mm)
{
	atomic_t *users = &mm->tlb_pending_filter.users;
	int old = atomic_read(users);

	do {
		while (unlikely(old & TLB_PENDING_FILTER_CLEARING)) {
			cpu_relax();
			old = atomic_read(users);
		}
	} while (!atomic_try_cmpxchg(users, &old, old + 1));
}

/**
 * tlb_pending_filter_mark - record PTEs whose flush is deferred
 * @mm: the mm whose flush is deferred
 * @deferrer: the deferring operation, zeroed before its first mark
 * @start: first address whose flush is deferred, in one page table
 * @end: address just past the last one; nothing happens if not above @start
 *
 * Call under the page-table lock of the range, after writing the PTEs.
 * Registers @deferrer at its first non-empty mark; pair with
 * tlb_pending_filter_finish() after the deferred flush.
 */
void tlb_pending_filter_mark(struct mm_struct *mm,
			     struct tlb_pending_deferrer *deferrer,
			     unsigned long start, unsigned long end)
{
	if (start >= end)
		return;
	if (!deferrer->registered) {
		tlb_pending_filter_register(mm);
		deferrer->registered = true;
	}
	tlb_pending_filter_publish(mm, start, end);
}

/* Only the unregistration that set CLEARING calls this (point 3). */
VISIBLE_IF_KUNIT void tlb_pending_filter_reset(struct tlb_pending_filter *filter)
{
	KUNIT_STATIC_STUB_REDIRECT(tlb_pending_filter_reset, filter);
	atomic_long_set(&filter->buckets, 0);
	atomic_long_set(&filter->lo, ULONG_MAX);
	atomic_long_set(&filter->hi, 0);
}

/**
 * tlb_pending_filter_unregister - drop a deferrer after its flush
 * @mm: the mm whose deferred TLB flush has completed
 *
 * Call only once the flush of every range the caller marked has completed
 * (point 2).  The last deferrer out resets the filter.
 */
void tlb_pending_filter_unregister(struct mm_struct *mm)
{
	struct tlb_pending_filter *filter = &mm->tlb_pending_filter;
	int old, new;

	preempt_disable();
	old = atomic_read(&filter->users);
	do {
		VM_WARN_ON_ONCE(old <= 0 || (old & TLB_PENDING_FILTER_CLEARING));
		new = old == 1 ? TLB_PENDING_FILTER_CLEARING : old - 1;
	} while (!atomic_try_cmpxchg(&filter->users, &old, new));

	if (new == TLB_PENDING_FILTER_CLEARING) {
		tlb_pending_filter_reset(filter);
		atomic_set_release(&filter->users, 0);	/* point 4 */
	}
	preempt_enable();
}

/**
 * tlb_pending_filter_assert_excluded - deferrals that need no mark
 * @deferrer: the deferring operation
 * @vma: the VMA whose PTEs lose a permission, their flush deferred
 *
 * For deferrers that hold the mmap lock for write and @vma write-locked
 * until their flush has completed: no fault can see those PTEs before,
 * so they are not marked.  With CONFIG_DEBUG_VM, checks the locks now, and
 * tlb_pending_filter_finish() checks the mmap lock again after the flush.
 */
void tlb_pending_filter_assert_excluded(struct tlb_pending_deferrer *deferrer,
					struct vm_area_struct *vma)
{
	if (!IS_ENABLED(CONFIG_DEBUG_VM))
		return;
	mmap_assert_write_locked(vma->vm_mm);
	vma_assert_write_locked(vma);
	deferrer->excluded = true;
}

/* The out-of-line part of tlb_pending_filter_finish(). */
void __tlb_pending_filter_finish(struct mm_struct *mm,
				 struct tlb_pending_deferrer *deferrer)
{
	if (deferrer->excluded) {
		mmap_assert_write_locked(mm);
		deferrer->excluded = false;
	}
	if (deferrer->registered) {
		tlb_pending_filter_unregister(mm);
		deferrer->registered = false;
	}
}

#ifdef CONFIG_ARCH_HAS_PTE_ACCESSIBLE_PROTNONE
/*
 * PROT_NONE PTEs.  pte_accessible() reports a PROT_NONE PTE as possibly
 * cached while any flush is pending in the mm, because NUMA hinting makes
 * valid PTEs PROT_NONE and defers their flush: if a migration of such a
 * PTE's folio did not flush, a CPU could keep writing the old folio through
 * its TLB entry after the copy.  In an accessible VMA that is not hugetlb,
 * the filter's answer suffices, for a caller holding the range's PTL:
 *
 * a. The hardware does not cache a PROT_NONE PTE: an entry for the address
 *    can only be left from the valid PTE it replaced, until a flush of the
 *    address completes.
 * b. Only change_protection() turns a valid PTE PROT_NONE with a deferred
 *    flush in such a VMA, and only for NUMA hinting and userfaultfd
 *    read-write protection, which mark (change_pte_range(), where
 *    CONFIG_DEBUG_VM checks this).  mprotect(PROT_NONE) writes the new
 *    vm_flags before any PTE, so whoever sees its PTEs under their PTL sees
 *    the VMA inaccessible and gets the mm-wide answer; mprotect() back from
 *    PROT_NONE holds the mmap lock for write, which the first one held until
 *    its flush completed.  PROT_NONE PTEs made without a valid predecessor
 *    (a migration entry restored from vm_page_prot while mprotect() runs)
 *    were never cached.  A split of a PROT_NONE huge PMD invalidates and
 *    flushes the PMD and builds its PTEs from vm_page_prot.
 * c. The mark is made under the PTL before the PTE is visible to us, and
 *    kept until the flush has completed (points 1 to 5); that flush also
 *    drops any older entry for the address.
 * d. vm_flags are read under the same PTL, after the PTE, so (b) holds.
 * Hugetlb PTEs and inaccessible VMAs, which rmap walkers without the mmap
 * lock can meet while mprotect()'s flush is pending, keep the mm-wide one.
 */
static bool tlb_pending_filter_test_range(struct mm_struct *mm,
					  unsigned long start,
					  unsigned long end)
{
	struct tlb_pending_filter *filter = &mm->tlb_pending_filter;

	/* Sound by point 5, for each address of the range. */
	return (atomic_long_read(&filter->buckets) &
		tlb_pending_filter_range_bits(start, end)) &&
	       (unsigned long)atomic_long_read(&filter->lo) < end &&
	       start < (unsigned long)atomic_long_read(&filter->hi);
}

/**
 * tlb_pending_filter_protnone - may PROT_NONE PTEs still be cached?
 * @vma: the VMA that maps [@start, @end)
 * @start: the address of the first PTE
 * @end: the address just past the last one, in the same page table
 *
 * For tlb_pending_pte_accessible(), once pte_accessible() has said yes to
 * a PROT_NONE PTE because some flush is pending in the mm.  Call with the
 * page-table lock of the range held.
 *
 * Return: false if the filter shows that no flush of the range can be
 * deferred, true otherwise.
 */
bool tlb_pending_filter_protnone(struct vm_area_struct *vma,
				 unsigned long start, unsigned long end)
{
	if (!static_branch_likely(&tlb_pending_filter_on) ||
	    !vma_is_accessible(vma) || is_vm_hugetlb_page(vma))
		return true;
	return tlb_pending_filter_test_range(vma->vm_mm, start, end);
}
#endif /* CONFIG_ARCH_HAS_PTE_ACCESSIBLE_PROTNONE */

/* tlb_pending_filter=off: every consumer asks mm_tlb_flush_pending(). */
static int __init tlb_pending_filter_setup(char *str)
{
	bool on;

	if (kstrtobool(str, &on))
		pr_warn("tlb_pending_filter=%s: expected on or off\n", str);
	else if (!on)
		static_branch_disable(&tlb_pending_filter_on);
	return 1;
}
__setup("tlb_pending_filter=", tlb_pending_filter_setup);
