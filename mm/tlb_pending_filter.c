// SPDX-License-Identifier: GPL-2.0
/*
 * TLB pending filter: marking, registration and reset of the per-mm
 * deferred-flush Bloom filter, its PROT_NONE answer and its switch.  The
 * testing side is inline, see include/linux/tlb_pending_filter.h.
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
#include <linux/debugfs.h>
#include <linux/init.h>
#include <linux/jump_label.h>
#include <linux/kstrtox.h>
#include <linux/mm_types.h>
#include <linux/mmdebug.h>
#include <linux/preempt.h>
#include <linux/processor.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/tlb_pending_filter.h>
#include <asm/tlb.h>

#define CREATE_TRACE_POINTS
#include <trace/events/tlb_pending_filter.h>

/*
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
VISIBLE_IF_KUNIT unsigned long
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

/*
 * Lower @lo to @start, or raise @hi to @end: test before set, so that a span
 * that already covers the range costs a load; otherwise a cmpxchg loop, as
 * deferrers under other page-table locks may move the same bound.  Between
 * two resets a bound only ever moves outwards.  Relaxed: the caller's PTL
 * release publishes the bound (see tlb_pending_filter_publish()).  Return
 * whether any cmpxchg was issued, failed ones included: a cmpxchg that
 * lost to another deferrer's wider bound still cost an atomic.
 */
static bool tlb_pending_filter_lower(atomic_long_t *lo, unsigned long start)
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

static bool tlb_pending_filter_raise(atomic_long_t *hi, unsigned long end)
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

/*
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
VISIBLE_IF_KUNIT bool
tlb_pending_filter_publish(struct mm_struct *mm, unsigned long start,
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
 * @addr, as the unmap and migration walks of mm/rmap.c do):
 *
 *  1. The hardware never caches a PTE that is not valid to it, and a
 *     PROT_NONE PTE is not.  A TLB entry for @addr can only be left from
 *     before the PTE became PROT_NONE, and only until a flush of @addr
 *     completes after that.
 *
 *  2. In an accessible VMA, only change_protection() callers that mark
 *     turn a valid PTE PROT_NONE with a deferred flush: NUMA hinting
 *     (MM_CP_PROT_NUMA) and, where the kernel has it, userfaultfd
 *     read-write protection (MM_CP_UFFD_RWP), both under the mmap lock
 *     for read.  mprotect(PROT_NONE) writes the new vm_flags
 *     (mprotect_fixup(), vm_flags_reset()) before change_protection()
 *     writes any PTE under the PTL, so a walker that holds that PTL and
 *     sees such a PTE also sees the VMA inaccessible and takes the
 *     mm-wide answer.  Going the other way, mprotect() from PROT_NONE
 *     holds the mmap lock for write, which the mprotect() that made the
 *     PTEs PROT_NONE kept until its flush had completed.  A PROT_NONE PTE
 *     that appears in an accessible VMA without a valid predecessor (a
 *     migration entry restored from vm_page_prot between vm_flags_reset()
 *     and vma_set_page_prot()) was never cached.  A split of a huge PMD
 *     builds its PTEs after pmdp_invalidate() has flushed the PMD range.
 *     change_pte_range() asserts the rule with CONFIG_DEBUG_VM.
 *
 *  3. A marking caller's change of a valid PTE to PROT_NONE goes through
 *     tlb_flush_pte_range() (pte_needs_flush() holds for a valid PTE that
 *     becomes invalid), so change_pte_range() marks it under the PTL
 *     before the unlock (tlb_mark_deferred_range()), and the mark stays
 *     until the caller's gather has flushed it (points 1 to 5 above).
 *
 *  4. The flush that completes that deferral also drops any older
 *     entry for @addr, whoever left it: a deferred write-protect of the
 *     page before NUMA hinting, or a zap whose stale entry maps the zapped
 *     page.  So once the mark is gone, no entry for @addr is left.
 *
 *  5. vm_flags are read here under the PTL of @addr, after the PTE that the
 *     caller cleared was read: point 2's ordering is that of the PTL.
 *
 * Hence: in an accessible VMA, a PROT_NONE PTE whose address the filter
 * does not hold cannot be cached.  The switch applies here as in
 * do_wp_page(), through tlb_pending_filter_answer(): tlb_pending_filter=off
 * takes the mm-wide answer, and so do the debug modes but the one that
 * never flushes.
 */

/*
 * tlb_pending_filter_test() over a range in one page table: true if a
 * flush of any address in [@start, @end) may still be deferred.  Sound by
 * the same argument (point 5): for each such address each word read
 * covers it, so the bucket word meets the range's bits, lo is below @end
 * and hi above @start.
 */
static bool tlb_pending_filter_test_range(struct mm_struct *mm,
					  unsigned long start,
					  unsigned long end)
{
	struct tlb_pending_filter *filter = &mm->tlb_pending_filter;

	return (atomic_long_read(&filter->buckets) &
		tlb_pending_filter_range_bits(start, end)) &&
	       (unsigned long)atomic_long_read(&filter->lo) < end &&
	       start < (unsigned long)atomic_long_read(&filter->hi);
}

/**
 * tlb_pending_filter_protnone - may PROT_NONE PTEs still be cached?
 * @vma: the VMA that maps [@start, @end)
 * @start: the user address of the first PTE, for which pte_protnone() is
 *	true
 * @end: the address just past the last one, in the same page table
 *
 * tlb_pending_pte_accessible() asks this for PROT_NONE PTEs that
 * pte_accessible() reports as cached because some flush is pending in the
 * mm: the filter's answer for the range in an accessible VMA that is not
 * hugetlb (see the argument above), mm_tlb_flush_pending() anywhere else.
 * Each answer alone is sound, so the caller flushes only if both say so.
 * Reports which answer was used, what the mm-wide answer was and what it
 * decided in the tpf_protnone tracepoint.  Call with the page-table lock
 * of the range held.
 *
 * Return: true if the caller must flush the TLB for [@start, @end).
 */
bool tlb_pending_filter_protnone(struct vm_area_struct *vma,
				 unsigned long start, unsigned long end)
{
	struct mm_struct *mm = vma->vm_mm;
	bool pending = mm_tlb_flush_pending(mm);
	int answer = TPF_MODE_PENDING;
	bool flush = pending;

	if (vma_is_accessible(vma) && !is_vm_hugetlb_page(vma)) {
		answer = tlb_pending_filter_answer(tlb_pending_filter_get_mode());
		if (answer == TPF_MODE_FILTER)
			flush = tlb_pending_filter_test_range(mm, start, end);
		else
			flush = tlb_pending_filter_decide(mm, start, answer);
	}
	trace_tpf_protnone(mm, start, answer, pending, flush);
	return flush;
}
#endif /* CONFIG_TLB_PENDING_FILTER_PROTNONE */

/*
 * The switch
 * ==========
 *
 * tlb_pending_filter=off on the command line makes every consumer take the
 * mm-wide answer, mm_tlb_flush_pending(), where the kernel without the
 * filter takes it.  Deferrers mark whatever the switch says: a mark costs
 * them little, and the filter stays sound if the mode changes under a
 * deferral, as it can with CONFIG_TLB_PENDING_FILTER_DEBUG, where
 * /sys/kernel/debug/tlb_pending_filter/mode switches between the modes of
 * enum tlb_pending_filter_mode at run time to compare them in one boot.
 */
#ifdef CONFIG_TLB_PENDING_FILTER_DEBUG
static int tlb_pending_filter_mode_word __read_mostly = TPF_MODE_FILTER;

/*
 * Out of line, so that KUnit can change the mode between do_wp_page()'s
 * reading and its copy.  READ_ONCE() pairs with the WRITE_ONCE() of
 * tlb_pending_filter_set_mode(): any one value written will do.
 */
int tlb_pending_filter_get_mode(void)
{
	KUNIT_STATIC_STUB_REDIRECT(tlb_pending_filter_get_mode);
	return READ_ONCE(tlb_pending_filter_mode_word);
}

/* Any value: KUnit writes one that is no mode, to see what it does. */
VISIBLE_IF_KUNIT int tlb_pending_filter_set_mode(int mode)
{
	WRITE_ONCE(tlb_pending_filter_mode_word, mode);
	return 0;
}
#else
DEFINE_STATIC_KEY_TRUE(tlb_pending_filter_on);

/* Only on and off without the debug modes, else -EINVAL.  May sleep. */
VISIBLE_IF_KUNIT int tlb_pending_filter_set_mode(int mode)
{
	if (mode == TPF_MODE_FILTER)
		static_branch_enable(&tlb_pending_filter_on);
	else if (mode == TPF_MODE_PENDING)
		static_branch_disable(&tlb_pending_filter_on);
	else
		return -EINVAL;
	return 0;
}
#endif

static int __init tlb_pending_filter_setup(char *str)
{
	bool on;

	if (kstrtobool(str, &on)) {
		pr_warn("tlb_pending_filter=%s: expected on or off\n", str);
		return 0;
	}
	tlb_pending_filter_set_mode(on ? TPF_MODE_FILTER : TPF_MODE_PENDING);
	return 1;
}
__setup("tlb_pending_filter=", tlb_pending_filter_setup);

#ifdef CONFIG_TLB_PENDING_FILTER_DEBUG
static const char * const tlb_pending_filter_mode_names[] = {
	[TPF_MODE_PENDING]	= "pending",
	[TPF_MODE_FILTER]	= "filter",
	[TPF_MODE_MOVED]	= "moved",
	[TPF_MODE_NEVER]	= "never",
};

/* The modes this kernel accepts: "never" only with the no-flush option. */
static int tlb_pending_filter_modes(void)
{
	return IS_ENABLED(CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH) ?
	       TPF_MODE_NEVER + 1 : TPF_MODE_NEVER;
}

/* "pending [filter] moved never": the current mode in brackets. */
static int tlb_pending_filter_mode_show(struct seq_file *m, void *v)
{
	int mode = tlb_pending_filter_get_mode();
	int i;

	for (i = 0; i < tlb_pending_filter_modes(); i++)
		seq_printf(m, i == mode ? "%s[%s]" : "%s%s", i ? " " : "",
			   tlb_pending_filter_mode_names[i]);
	seq_putc(m, '\n');
	return 0;
}

/* One of the names; anything else is -EINVAL and leaves the mode alone. */
static ssize_t tlb_pending_filter_mode_write(struct file *file,
					     const char __user *ubuf,
					     size_t count, loff_t *ppos)
{
	char buf[16];
	int mode;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	mode = __sysfs_match_string(tlb_pending_filter_mode_names,
				    tlb_pending_filter_modes(), buf);
	if (mode < 0)
		return mode;
	if (mode == TPF_MODE_NEVER)
		pr_warn_once("tlb_pending_filter: mode \"never\": deferred TLB flushes are no longer honoured; user data can be lost\n");
	tlb_pending_filter_set_mode(mode);
	return count;
}

static int tlb_pending_filter_mode_open(struct inode *inode, struct file *file)
{
	return single_open(file, tlb_pending_filter_mode_show, NULL);
}

static const struct file_operations tlb_pending_filter_mode_fops = {
	.owner		= THIS_MODULE,
	.open		= tlb_pending_filter_mode_open,
	.read		= seq_read,
	.write		= tlb_pending_filter_mode_write,
	.llseek		= seq_lseek,
	.release	= single_release,
};

static int __init tlb_pending_filter_debugfs_init(void)
{
	struct dentry *dir = debugfs_create_dir("tlb_pending_filter", NULL);

	debugfs_create_file("mode", 0644, dir, NULL,
			    &tlb_pending_filter_mode_fops);
	return 0;
}
late_initcall(tlb_pending_filter_debugfs_init);
#endif /* CONFIG_TLB_PENDING_FILTER_DEBUG */
