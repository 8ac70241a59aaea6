// SPDX-License-Identifier: GPL-2.0
/*
 * TLB pending filter: registration and reset of the per-mm deferred-flush
 * Bloom filter.  The marking and testing sides are inline, see
 * include/linux/tlb_pending_filter.h.
 *
 * The invariant
 * =============
 *
 * No false negative: whenever some CPU may still hold a TLB entry for
 * address A that grants more than A's current PTE because a marking
 * deferrer (change_protection() for UFFDIO_WRITEPROTECT or NUMA hinting)
 * deferred its flush, tlb_pending_filter_test(mm, A), called under A's
 * PTL, returns true.  False positives only cost a flush_tlb_page().
 *
 * The deferrals that do not mark are outside it, each for a reason given
 * where it defers: mprotect() and soft-dirty exclude every fault until
 * they have flushed, THP write-protects are flushed by the split a copy
 * needs first, mapping_dirty_helpers only walks shared VMAs, where nothing
 * is copied.  Zaps (munmap(), MADV_DONTNEED) do not mark either: the
 * stale entry a zap leaves maps the page it unmapped, not a page a later
 * copy or migration reads, and a store through it races the zap, which
 * discards it anyway.  So a copy racing a zap of the same address does
 * not flush (tpf_wp_copy_racing_zap_of_same_address in the KUnit suite).
 *
 * The protocol
 * ============
 *
 * struct tlb_pending_filter holds the bucket word, the span [lo, hi) of
 * the marked addresses and @users, the number of registered deferrers, in
 * one naturally aligned block of four words so that all sit in one cache
 * line.  A deferrer D that will defer the flush of A:
 *
 *	tlb_pending_filter_register(mm)		users++, waits out a reset
 *	spin_lock(ptl(A))
 *	set_pte_at(A, ...)			drops a permission
 *	tlb_pending_filter_mark(mm, A, A + 1)	lo = min(lo, A),
 *						hi = max(hi, A + 1),
 *						buckets |= bit(A)
 *	spin_unlock(ptl(A))
 *	...
 *	flush_tlb_range(A)			completes the deferred flush
 *	tlb_pending_filter_unregister(mm)	users--; the last one out resets
 *
 * and a faulting CPU F:
 *
 *	spin_lock(ptl(A))
 *	if (tlb_pending_filter_test(mm, A))	reads buckets, lo, hi
 *		flush_tlb_page(A)
 *	spin_unlock(ptl(A))
 *
 * Why F cannot miss D's pending flush:
 *
 *  1. Mark vs. test.  D's PTE write, bucket OR and span updates come
 *     before D's unlock of ptl(A); F's test comes after its lock of
 *     ptl(A).  If F sees D's PTE (which is the only case in which it can
 *     act on it), the PTL release/acquire pair makes D's stores visible to
 *     F.  When D skips a store because the bits are already set or the
 *     span already covers A, the release is cumulative over the store D
 *     observed, so F sees that store instead.  As for
 *     mm_tlb_flush_pending(), this only holds for the PTL that covers the
 *     PTE in question, which is the only one that matters.
 *
 *  2. Nothing resets D's bucket before D's flush has completed: a reset
 *     before the flush would let a fault skip its flush while stale
 *     entries are still live.  The buckets are only reset by the deferrer whose
 *     unregistration takes @users from 1 to 0.  D is counted in @users from
 *     its registration until its unregistration, and D unregisters only
 *     after its flush_tlb_*() has returned.  As for dec_tlb_flush_pending(),
 *     a memory barrier does not order against TLB invalidation completion:
 *     it is the synchronous flush (IPIs acknowledged, or broadcast
 *     invalidation followed by its completion barrier) that orders the
 *     invalidation before the unregistering RMW.
 *
 *  3. No registration slips between "I am the last" and the reset, where
 *     the reset would wipe the marks of a deferrer that registered and
 *     marked in between.  The decision and the claim are one
 *     atomic_try_cmpxchg() of @users from 1 to
 *     TLB_PENDING_FILTER_CLEARING.  A registrant's increment either
 *     lands first (the cmpxchg fails, the last-but-one merely decrements) or
 *     finds CLEARING set and waits until the reset is over.  The resetter
 *     runs with preemption disabled for the two stores in between, so the
 *     wait is a handful of instructions.
 *
 *  4. Marks land after the reset that preceded their registration.  The
 *     resetter clears the buckets and empties the span, then release-stores
 *     @users = 0; a registrant's fully ordered cmpxchg reads that value, or
 *     a later one in the chain of fully ordered RMWs that followed it.  Its
 *     OR and its span updates are therefore ordered after the reset and
 *     cannot be wiped by it.
 *
 *  5. Three words, read separately.  F loads buckets, lo and hi with no
 *     ordering among them, and a reset and new marks may land in between.
 *     Take any D whose flush of A is still pending when F decides.  Between
 *     two resets each word only moves one way: bits are only set, lo only
 *     lowered and hi only raised (test before set, then an OR or a cmpxchg
 *     loop), and D's values for A are in each word by point 1.  So each
 *     value F reads either covers A for D, or comes from a reset, or from
 *     marks after one; a reset needs D unregistered (point 2), so D's flush
 *     had completed before the value F read was written, contradicting the
 *     choice of D.  Hence the bucket, lo and hi F reads all cover A: no
 *     false negative, whatever the order and the interleaving of the loads.
 *     A model of the protocol in Promela, checked with spin, makes the
 *     three loads separate steps and finds no false negative; it rejects
 *     the variant that extends the span after the unlock.
 *
 * Overlapping deferrers keep each other's buckets set until the last one
 * leaves: extra false positives, never worse than mm_tlb_flush_pending(),
 * which is raised for the same interval by every mmu_gather.
 */

#include <kunit/static_stub.h>
#include <kunit/visibility.h>
#include <linux/atomic.h>
#include <linux/init.h>
#include <linux/kstrtox.h>
#include <linux/mm_types.h>
#include <linux/mmdebug.h>
#include <linux/preempt.h>
#include <linux/processor.h>
#include <linux/sysctl.h>
#include <linux/tlb_pending_filter.h>
#include <asm/tlb.h>

#define CREATE_TRACE_POINTS
#include <trace/events/tlb_pending_filter.h>

/**
 * tlb_pending_filter_register - count a deferrer before its first mark
 * @mm: the mm whose TLB flush will be deferred
 *
 * Waits while the last deferrer of the previous round resets the buckets
 * (see the protocol above, point 3).  May be called with a page-table lock
 * held: the wait is bounded by a resetter running with preemption disabled.
 * Fully ordered: the caller's later marks are ordered after the reset.
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
 * tlb_pending_filter_mark - register lazily, then publish a range
 * @mm: the mm whose flush is deferred
 * @deferrer: the deferring operation, zero-initialised before its first mark
 * @start: first address whose flush is deferred, in one page table
 * @end: address just past the last one; nothing happens if not above @start
 *
 * Registers the caller at its first non-empty mark, so that operations
 * that end up deferring nothing (zaps, ranges with no present PTE) never
 * touch the filter.  Same locking rules as tlb_pending_filter_publish().
 * Pair with tlb_pending_filter_finish() after the deferred flush.
 */
void tlb_pending_filter_mark(struct mm_struct *mm,
			     struct tlb_pending_deferrer *deferrer,
			     unsigned long start, unsigned long end)
{
	bool atomic;

	if (start >= end)
		return;
	if (!deferrer->registered) {
		tlb_pending_filter_register(mm);
		deferrer->registered = true;
	}
	atomic = tlb_pending_filter_publish(mm, start, end);
	trace_tpf_mark(mm, start, end,
		       tlb_pending_filter_range_bits(start, end), atomic);
}

/*
 * Clear the buckets and empty the span.  Only called by the deferrer that
 * took @users from 1 to TLB_PENDING_FILTER_CLEARING: nobody is registered,
 * and nobody can register before @users is released.  KUnit redirects it to
 * run a registrant in that window
 * (tpf_no_registration_between_last_and_reset).
 */
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
 * Must be called only after the TLB flush that covers every bucket the
 * caller published has completed.  The last deferrer out resets the buckets;
 * see the protocol above, points 2 and 3.
 */
void tlb_pending_filter_unregister(struct mm_struct *mm)
{
	struct tlb_pending_filter *filter = &mm->tlb_pending_filter;
	int old, new;

	preempt_disable();
	old = atomic_read(&filter->users);
	do {
		/* The caller is registered: no reset can be under way. */
		VM_WARN_ON_ONCE(old <= 0 || (old & TLB_PENDING_FILTER_CLEARING));
		new = old == 1 ? TLB_PENDING_FILTER_CLEARING : old - 1;
	} while (!atomic_try_cmpxchg(&filter->users, &old, new));

	if (new == TLB_PENDING_FILTER_CLEARING) {
		unsigned long bits = atomic_long_read(&filter->buckets);
		unsigned long lo = atomic_long_read(&filter->lo);
		unsigned long hi = atomic_long_read(&filter->hi);

		tlb_pending_filter_reset(filter);
		/* Pairs with the registrant's cmpxchg, point 4 above. */
		atomic_set_release(&filter->users, 0);
		/* Not before: registrants spin on CLEARING meanwhile. */
		trace_tpf_reset(mm, bits, lo, hi);
	}
	preempt_enable();
}

#ifdef CONFIG_TLB_PENDING_FILTER_PROTNONE
/*
 * PROT_NONE PTEs: the consumer whose flush is needed
 * ==================================================
 *
 * change_prot_numa() makes the PTEs of a range PROT_NONE under the mmap
 * lock for read and flushes them at tlb_finish_mmu().  Meanwhile another
 * CPU may still write through a writable TLB entry for such a PTE, and a
 * hinting fault elsewhere may migrate the folio (do_numa_page() ->
 * migrate_misplaced_folio() -> try_to_migrate_one()).  If clearing the
 * PROT_NONE PTE did not flush, the writer would keep writing the old folio
 * after it was copied: a lost write, then writes into a freed page.  So
 * pte_accessible() reports a PROT_NONE PTE as cached while any flush is
 * pending in the mm (commit 20841405940e, "mm: fix TLB flush race between
 * migration, and change_protection_range").  That flush is necessary, but
 * mm_tlb_flush_pending() is raised by every mmu_gather of the mm: while a
 * munmap() or an MADV_DONTNEED runs anywhere in the process, every
 * migration, reclaim or compaction of a PROT_NONE PTE flushes, and on x86
 * a batched unmap turns that into an IPI to every CPU of the batch.
 *
 * tlb_pending_filter_protnone() asks the filter about the address instead,
 * but only where the filter is known to hold every deferral that can leave
 * a PROT_NONE PTE cached.  It has no mark for mprotect(PROT_NONE), nor for
 * hugetlb, and rmap walkers (kswapd, kcompactd, the THP shrinker,
 * writeback) take no mmap lock: they can meet the PTEs of an mprotect()
 * whose flush is still pending.  So the filter answers only for a VMA that
 * is accessible and not hugetlb; every other VMA gets the mm-wide answer.
 * Why the filter's answer is sound there (the caller holds the PTL of
 * @addr, as ptep_clear_flush() and the batched unmap do):
 *
 *  1. The hardware never caches a PTE that is not valid to it, and a
 *     PROT_NONE PTE is not.  A TLB entry for @addr can only be left from
 *     before the PTE became PROT_NONE, and only until a flush of @addr
 *     completes after that.
 *
 *  2. In an accessible VMA only NUMA hinting makes a valid PTE PROT_NONE
 *     (include/linux/pgtable.h says so above pte_protnone()).
 *     mprotect(PROT_NONE) writes the new vm_flags (mprotect_fixup(),
 *     vm_flags_reset()) before change_protection() writes any PTE under the
 *     PTL, so a walker that holds that PTL and sees such a PTE also sees
 *     the VMA inaccessible and takes the mm-wide answer.  Going the other
 *     way, mprotect() from PROT_NONE holds the mmap lock for write, which
 *     the mprotect() that made the PTEs PROT_NONE kept until its flush had
 *     completed.  change_pte_range() asserts the rule with CONFIG_DEBUG_VM.
 *     A split of a PROT_NONE huge PMD writes PROT_NONE PTEs only after
 *     pmdp_invalidate() has flushed the whole PMD range.
 *
 *  3. NUMA hinting's change of a valid PTE to PROT_NONE goes through
 *     tlb_flush_pte_range() (pte_needs_flush() holds for a valid PTE that
 *     becomes invalid), so change_pte_range() marks it under the PTL
 *     before the unlock (tlb_mark_deferred_range()), and the mark stays
 *     until the scanner's gather has flushed it (points 1 to 5 above).
 *
 *  4. The flush that completes the scanner's deferral also drops any older
 *     entry for @addr, whoever left it: a deferred write-protect of the
 *     page before NUMA hinting, or a zap whose stale entry maps the zapped
 *     page.  So once the mark is gone, no entry for @addr is left.
 *
 *  5. vm_flags are read here under the PTL of @addr, after the PTE that the
 *     caller cleared was read: point 2's ordering is that of the PTL.
 *
 * Hence: in an accessible VMA, a PROT_NONE PTE whose address the filter
 * does not hold cannot be cached.  The measurement modes of the runtime
 * switch apply here as in do_wp_page(): TPF_MODE_FILTER asks the filter,
 * TPF_MODE_NEVER (CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH only) never
 * flushes, and every other value takes the mm-wide answer.
 */

/**
 * tlb_pending_filter_protnone - may a PROT_NONE PTE still be cached?
 * @vma: the VMA that maps @addr
 * @addr: the user address of a PTE for which pte_protnone() is true
 *
 * The decision of tlb_pending_pte_accessible() for a PROT_NONE PTE: the
 * filter's answer for @addr in an accessible VMA that is not hugetlb (see
 * the argument above), mm_tlb_flush_pending() anywhere else.  Reports
 * which answer was used, what the mm-wide answer was and what it decided
 * in the tpf_protnone tracepoint.  Call with the page-table lock of @addr
 * held.
 *
 * Return: true if the caller must flush the TLB for @addr.
 */
bool tlb_pending_filter_protnone(struct vm_area_struct *vma,
				 unsigned long addr)
{
	struct mm_struct *mm = vma->vm_mm;
	bool pending = mm_tlb_flush_pending(mm);
	int answer = TPF_MODE_PENDING;
	bool flush = pending;

	if (vma_is_accessible(vma) && !is_vm_hugetlb_page(vma)) {
		answer = tlb_pending_filter_get_mode();
		switch (answer) {
		case TPF_MODE_FILTER:
			flush = tlb_pending_filter_test(mm, addr);
			break;
		case TPF_MODE_NEVER:
			if (IS_ENABLED(CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH)) {
				flush = false;
				break;
			}
			fallthrough;
		default:
			/* TPF_MODE_PENDING, TPF_MODE_MOVED: the mm-wide answer. */
			answer = TPF_MODE_PENDING;
			break;
		}
	}
	trace_tpf_protnone(mm, addr, answer, pending, flush);
	return flush;
}
#endif /* CONFIG_TLB_PENDING_FILTER_PROTNONE */

/*
 * The runtime switch, vm.tlb_pending_filter: an enum tlb_pending_filter_mode.
 * Deferrers mark in every mode, so that it may change at any time; only
 * do_wp_page() follows it, reading it once per fault
 * (tlb_pending_filter_get_mode()).  A plain word rather than a static key:
 * do_wp_page() reads it only in uffd-wp VMAs, where the kernel without the
 * filter reads mm->tlb_flush_pending at the same point, and a static key
 * would be read at two patch sites instead of once.
 */
int tlb_pending_filter_mode_word __read_mostly = TPF_MODE_FILTER;

/* The highest mode the sysctl and the boot parameter accept. */
static const int tlb_pending_filter_mode_max =
	IS_ENABLED(CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH) ? TPF_MODE_NEVER :
							      TPF_MODE_MOVED;

#if IS_ENABLED(CONFIG_KUNIT)
/* Out of line with KUnit: a static stub can change the mode mid-fault. */
int tlb_pending_filter_get_mode(void)
{
	KUNIT_STATIC_STUB_REDIRECT(tlb_pending_filter_get_mode);
	return READ_ONCE(tlb_pending_filter_mode_word);
}

/* Sets the mode as the sysctl does, for KUnit. */
void tlb_pending_filter_set_mode(int mode)
{
	WRITE_ONCE(tlb_pending_filter_mode_word, mode);
}
#endif

/* on, off and 0 to the highest mode built in. */
static int __init tlb_pending_filter_setup(char *str)
{
	bool on;
	int mode;

	if (!kstrtoint(str, 0, &mode) && mode >= 0 &&
	    mode <= tlb_pending_filter_mode_max) {
		tlb_pending_filter_mode_word = mode;
		return 1;
	}
	if (!kstrtobool(str, &on)) {
		tlb_pending_filter_mode_word = on ? TPF_MODE_FILTER :
						    TPF_MODE_PENDING;
		return 1;
	}
	pr_warn("tlb_pending_filter=%s: expected on, off or 0-%d\n", str,
		tlb_pending_filter_mode_max);
	return 0;
}
__setup("tlb_pending_filter=", tlb_pending_filter_setup);

static int tlb_pending_filter_sysctl(const struct ctl_table *table, int write,
				     void *buffer, size_t *lenp, loff_t *ppos)
{
	int mode = tlb_pending_filter_get_mode();
	struct ctl_table t = {
		.data = &mode,
		.maxlen = sizeof(mode),
		.extra1 = SYSCTL_ZERO,
		.extra2 = (void *)&tlb_pending_filter_mode_max,
	};
	int ret;

	/* Out of range or not a number: -EINVAL, and the mode is unchanged. */
	ret = proc_dointvec_minmax(&t, write, buffer, lenp, ppos);
	if (!ret && write) {
		if (mode == TPF_MODE_NEVER)
			pr_warn_once("vm.tlb_pending_filter=3: copies in uffd-wp VMAs no longer flush; user data can be lost\n");
		WRITE_ONCE(tlb_pending_filter_mode_word, mode);
	}
	return ret;
}

static struct ctl_table tlb_pending_filter_table[] = {
	{
		.procname	= "tlb_pending_filter",
		.maxlen		= sizeof(int),
		.mode		= 0644,
		.proc_handler	= tlb_pending_filter_sysctl,
	},
};

static int __init tlb_pending_filter_init_sysctl(void)
{
	register_sysctl_init("vm", tlb_pending_filter_table);
	return 0;
}
core_initcall(tlb_pending_filter_init_sysctl);
