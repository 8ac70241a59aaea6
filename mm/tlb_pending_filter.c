// SPDX-License-Identifier: GPL-2.0
/*
 * TLB pending filter: marking, reset, and the answer for PROT_NONE PTEs.
 * See Documentation/mm/tlb_pending_filter.rst.
 *
 * Invariant: while a CPU may still hold a TLB entry for address A that
 * grants more than A's PTE because a marking deferrer deferred its flush,
 * tlb_pending_filter_test(mm, A) under A's PTL returns true.
 *
 * A deferrer D of A's flush, registered in slot S, and a faulting CPU F:
 *
 *	D: tlb_pending_filter_register()	picks S, S.users++, waits out
 *						a reset of S
 *	D: spin_lock(ptl(A)); set_pte_at(A); tlb_pending_filter_mark(A)
 *	   (in S: lo = min(lo, A), hi = max(hi, A + 1), buckets |= bit(A));
 *	   spin_unlock(ptl(A))
 *	D: flush_tlb_range(A); tlb_pending_filter_unregister(S)
 *	F: spin_lock(ptl(A)); if (tlb_pending_filter_test(A)) flush
 *
 * Points 1 to 5 are about one slot, S; fields named alone are S's.
 *
 * 1. Mark vs. test: D's PTE write and its bucket and span stores precede
 *    its unlock of ptl(A); F tests after its lock of ptl(A).  If F sees
 *    D's PTE it sees those stores, or, where D skipped a store because the
 *    word already covered A, the store D observed (release is cumulative).
 * 2. No reset before D's flush has completed: only the unregistration
 *    that takes S's users from 1 to 0 resets S, and D unregisters from S
 *    after its flush_tlb_*() has returned.  As for dec_tlb_flush_pending(), it is
 *    the synchronous flush, not a barrier, that orders the invalidation
 *    before the RMW.
 * 3. No registration between "I am the last" and the reset: the decision
 *    is one cmpxchg of users from 1 to TLB_PENDING_FILTER_CLEARING, and a
 *    registrant either increments first (the cmpxchg fails), or waits
 *    while CLEARING is set, or, claiming S as free, fails its cmpxchg from
 *    0 to 1 and goes elsewhere.  The reset runs with preemption disabled.
 * 4. Marks follow the reset that preceded their registration: the reset
 *    ends with a release store of users = 0, read by the registrant's
 *    fully ordered cmpxchg (the claim's or the increment's) or by a later
 *    one of the RMW chain.
 * 5. F's loads are unordered.  Between resets each word of S only grows
 *    (bits set, lo lowered, hi raised) and holds D's values for A (1).  A
 *    value F reads that does not cover A was written by a reset, or after
 *    one, and a reset of S needs D's flush completed (2): so while D's
 *    flush is pending, every word of S that F reads covers A.
 * 6. Slots: F reads every slot and flushes if any covers A, so S alone
 *    answers for D whatever the other slots hold, provided D marks S only
 *    and leaves S only (@deferrer->slot, never recomputed), and no two
 *    claimants both take one free slot: the claim is one cmpxchg of users
 *    from 0 to 1, not a load and a store.
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
 * Add [@start, @end) to @slot's buckets and span, writing only what is not
 * there yet: nothing can reset the slot while the caller is registered in it.
 */
VISIBLE_IF_KUNIT bool
tlb_pending_filter_publish(struct tlb_pending_slot *slot, unsigned long start,
			   unsigned long end)
{
	unsigned long bits = tlb_pending_filter_range_bits(start, end);
	bool rmw;

	rmw = tlb_pending_filter_extend(&slot->lo, start, true);
	rmw |= tlb_pending_filter_extend(&slot->hi, end, false);
	if ((atomic_long_read(&slot->buckets) & bits) != bits) {
		atomic_long_or(bits, &slot->buckets);
		rmw = true;
	}
	return rmw;
}

/**
 * tlb_pending_filter_register - count a deferrer in a slot before it marks
 * @mm: the mm whose TLB flush will be deferred
 *
 * Claims the first free slot (point 6), so that overlapping deferrers keep
 * apart and each slot is reset as soon as its own deferrer leaves.  With
 * every slot in use, joins the slot of this CPU, waiting out a reset of it
 * (point 3), which runs with preemption disabled: may be called under a
 * PTL.  Fully ordered, for point 4.
 *
 * Return: the slot to mark and to unregister from.
 */
struct tlb_pending_slot *tlb_pending_filter_register(struct mm_struct *mm)
{
	struct tlb_pending_slot *slot = mm->tlb_pending_filter.slot;
	int i, old;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++) {
		old = 0;
		if (!atomic_read(&slot[i].users) &&
		    atomic_try_cmpxchg(&slot[i].users, &old, 1))
			return &slot[i];
	}

	/* Any slot is sound; the CPU's spreads the sharers. */
	slot += raw_smp_processor_id() % TLB_PENDING_FILTER_SLOTS;
	old = atomic_read(&slot->users);
	do {
		while (unlikely(old & TLB_PENDING_FILTER_CLEARING)) {
			cpu_relax();
			old = atomic_read(&slot->users);
		}
	} while (!atomic_try_cmpxchg(&slot->users, &old, old + 1));
	return slot;
}

/**
 * tlb_pending_filter_mark - record PTEs whose flush is deferred
 * @mm: the mm whose flush is deferred
 * @deferrer: the deferring operation, zeroed before its first mark
 * @start: first address whose flush is deferred, in one page table
 * @end: address just past the last one; nothing happens if not above @start
 *
 * Call under the page-table lock of the range, after writing the PTEs.
 * Registers @deferrer in a slot at its first non-empty mark, and marks that
 * slot only; pair with tlb_pending_filter_finish() after the deferred flush.
 */
void tlb_pending_filter_mark(struct mm_struct *mm,
			     struct tlb_pending_deferrer *deferrer,
			     unsigned long start, unsigned long end)
{
	if (start >= end)
		return;
	if (!deferrer->slot)
		deferrer->slot = tlb_pending_filter_register(mm);
	tlb_pending_filter_publish(deferrer->slot, start, end);
}

/* Only the unregistration that set CLEARING calls this (point 3). */
VISIBLE_IF_KUNIT void tlb_pending_filter_reset(struct tlb_pending_slot *slot)
{
	KUNIT_STATIC_STUB_REDIRECT(tlb_pending_filter_reset, slot);
	tlb_pending_slot_clear(slot);
}

/**
 * tlb_pending_filter_unregister - drop a deferrer from its slot after its flush
 * @slot: what tlb_pending_filter_register() returned
 *
 * Call only once the flush of every range the caller marked has completed
 * (point 2).  The last deferrer out of @slot resets it.
 */
void tlb_pending_filter_unregister(struct tlb_pending_slot *slot)
{
	int old, new;

	preempt_disable();
	old = atomic_read(&slot->users);
	do {
		VM_WARN_ON_ONCE(old <= 0 || (old & TLB_PENDING_FILTER_CLEARING));
		new = old == 1 ? TLB_PENDING_FILTER_CLEARING : old - 1;
	} while (!atomic_try_cmpxchg(&slot->users, &old, new));

	if (new == TLB_PENDING_FILTER_CLEARING) {
		tlb_pending_filter_reset(slot);
		atomic_set_release(&slot->users, 0);	/* point 4 */
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
	if (deferrer->slot) {
		tlb_pending_filter_unregister(deferrer->slot);
		deferrer->slot = NULL;
	}
}

#ifdef CONFIG_ARCH_HAS_PTE_ACCESSIBLE_PROTNONE
/*
 * Sound for every address of the range by points 5 and 6, given the rule of
 * Documentation/mm/tlb_pending_filter.rst ("PROT_NONE PTEs"): in an
 * accessible VMA that is not hugetlb, a valid PTE becomes PROT_NONE with its
 * flush deferred only through change_protection() for NUMA hinting or
 * userfaultfd read-write protection, and both mark.  The caller reads
 * vm_flags after the PTE, under the PTL, and mprotect(PROT_NONE) writes them
 * before its PTEs: whoever sees its PTEs sees the VMA inaccessible.
 */
static bool tlb_pending_filter_test_range(struct mm_struct *mm,
					  unsigned long start,
					  unsigned long end)
{
	return __tlb_pending_filter_test(mm,
					 tlb_pending_filter_range_bits(start, end),
					 start, end - 1);
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
