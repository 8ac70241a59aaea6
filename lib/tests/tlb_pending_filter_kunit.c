// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for the TLB pending filter (mm/tlb_pending_filter.c).
 *
 * The single-threaded cases check one behaviour each: hashing, marking,
 * registration in slots and reset.  The concurrent cases run deferrers and checkers
 * on every online CPU against a model of page tables with their own locks,
 * and fail on any false negative: an address whose deferred flush has not
 * completed while the filter, tested under that address's lock, says it
 * need not flush.  The PROT_NONE cases make PTEs PROT_NONE as NUMA
 * hinting, mprotect() and userfaultfd do, in the test thread's own mm, and
 * ask tlb_pending_pte_accessible() about them.
 */

#include <kunit/static_stub.h>
#include <kunit/test.h>
#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/log2.h>
#include <linux/mman.h>
#include <linux/pgtable.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/sched/sysctl.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/tlb_pending_filter.h>
#include <linux/uaccess.h>
#include <linux/userfaultfd_k.h>
#include <asm/tlb.h>

/* A user-looking address on 32-bit and 64-bit, whose page is bucket 0. */
#define TPF_BASE	((unsigned long)SZ_1G)
#define TPF_PAGE(n)	(TPF_BASE + (unsigned long)(n) * PAGE_SIZE)

KUNIT_DEFINE_ACTION_WRAPPER(tpf_mmput, mmput, struct mm_struct *);

static struct mm_struct *tpf_alloc_mm(struct kunit *test)
{
	struct mm_struct *mm = mm_alloc();

	KUNIT_ASSERT_NOT_NULL(test, mm);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, tpf_mmput, mm), 0);
	return mm;
}

static struct tlb_pending_slot *tpf_slot(struct mm_struct *mm, int i)
{
	return &mm->tlb_pending_filter.slot[i];
}

/* The slots together: buckets ORed, users summed, the widest span. */
static unsigned long tpf_buckets(struct mm_struct *mm)
{
	unsigned long bits = 0;
	int i;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		bits |= atomic_long_read(&tpf_slot(mm, i)->buckets);
	return bits;
}

static int tpf_users(struct mm_struct *mm)
{
	int i, users = 0;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		users += atomic_read(&tpf_slot(mm, i)->users);
	return users;
}

static unsigned long tpf_lo(struct mm_struct *mm)
{
	unsigned long lo = ULONG_MAX;
	int i;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		lo = min_t(unsigned long, lo,
			   atomic_long_read(&tpf_slot(mm, i)->lo));
	return lo;
}

static unsigned long tpf_hi(struct mm_struct *mm)
{
	unsigned long hi = 0;
	int i;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		hi = max_t(unsigned long, hi,
			   atomic_long_read(&tpf_slot(mm, i)->hi));
	return hi;
}

/* Which slot @d registered in, or -1. */
static int tpf_slot_of(struct mm_struct *mm, struct tlb_pending_deferrer *d)
{
	return d->slot ? d->slot - tpf_slot(mm, 0) : -1;
}

/* Register in every slot, so that the next registrant must share one. */
static void tpf_fill_slots(struct mm_struct *mm,
			   struct tlb_pending_slot **held)
{
	int i;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		held[i] = tlb_pending_filter_register(mm);
}

static void tpf_drain_slots(struct tlb_pending_slot **held)
{
	int i;

	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		if (held[i])
			tlb_pending_filter_unregister(held[i]);
}

/* Mark page @n for @d, as a deferrer of that one PTE does under its PTL. */
static void tpf_mark_page(struct mm_struct *mm, struct tlb_pending_deferrer *d,
			  long n)
{
	tlb_pending_filter_mark(mm, d, TPF_PAGE(n), TPF_PAGE(n + 1));
}

/* --- Hashing ------------------------------------------------------------ */

/*
 * One bucket per bit of a word, and the bucket is the address bits just
 * above the page offset: bits 12-17 with 4 KiB pages on 64-bit, 12-16 on
 * 32-bit.  Flipping any other address bit leaves the bucket alone.
 */
static void tpf_buckets_are_word_bits_above_page_offset(struct kunit *test)
{
	unsigned int lo = PAGE_SHIFT, hi = PAGE_SHIFT + ilog2(BITS_PER_LONG);
	unsigned long addr = TPF_PAGE(0x15) + 0x123;
	unsigned int b;

	KUNIT_EXPECT_EQ(test, TLB_PENDING_FILTER_BUCKETS, BITS_PER_LONG);
	KUNIT_EXPECT_TRUE(test, is_power_of_2(TLB_PENDING_FILTER_BUCKETS));
	KUNIT_EXPECT_EQ(test, hweight_long((~0UL)),
			TLB_PENDING_FILTER_BUCKETS);
	if (PAGE_SHIFT == 12) {
		KUNIT_EXPECT_EQ(test, lo, 12U);
		KUNIT_EXPECT_EQ(test, hi - 1, BITS_PER_LONG == 64 ? 17U : 16U);
	}
	for (b = 0; b < BITS_PER_LONG; b++) {
		bool hashed = b >= lo && b < hi;

		KUNIT_EXPECT_EQ_MSG(test,
				    tlb_pending_filter_bucket(addr ^ BIT(b)) !=
				    tlb_pending_filter_bucket(addr),
				    hashed, "address bit %u", b);
	}
}

static void tpf_bucket_is_page_number_modulo_buckets(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < 3 * TLB_PENDING_FILTER_BUCKETS; i++)
		KUNIT_EXPECT_EQ(test, tlb_pending_filter_bucket(TPF_PAGE(i)),
				i % TLB_PENDING_FILTER_BUCKETS);
}

static void tpf_bucket_ignores_offset_in_page(struct kunit *test)
{
	unsigned long addr = TPF_PAGE(5);

	KUNIT_EXPECT_EQ(test, tlb_pending_filter_bucket(addr + 1), 5U);
	KUNIT_EXPECT_EQ(test, tlb_pending_filter_bucket(addr + PAGE_SIZE / 2), 5U);
	KUNIT_EXPECT_EQ(test, tlb_pending_filter_bucket(addr + PAGE_SIZE - 1), 5U);
	KUNIT_EXPECT_EQ(test, tlb_pending_filter_bit(addr + 123), BIT(5));
}

static void tpf_bucket_aliases_one_filter_span_apart(struct kunit *test)
{
	unsigned long span = TLB_PENDING_FILTER_BUCKETS * PAGE_SIZE;
	unsigned int i;

	/* 256 KiB with 4 KiB pages on 64-bit, 128 KiB on 32-bit. */
	if (PAGE_SHIFT == 12)
		KUNIT_EXPECT_EQ(test, span,
				BITS_PER_LONG == 64 ? (unsigned long)SZ_256K :
						      (unsigned long)SZ_128K);

	for (i = 0; i < TLB_PENDING_FILTER_BUCKETS; i++) {
		unsigned long addr = TPF_PAGE(i);

		KUNIT_EXPECT_EQ(test, tlb_pending_filter_bucket(addr),
				tlb_pending_filter_bucket(addr + span));
		KUNIT_EXPECT_EQ(test, tlb_pending_filter_bucket(addr),
				tlb_pending_filter_bucket(addr + 7 * span));
	}
}

static void tpf_bucket_neighbours_do_not_alias(struct kunit *test)
{
	unsigned long seen = 0;
	unsigned int i;

	/* Any TLB_PENDING_FILTER_BUCKETS consecutive pages: all distinct. */
	for (i = 0; i < TLB_PENDING_FILTER_BUCKETS; i++) {
		unsigned long bit = tlb_pending_filter_bit(TPF_PAGE(i + 17));

		KUNIT_EXPECT_FALSE(test, seen & bit);
		seen |= bit;
	}
	KUNIT_EXPECT_EQ(test, seen, (~0UL));
}

static void tpf_range_bits_single_page(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, tlb_pending_filter_range_bits(TPF_PAGE(3),
							    TPF_PAGE(4)),
			BIT(3));
	/* A range of one byte still covers its whole page. */
	KUNIT_EXPECT_EQ(test, tlb_pending_filter_range_bits(TPF_PAGE(9) + 10,
							    TPF_PAGE(9) + 11),
			BIT(9));
}

static void tpf_range_bits_covers_partial_pages(struct kunit *test)
{
	/* Last byte of page 2 to first byte of page 4: pages 2, 3 and 4. */
	KUNIT_EXPECT_EQ(test,
			tlb_pending_filter_range_bits(TPF_PAGE(3) - 1,
						      TPF_PAGE(4) + 1),
			BIT(2) | BIT(3) | BIT(4));
}

static void tpf_range_bits_wraps_around(struct kunit *test)
{
	unsigned int last = TLB_PENDING_FILTER_BUCKETS - 1;

	KUNIT_EXPECT_EQ(test,
			tlb_pending_filter_range_bits(TPF_PAGE(last - 1),
						      TPF_PAGE(last + 3)),
			BIT(last - 1) | BIT(last) | BIT(0) | BIT(1));
}

static void tpf_range_bits_saturates(struct kunit *test)
{
	unsigned long n = TLB_PENDING_FILTER_BUCKETS;

	KUNIT_EXPECT_EQ(test, tlb_pending_filter_range_bits(TPF_PAGE(5),
							    TPF_PAGE(5 + n)),
			(~0UL));
	KUNIT_EXPECT_NE(test, tlb_pending_filter_range_bits(TPF_PAGE(5),
							    TPF_PAGE(4 + n)),
			(~0UL));
	/* What change_huge_pmd() marks. */
	KUNIT_EXPECT_EQ(test, tlb_pending_filter_range_bits(TPF_BASE,
							    TPF_BASE + SZ_2M),
			(~0UL));
}

static void tpf_range_bits_matches_bits(struct kunit *test)
{
	unsigned int i;

	for (i = 0; i < 2000; i++) {
		unsigned long start = TPF_BASE + get_random_u32_below(SZ_1M);
		unsigned long end = start + 1 + get_random_u32_below(SZ_512K);
		unsigned long addr, acc = 0;

		for (addr = start & PAGE_MASK; addr < end; addr += PAGE_SIZE)
			acc |= tlb_pending_filter_bit(addr);
		KUNIT_ASSERT_EQ_MSG(test,
				    tlb_pending_filter_range_bits(start, end),
				    acc, "range [%#lx, %#lx)", start, end);
	}
}

/* --- Marking, registration and reset ------------------------------------ */

static void tpf_new_mm_is_empty(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	unsigned int i;

	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), 0UL);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), ULONG_MAX);
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), 0UL);
	for (i = 0; i < TLB_PENDING_FILTER_BUCKETS; i++)
		KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(i)));
}

static void tpf_state_fits_one_cache_line(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	unsigned long first = (unsigned long)&mm->tlb_pending_filter;
	unsigned long last = first + sizeof(mm->tlb_pending_filter) - 1;

	KUNIT_EXPECT_EQ(test, first / L1_CACHE_BYTES, last / L1_CACHE_BYTES);
}

/*
 * Where the filter sits in struct mm_struct, and which cache line it shares
 * with the counters every mmu_gather and batched unmap writes: printed for
 * the reader, not asserted, as other fields may move.
 */
static void tpf_layout(struct kunit *test)
{
	size_t filter = offsetof(struct mm_struct, tlb_pending_filter);
	size_t pending = offsetof(struct mm_struct, tlb_flush_pending);

	kunit_info(test, "L1_CACHE_BYTES %d, tlb_flush_pending at %zu (line %zu), tlb_pending_filter at %zu-%zu (line %zu)\n",
		   L1_CACHE_BYTES, pending, pending / L1_CACHE_BYTES, filter,
		   filter + sizeof(struct tlb_pending_filter) - 1,
		   filter / L1_CACHE_BYTES);
#ifdef CONFIG_ARCH_WANT_BATCHED_UNMAP_TLB_FLUSH
	kunit_info(test, "tlb_flush_batched at %zu (line %zu)\n",
		   offsetof(struct mm_struct, tlb_flush_batched),
		   offsetof(struct mm_struct, tlb_flush_batched) / L1_CACHE_BYTES);
#endif
	KUNIT_EXPECT_GT(test, filter, pending);
}

static void tpf_test_true_after_mark(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_deferrer d = { };
	unsigned long alias;

	tpf_mark_page(mm, &d, 7);
	KUNIT_EXPECT_EQ(test, tpf_slot_of(mm, &d), 0);
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(7)));
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(7) + 99));
	/* Neighbours were not marked. */
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(6)));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(8)));

	/*
	 * Page 7 + 2 * BUCKETS marked too: the span now covers page
	 * 7 + BUCKETS, whose bucket is set: a false positive, by design.
	 */
	tpf_mark_page(mm, &d, 7 + 2 * TLB_PENDING_FILTER_BUCKETS);
	alias = TPF_PAGE(7 + TLB_PENDING_FILTER_BUCKETS);
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, alias));

	tlb_pending_filter_finish(mm, &d);
}

/* --- The span ----------------------------------------------------------- */

static void tpf_span_empty_after_reset(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_deferrer d = { };

	tpf_mark_page(mm, &d, 3);
	tpf_mark_page(mm, &d, 600);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(3));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(601));
	tlb_pending_filter_finish(mm, &d);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), ULONG_MAX);
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), 0UL);
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(3)));

	/* The next round's span is its own marks only. */
	tpf_mark_page(mm, &d, 40);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(40));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(41));
	tlb_pending_filter_finish(mm, &d);
}

static void tpf_span_grows_with_marks(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_slot *held[TLB_PENDING_FILTER_SLOTS];
	struct tlb_pending_deferrer a = { }, b = { };

	/* Every slot taken already: a and b share the holders' slots. */
	tpf_fill_slots(mm, held);
	tpf_mark_page(mm, &a, 100);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(100));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(101));
	/* Below: lo moves, hi stays; another deferrer shares the span. */
	tpf_mark_page(mm, &b, 50);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(50));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(101));
	/* A range above: hi moves to its end. */
	tlb_pending_filter_mark(mm, &a, TPF_PAGE(200), TPF_PAGE(210));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(210));
	/* Inside: nothing moves. */
	tpf_mark_page(mm, &b, 70);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(50));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(210));
	/* One deferrer leaving keeps the span whole. */
	tlb_pending_filter_finish(mm, &b);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(50));
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(50)));
	tlb_pending_filter_finish(mm, &a);
	tpf_drain_slots(held);
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), 0UL);
}

/*
 * The span is what the buckets alone cannot say: an address outside it
 * misses even when its bucket is set, on either side.
 */
static void tpf_span_outside_misses_with_bucket_set(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_deferrer d = { };
	long span = TLB_PENDING_FILTER_BUCKETS;

	tpf_mark_page(mm, &d, 5);
	tpf_mark_page(mm, &d, 6);
	KUNIT_EXPECT_TRUE(test, tpf_buckets(mm) & BIT(5));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(5 + span)));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(5 - span)));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(6 + 512)));
	/* Just past the end of the span: hi is exclusive. */
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(7)));
	/* Every bucket set, as a saturated range does: still bounded. */
	tlb_pending_filter_mark(mm, &d, TPF_PAGE(0), TPF_PAGE(span));
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), (~0UL));
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(span - 1)));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(span)));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(-1)));
	tlb_pending_filter_finish(mm, &d);
}

static void tpf_mark_registers_lazily_once(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_deferrer d = { };

	/* Nothing deferred (a zap, an empty range): the filter is untouched. */
	tlb_pending_filter_mark(mm, &d, TPF_PAGE(3), TPF_PAGE(3));
	KUNIT_EXPECT_NULL(test, d.slot);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), ULONG_MAX);

	tpf_mark_page(mm, &d, 1);
	KUNIT_EXPECT_PTR_EQ(test, d.slot, tpf_slot(mm, 0));
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 1);

	/* Later page tables of the same operation do not register again. */
	tpf_mark_page(mm, &d, 2);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 1);
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), BIT(1) | BIT(2));

	tlb_pending_filter_finish(mm, &d);
	KUNIT_EXPECT_NULL(test, d.slot);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);
}

static void tpf_finish_without_mark_is_noop(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_deferrer a = { }, b = { };

	tpf_mark_page(mm, &a, 4);
	/* b never marked: finishing it must not drop a's registration. */
	tlb_pending_filter_finish(mm, &b);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 1);
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(4)));
	tlb_pending_filter_finish(mm, &a);
}

/* tlb_pending_filter_publish() of pages [@from, @to) in @slot. */
static bool tpf_publish(struct tlb_pending_slot *slot, long from, long to)
{
	return tlb_pending_filter_publish(slot, TPF_PAGE(from), TPF_PAGE(to));
}

static void tpf_publish_one_atomic_skipped_when_set(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_slot *slot = tlb_pending_filter_register(mm);
	unsigned long table = GENMASK(9, 0);
	long span = TLB_PENDING_FILTER_BUCKETS;

	/* PTEs 0..9 of a page table: buckets 0..9, span [0, 10). */
	KUNIT_EXPECT_PTR_EQ(test, slot, tpf_slot(mm, 0));
	KUNIT_EXPECT_TRUE(test, tpf_publish(slot, 0, 10));
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), table);
	/* The same range, or a part of it: no atomic. */
	KUNIT_EXPECT_FALSE(test, tpf_publish(slot, 0, 10));
	KUNIT_EXPECT_FALSE(test, tpf_publish(slot, 3, 4));
	/* A new bucket past the span: one atomic for both, old bits kept. */
	KUNIT_EXPECT_TRUE(test, tpf_publish(slot, 20, 21));
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), table | BIT(20));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(21));
	/* A new bucket inside the span: the span stays. */
	KUNIT_EXPECT_TRUE(test, tpf_publish(slot, 15, 16));
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(0));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(21));
	/* Buckets set, span to extend on either side: an atomic each. */
	KUNIT_EXPECT_TRUE(test, tpf_publish(slot, span + 1, span + 2));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(span + 2));
	KUNIT_EXPECT_TRUE(test, tpf_publish(slot, -span, 1 - span));
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(-span));
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), table | BIT(20) | BIT(15));
	tlb_pending_filter_unregister(slot);
}

/*
 * tlb_mark_deferred_range(), what change_pte_range() calls once per page
 * table: the gather's range clipped to the walked range covers every PTE
 * handed to tlb_flush_pte_range() there, and is empty, so marks nothing,
 * when the walked range has none.  The span starts at the first PTE the
 * gather deferred, or at the walked range's start after that.
 */
static void tpf_gather_range_covers_deferred_ptes(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct mmu_gather tlb;

	tlb_gather_mmu(&tlb, mm);
	tlb_mark_deferred_range(&tlb, TPF_PAGE(0), TPF_PAGE(512));
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);

	/* One table, PTEs 515 and 520 deferred: buckets 3 to 8 exactly. */
	tlb_flush_pte_range(&tlb, TPF_PAGE(515), PAGE_SIZE);
	tlb_flush_pte_range(&tlb, TPF_PAGE(520), PAGE_SIZE);
	tlb_mark_deferred_range(&tlb, TPF_PAGE(512), TPF_PAGE(1024));
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 1);
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm),
			tlb_pending_filter_range_bits(TPF_PAGE(515), TPF_PAGE(521)));
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(515));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(521));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(514)));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(521)));

	/* The next table, PTE 1030 deferred: from the table's start on. */
	tlb_flush_pte_range(&tlb, TPF_PAGE(1030), PAGE_SIZE);
	tlb_mark_deferred_range(&tlb, TPF_PAGE(1024), TPF_PAGE(1536));
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(1030)));
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm),
			tlb_pending_filter_range_bits(TPF_PAGE(1024), TPF_PAGE(1033)));
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 1);
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(1031));

	/* A table past the gather's range: nothing more. */
	tlb_mark_deferred_range(&tlb, TPF_PAGE(1536), TPF_PAGE(2048));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(1545)));

	tlb_finish_mmu(&tlb);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), 0);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), ULONG_MAX);
}

/*
 * Two overlapping deferrers take a slot each, so the first one's marks go
 * as soon as it leaves, while the second's stay: the span of one no longer
 * covers what lies between them.  Leaving resets the leaver's own slot, not
 * a slot recomputed from the CPU, nor the other's.
 */
static void tpf_overlapping_deferrers_keep_apart(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_deferrer a = { }, b = { };
	unsigned long between;

	tpf_mark_page(mm, &a, 10);
	tpf_mark_page(mm, &b, 600);
	KUNIT_EXPECT_EQ(test, tpf_slot_of(mm, &a), 0);
	KUNIT_EXPECT_EQ(test, tpf_slot_of(mm, &b), 1);
	/* Between them, with a's bucket: each slot's span misses it. */
	between = TPF_PAGE(10 + TLB_PENDING_FILTER_BUCKETS);
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, between));

	/* b flushed and left; a's flush is still deferred. */
	tlb_pending_filter_finish(mm, &b);
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(10)));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(600)));
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), TPF_PAGE(11));

	/* b again: the free slot is b's old one; then a leaves. */
	tpf_mark_page(mm, &b, 601);
	KUNIT_EXPECT_EQ(test, tpf_slot_of(mm, &b), 1);
	tlb_pending_filter_finish(mm, &a);
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(10)));
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(601)));
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(601));
	tlb_pending_filter_finish(mm, &b);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);
}

/* Deferrers that share a slot: a's bucket lingers until the last leaves. */
static void tpf_buckets_survive_other_deferrer(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_slot *held[TLB_PENDING_FILTER_SLOTS];
	struct tlb_pending_deferrer a = { }, b = { };

	tpf_fill_slots(mm, held);
	migrate_disable();	/* the same CPU's slot for both */
	tpf_mark_page(mm, &a, 10);
	tpf_mark_page(mm, &b, 11);
	migrate_enable();
	KUNIT_ASSERT_PTR_EQ(test, a.slot, b.slot);
	tpf_drain_slots(held);

	/* a flushed and left; b's flush is still deferred. */
	tlb_pending_filter_finish(mm, &a);
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(11)));
	/* Only a false positive. */
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(10)));

	tlb_pending_filter_finish(mm, &b);
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(11)));
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);
}

/*
 * A claimant skips a slot in use or being reset (CLEARING), without
 * waiting; with no slot free it joins its CPU's.
 */
static void tpf_register_claims_a_free_slot(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_slot *held[TLB_PENDING_FILTER_SLOTS] = { };
	struct tlb_pending_slot *slot;

	atomic_set(&tpf_slot(mm, 0)->users, TLB_PENDING_FILTER_CLEARING);
	slot = tlb_pending_filter_register(mm);
	KUNIT_EXPECT_PTR_EQ(test, slot, tpf_slot(mm, 1));
	KUNIT_EXPECT_EQ(test, atomic_read(&slot->users), 1);
	atomic_set_release(&tpf_slot(mm, 0)->users, 0);
	held[1] = slot;
	held[0] = tlb_pending_filter_register(mm);
	KUNIT_EXPECT_PTR_EQ(test, held[0], tpf_slot(mm, 0));

	/* Every slot taken: a third shares one. */
	slot = tlb_pending_filter_register(mm);
	KUNIT_EXPECT_EQ(test, atomic_read(&slot->users), 2);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 3);
	tlb_pending_filter_unregister(slot);
	tpf_drain_slots(held);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);
}

static void tpf_registered_deferrer_without_marks_keeps_buckets(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_slot *held[TLB_PENDING_FILTER_SLOTS];
	struct tlb_pending_deferrer a = { };
	struct tlb_pending_slot *slot;
	int i;

	/*
	 * Deferrers registered before marking (they hold a PTL and are about
	 * to publish) must keep their slot from being reset: a joins one.
	 */
	tpf_fill_slots(mm, held);
	tpf_mark_page(mm, &a, 12);
	slot = a.slot;
	tlb_pending_filter_finish(mm, &a);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&slot->buckets), BIT(12));
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(12)));
	KUNIT_EXPECT_EQ(test, atomic_read(&slot->users), 1);
	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		if (held[i] == slot)
			tlb_pending_filter_unregister(held[i]);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&slot->buckets), 0UL);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&slot->hi), 0UL);
	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		if (held[i] != slot)
			tlb_pending_filter_unregister(held[i]);
}

/* Each slot is reset by its own last deferrer out, and only then. */
static void tpf_reset_when_last_leaves(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_deferrer reg[5] = { };
	unsigned int i;
	int s;

	for (i = 0; i < ARRAY_SIZE(reg); i++) {
		tpf_mark_page(mm, &reg[i], i);
		tpf_mark_page(mm, &reg[i], 20);
	}
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), GENMASK(4, 0) | BIT(20));
	for (i = 0; i < ARRAY_SIZE(reg); i++) {
		struct tlb_pending_slot *slot = reg[i].slot;
		unsigned int j;
		bool last = true;

		for (j = i + 1; j < ARRAY_SIZE(reg); j++)
			last &= reg[j].slot != slot;
		tlb_pending_filter_finish(mm, &reg[i]);
		KUNIT_EXPECT_EQ_MSG(test, atomic_long_read(&slot->buckets) == 0,
				    last, "deferrer %u", i);
		KUNIT_EXPECT_EQ(test, atomic_long_read(&slot->lo) == ULONG_MAX,
				last);
		/* The marks of those still registered stay. */
		for (j = i + 1; j < ARRAY_SIZE(reg); j++)
			KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(j)));
	}
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), 0UL);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 0);
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), ULONG_MAX);
	KUNIT_EXPECT_EQ(test, tpf_hi(mm), 0UL);

	/* The next round starts from empty slots. */
	tpf_mark_page(mm, &reg[0], 30);
	KUNIT_EXPECT_EQ(test, tpf_buckets(mm), BIT(30));
	KUNIT_EXPECT_EQ(test, tpf_lo(mm), TPF_PAGE(30));
	tlb_pending_filter_finish(mm, &reg[0]);
	for (s = 0; s < TLB_PENDING_FILTER_SLOTS; s++)
		KUNIT_EXPECT_EQ(test, atomic_read(&tpf_slot(mm, s)->users), 0);
}

/* --- Concurrency -------------------------------------------------------- */

static bool tpf_need_smp(struct kunit *test)
{
	unsigned int cpus = num_online_cpus();

	if (cpus >= 2)
		return true;
	KUNIT_FAIL(test,
		   "%u CPU online: concurrency needs >= 2 (CONFIG_SMP=y, CONFIG_NR_CPUS >= 2, qemu -smp >= 2)",
		   cpus);
	return false;
}

struct tpf_register_waiter {
	struct mm_struct *mm;
	struct completion started;
	struct tlb_pending_slot *slot;
	atomic_t done;
};

static int tpf_register_waiter_fn(void *data)
{
	struct tpf_register_waiter *w = data;

	complete(&w->started);
	w->slot = tlb_pending_filter_register(w->mm);
	atomic_set_release(&w->done, 1);
	return 0;
}

static void tpf_register_waits_for_reset(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tpf_register_waiter w = { .mm = mm };
	struct task_struct *task;
	unsigned int i;

	if (!tpf_need_smp(test))
		return;

	/* Freeze every slot in the middle of a reset... */
	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		atomic_set(&tpf_slot(mm, i)->users, TLB_PENDING_FILTER_CLEARING);
	init_completion(&w.started);
	task = kthread_run(tpf_register_waiter_fn, &w, "tpf-register");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	wait_for_completion(&w.started);

	/* ...and a registrant must not get in until it is over. */
	for (i = 0; i < 10; i++) {
		msleep(20);
		KUNIT_EXPECT_EQ(test, atomic_read(&w.done), 0);
	}
	for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++)
		atomic_set_release(&tpf_slot(mm, i)->users, 0);
	while (!atomic_read_acquire(&w.done))
		usleep_range(100, 200);
	KUNIT_EXPECT_EQ(test, tpf_users(mm), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&w.slot->users), 1);
	tlb_pending_filter_unregister(w.slot);
}

/*
 * Trap 2: the last deferrer out of a slot decides to reset it, and a new
 * deferrer registers there and marks before the reset lands.  Its mark
 * would be wiped while its flush is pending.  With every other slot taken,
 * run a registrant, on a CPU whose fallback slot is the one being reset,
 * inside the reset itself (the window after the decision), and check that
 * it could not get in there, and that its mark is set once it did get in.
 */
struct tpf_late_registrant {
	struct mm_struct *mm;
	struct task_struct *task;
	struct tlb_pending_deferrer deferrer;
	atomic_t state;			/* 1 started, 2 registered and marked */
	bool got_in_during_reset;
};

static struct tpf_late_registrant *tpf_late;

static int tpf_late_registrant_fn(void *data)
{
	struct tpf_late_registrant *r = data;

	atomic_set(&r->state, 1);
	tpf_mark_page(r->mm, &r->deferrer, 13);
	atomic_set_release(&r->state, 2);
	return 0;
}

static void tpf_reset_with_registrant(struct tlb_pending_slot *slot)
{
	struct tpf_late_registrant *r = tpf_late;
	unsigned int ms;

	/* Preemption is off here: poll for up to 200 ms. */
	wake_up_process(r->task);
	for (ms = 0; ms < 200 && atomic_read_acquire(&r->state) != 2; ms++)
		mdelay(1);
	r->got_in_during_reset = atomic_read(&r->state) == 2;
	/* What tlb_pending_filter_reset() does. */
	tlb_pending_slot_clear(slot);
}

static void tpf_no_registration_between_last_and_reset(struct kunit *test)
{
	struct mm_struct *mm = tpf_alloc_mm(test);
	struct tlb_pending_slot *held[TLB_PENDING_FILTER_SLOTS];
	struct tpf_late_registrant r = { .mm = mm };
	struct tlb_pending_deferrer last = { };
	unsigned int ms, cpu;
	int s;

	if (!tpf_need_smp(test))
		return;

	/* The registrant must run on another CPU while we spin in the reset. */
	migrate_disable();
	r.task = kthread_create(tpf_late_registrant_fn, &r, "tpf-late");
	if (IS_ERR(r.task)) {
		migrate_enable();
		KUNIT_FAIL(test, "kthread_create: %ld", PTR_ERR(r.task));
		return;
	}
	cpu = cpumask_any_but(cpu_online_mask, smp_processor_id());
	kthread_bind(r.task, cpu);
	tpf_late = &r;

	/* last takes the slot the registrant's CPU falls back to. */
	s = cpu % TLB_PENDING_FILTER_SLOTS;
	tpf_fill_slots(mm, held);
	tlb_pending_filter_unregister(held[s]);
	held[s] = NULL;
	tpf_mark_page(mm, &last, 12);
	KUNIT_EXPECT_EQ(test, tpf_slot_of(mm, &last), s);
	kunit_activate_static_stub(test, tlb_pending_filter_reset,
				   tpf_reset_with_registrant);
	tlb_pending_filter_finish(mm, &last);
	kunit_deactivate_static_stub(test, tlb_pending_filter_reset);
	migrate_enable();

	for (ms = 0; ms < 5000 && atomic_read_acquire(&r.state) != 2; ms++)
		usleep_range(1000, 2000);
	KUNIT_ASSERT_EQ_MSG(test, atomic_read(&r.state), 2,
			    "the late registrant never got in");
	KUNIT_EXPECT_FALSE_MSG(test, r.got_in_during_reset,
			       "a deferrer registered between the last one out and the reset");
	KUNIT_EXPECT_EQ(test, tpf_slot_of(mm, &r.deferrer), s);
	KUNIT_EXPECT_TRUE(test, tlb_pending_filter_test(mm, TPF_PAGE(13)));
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(mm, TPF_PAGE(12)));
	KUNIT_EXPECT_EQ(test, atomic_read(&tpf_slot(mm, s)->users), 1);
	tlb_pending_filter_finish(mm, &r.deferrer);
	tpf_drain_slots(held);
}

/*
 * The stress model: p->tables page tables of TPF_TABLE_PAGES PTEs, each
 * with its own lock standing in for the PTL.  pending[] counts, per page,
 * the operations that changed that PTE and have not completed their flush.
 *
 * One worker per CPU.  Each keeps up to TPF_MAX_OPEN deferring operations
 * open at once, so that deferrers overlap in every order even on one CPU,
 * and at random starts one (registers lazily, changes PTEs and marks under
 * the PTL), completes one (flush done, then unregister) or checks a page.
 * A check that finds a page with a pending flush and a clear bucket is a
 * false negative and fails the test.
 */
#define TPF_TABLE_PAGES		512
#define TPF_MAX_OPEN		4
#define TPF_MAX_MARKS		96
#define TPF_MAX_WORKERS		64
#define TPF_MIN_OPS		100000	/* per case: starts, completions, checks */

struct tpf_stress_params {
	const char *name;
	unsigned int tables;
	unsigned int window;	/* pages used in each table */
	unsigned int max_marks;	/* pages an operation changes per table */
};

static const struct tpf_stress_params tpf_stress_cases[] = {
	/* Scattered single PTEs across two tables: buckets vary, resets often. */
	{ "scattered", 2, TPF_TABLE_PAGES, 4 },
	/* Every operation on the same few pages: last-one-out races. */
	{ "hot", 1, 3, 1 },
	/* Large and small ranges mixed: buckets saturate and reset. */
	{ "ranges", 4, 128, TPF_MAX_MARKS },
};

static void tpf_stress_desc(const struct tpf_stress_params *p, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "%s", p->name);
}

KUNIT_ARRAY_PARAM(tpf_stress, tpf_stress_cases, tpf_stress_desc);

/* One deferring operation: an mprotect() or UFFDIO_WRITEPROTECT call. */
struct tpf_op {
	struct tlb_pending_deferrer deferrer;
	unsigned int nr;
	u16 changed[2 * TPF_MAX_MARKS];
};

struct tpf_stress {
	const struct tpf_stress_params *p;
	struct mm_struct *mm;
	spinlock_t *ptl;		/* one per page table, the "PTL" */
	atomic_t *pending;
	unsigned int nr_workers;
	struct tpf_op *open_ops;	/* TPF_MAX_OPEN per worker */
	atomic_t next_id;
	atomic_t workers_left;
	struct completion all_done;
	/* The last page each worker changed, where checks look half the time. */
	unsigned int recent[TPF_MAX_WORKERS];
	atomic_long_t ops;
	atomic_long_t armed_checks;	/* checks that found a pending flush */
	atomic_long_t false_negatives;
	unsigned long bad_addr;
};

static unsigned long tpf_stress_addr(unsigned int idx)
{
	return TPF_BASE + (unsigned long)(idx / TPF_TABLE_PAGES) * SZ_2M +
	       (unsigned long)(idx % TPF_TABLE_PAGES) * PAGE_SIZE;
}

static void tpf_op_start(struct tpf_stress *s, unsigned int id,
			 struct tpf_op *op)
{
	const struct tpf_stress_params *p = s->p;
	unsigned int ntables = p->tables > 1 ? 1 + get_random_u32_below(2) : 1;
	unsigned int table = get_random_u32_below(p->tables);
	unsigned int t, i;

	op->nr = 0;
	for (t = 0; t < ntables; t++, table = (table + 1) % p->tables) {
		unsigned int first = get_random_u32_below(p->window);
		unsigned int nr = 1 + get_random_u32_below(p->max_marks);
		unsigned int base = table * TPF_TABLE_PAGES;
		unsigned int head;

		nr = min(nr, p->window);
		spin_lock(&s->ptl[table]);
		for (i = 0; i < nr; i++) {
			/* A contiguous range, wrapping inside the window. */
			unsigned int idx = base + (first + i) % p->window;

			/* "Write-protect the PTE and defer its flush." */
			atomic_inc(&s->pending[idx]);
			op->changed[op->nr++] = idx;
			WRITE_ONCE(s->recent[id], idx);
		}
		/* Mark exactly those PTEs: up to the window's end, then on. */
		head = min(nr, p->window - first);
		tlb_pending_filter_mark(s->mm, &op->deferrer,
					tpf_stress_addr(base + first),
					tpf_stress_addr(base + first + head - 1) +
					PAGE_SIZE);
		if (head < nr)
			tlb_pending_filter_mark(s->mm, &op->deferrer,
						tpf_stress_addr(base),
						tpf_stress_addr(base + nr - head - 1) +
						PAGE_SIZE);
		spin_unlock(&s->ptl[table]);
	}
}

static void tpf_op_complete(struct tpf_stress *s, struct tpf_op *op)
{
	unsigned int i;

	/* The deferred flush, of varying length, then its completion... */
	if (!get_random_u32_below(4))
		udelay(get_random_u32_below(3));
	for (i = 0; i < op->nr; i++)
		atomic_dec(&s->pending[op->changed[i]]);
	/* ...and only then unregistration, ordered by its full RMW. */
	tlb_pending_filter_finish(s->mm, &op->deferrer);
}

static void tpf_check(struct tpf_stress *s)
{
	const struct tpf_stress_params *p = s->p;
	unsigned int idx;
	unsigned long addr;
	int pending;
	bool hit;

	/* Half the time a page some worker just changed. */
	if (get_random_u32_below(2))
		idx = READ_ONCE(s->recent[get_random_u32_below(s->nr_workers)]);
	else
		idx = get_random_u32_below(p->tables) * TPF_TABLE_PAGES +
		      get_random_u32_below(p->window);
	addr = tpf_stress_addr(idx);

	spin_lock(&s->ptl[idx / TPF_TABLE_PAGES]);
	hit = tlb_pending_filter_test(s->mm, addr);
	/*
	 * Read the filter before the pending count: a reset that cleared
	 * the bucket comes after the decrement of every operation it
	 * covered, so a count still seen as pending together with a clear
	 * bucket is a real false negative.
	 */
	smp_rmb();
	pending = atomic_read(&s->pending[idx]);
	spin_unlock(&s->ptl[idx / TPF_TABLE_PAGES]);

	if (pending > 0) {
		atomic_long_inc(&s->armed_checks);
		if (!hit && !atomic_long_fetch_inc(&s->false_negatives))
			s->bad_addr = addr;
	}
}

static int tpf_worker_fn(void *data)
{
	struct tpf_stress *s = data;
	unsigned int id = atomic_inc_return(&s->next_id) - 1;
	struct tpf_op *ops = &s->open_ops[id * TPF_MAX_OPEN];
	unsigned int open = 0, n = 0;

	while (atomic_long_read(&s->ops) < TPF_MIN_OPS &&
	       !atomic_long_read(&s->false_negatives)) {
		unsigned int r = get_random_u32_below(10);

		if (open < TPF_MAX_OPEN && (!open || r < 4)) {
			tpf_op_start(s, id, &ops[open++]);
		} else if (open && r < 7) {
			unsigned int i = get_random_u32_below(open);

			tpf_op_complete(s, &ops[i]);
			/* Keep the open ones packed at the front. */
			swap(ops[i], ops[open - 1]);
			open--;
		} else {
			tpf_check(s);
		}
		atomic_long_inc(&s->ops);
		if (!(++n % 128))
			cond_resched();
	}
	while (open)
		tpf_op_complete(s, &ops[--open]);
	if (atomic_dec_and_test(&s->workers_left))
		complete(&s->all_done);
	return 0;
}

static void tpf_concurrent_no_false_negative(struct kunit *test)
{
	const struct tpf_stress_params *p = test->param_value;
	unsigned int cpus = num_online_cpus();
	unsigned int workers, i;
	struct tpf_stress *s;

	if (!tpf_need_smp(test))
		return;

	s = kunit_kzalloc(test, sizeof(*s), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s);
	s->ptl = kunit_kcalloc(test, p->tables, sizeof(*s->ptl), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s->ptl);
	s->pending = kunit_kcalloc(test, p->tables * TPF_TABLE_PAGES,
				   sizeof(*s->pending), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s->pending);
	for (i = 0; i < p->tables; i++)
		spin_lock_init(&s->ptl[i]);
	s->p = p;
	s->mm = tpf_alloc_mm(test);

	workers = min_t(unsigned int, cpus, TPF_MAX_WORKERS);
	s->nr_workers = workers;
	s->open_ops = kunit_kcalloc(test, workers * TPF_MAX_OPEN,
				    sizeof(*s->open_ops), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, s->open_ops);
	atomic_set(&s->workers_left, workers);
	init_completion(&s->all_done);

	for (i = 0; i < workers; i++) {
		struct task_struct *task;

		task = kthread_create(tpf_worker_fn, s, "tpf-stress/%u", i);
		if (IS_ERR(task)) {
			/* Count the workers that will never run as finished. */
			KUNIT_FAIL(test, "kthread_create: %ld", PTR_ERR(task));
			if (atomic_sub_and_test(workers - i, &s->workers_left))
				complete(&s->all_done);
			break;
		}
		/* Spread the workers so that they really run in parallel. */
		kthread_bind(task, cpumask_nth(i, cpu_online_mask));
		wake_up_process(task);
	}
	wait_for_completion(&s->all_done);

	kunit_info(test, "%u workers: %ld ops, %ld checks of pending pages\n",
		   workers, atomic_long_read(&s->ops),
		   atomic_long_read(&s->armed_checks));
	KUNIT_EXPECT_EQ_MSG(test, atomic_long_read(&s->false_negatives), 0L,
			    "false negative at %#lx (bucket %u)", s->bad_addr,
			    tlb_pending_filter_bucket(s->bad_addr));
	KUNIT_EXPECT_GE(test, atomic_long_read(&s->ops), (long)TPF_MIN_OPS);
	/* The invariant must actually have been exercised. */
	KUNIT_EXPECT_GT(test, atomic_long_read(&s->armed_checks), 0L);
	/* Everyone left: the last one out reset the filter. */
	KUNIT_EXPECT_EQ(test, tpf_users(s->mm), 0);
	KUNIT_EXPECT_EQ(test, tpf_buckets(s->mm), 0UL);
	KUNIT_EXPECT_EQ(test, tpf_lo(s->mm), ULONG_MAX);
	KUNIT_EXPECT_EQ(test, tpf_hi(s->mm), 0UL);
}

static struct kunit_case tlb_pending_filter_test_cases[] = {
	KUNIT_CASE(tpf_buckets_are_word_bits_above_page_offset),
	KUNIT_CASE(tpf_bucket_is_page_number_modulo_buckets),
	KUNIT_CASE(tpf_bucket_ignores_offset_in_page),
	KUNIT_CASE(tpf_bucket_aliases_one_filter_span_apart),
	KUNIT_CASE(tpf_bucket_neighbours_do_not_alias),
	KUNIT_CASE(tpf_range_bits_single_page),
	KUNIT_CASE(tpf_range_bits_covers_partial_pages),
	KUNIT_CASE(tpf_range_bits_wraps_around),
	KUNIT_CASE(tpf_range_bits_saturates),
	KUNIT_CASE(tpf_range_bits_matches_bits),
	KUNIT_CASE(tpf_new_mm_is_empty),
	KUNIT_CASE(tpf_state_fits_one_cache_line),
	KUNIT_CASE(tpf_layout),
	KUNIT_CASE(tpf_test_true_after_mark),
	KUNIT_CASE(tpf_span_empty_after_reset),
	KUNIT_CASE(tpf_span_grows_with_marks),
	KUNIT_CASE(tpf_span_outside_misses_with_bucket_set),
	KUNIT_CASE(tpf_mark_registers_lazily_once),
	KUNIT_CASE(tpf_finish_without_mark_is_noop),
	KUNIT_CASE(tpf_publish_one_atomic_skipped_when_set),
	KUNIT_CASE(tpf_gather_range_covers_deferred_ptes),
	KUNIT_CASE(tpf_overlapping_deferrers_keep_apart),
	KUNIT_CASE(tpf_buckets_survive_other_deferrer),
	KUNIT_CASE(tpf_register_claims_a_free_slot),
	KUNIT_CASE(tpf_registered_deferrer_without_marks_keeps_buckets),
	KUNIT_CASE(tpf_reset_when_last_leaves),
	KUNIT_CASE(tpf_register_waits_for_reset),
	KUNIT_CASE(tpf_no_registration_between_last_and_reset),
	KUNIT_CASE_PARAM_ATTR(tpf_concurrent_no_false_negative,
			      tpf_stress_gen_params,
			      { .speed = KUNIT_SPEED_SLOW }),
	{}
};

static struct kunit_suite tlb_pending_filter_test_suite = {
	.name = "tlb_pending_filter",
	.test_cases = tlb_pending_filter_test_cases,
};

/*
 * @pages private anonymous read-write pages, none faulted in yet, in the
 * test thread's own mm (kunit_vm_mmap() gives it one); their address.
 */
static unsigned long tpf_map_anon(struct kunit *test, unsigned long pages)
{
	unsigned long addr = kunit_vm_mmap(test, NULL, 0, pages * PAGE_SIZE,
					   PROT_READ | PROT_WRITE,
					   MAP_ANONYMOUS | MAP_PRIVATE, 0);

	KUNIT_ASSERT_FALSE_MSG(test, !addr || IS_ERR_VALUE(addr),
			       "kunit_vm_mmap: %#lx", addr);
	return addr;
}

/*
 * --- PROT_NONE PTEs: ptep_clear_flush() and the batched unmap ------------
 *
 * tlb_pending_pte_accessible() decides whether clearing a PROT_NONE PTE
 * must flush.  The test thread gets an mm of its own, makes its PTEs
 * PROT_NONE as NUMA hinting does (change_protection() with MM_CP_PROT_NUMA
 * under the mmap lock for read) or as mprotect(PROT_NONE) does, and asks
 * with the PTE's lock held, as the two callers do, while gathers are open
 * or after they have flushed.
 */

struct tpf_pn {
	struct mm_struct *mm;
	struct vm_area_struct *vma;
	unsigned long addr;
	int saved_numa_mode;
};

/* @pages private anonymous pages, each written once. */
static struct tpf_pn *tpf_pn_setup(struct kunit *test, unsigned long pages)
{
	struct tpf_pn *pn;
	unsigned long i;
	char c = 1;

	if (!IS_ENABLED(CONFIG_ARCH_HAS_PTE_ACCESSIBLE_PROTNONE) ||
	    !IS_ENABLED(CONFIG_NUMA_BALANCING))
		kunit_skip(test, "needs ARCH_HAS_PTE_ACCESSIBLE_PROTNONE and NUMA_BALANCING");

	pn = kunit_kzalloc(test, sizeof(*pn), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pn);
	pn->addr = tpf_map_anon(test, pages);
	pn->mm = current->mm;
	for (i = 0; i < pages; i++)
		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)
						   (pn->addr + i * PAGE_SIZE),
						   &c, 1), 0);
	mmap_read_lock(pn->mm);
	pn->vma = vma_lookup(pn->mm, pn->addr);
	mmap_read_unlock(pn->mm);
	KUNIT_ASSERT_NOT_NULL(test, pn->vma);
#ifdef CONFIG_NUMA_BALANCING
	/*
	 * change_pte_range() skips pages of a top-tier node unless NUMA
	 * balancing is in its normal mode, which a one-node machine leaves
	 * off.
	 */
	pn->saved_numa_mode = sysctl_numa_balancing_mode;
	WRITE_ONCE(sysctl_numa_balancing_mode, NUMA_BALANCING_NORMAL);
#endif
	return pn;
}

static void tpf_pn_teardown(struct tpf_pn *pn)
{
#ifdef CONFIG_NUMA_BALANCING
	WRITE_ONCE(sysctl_numa_balancing_mode, pn->saved_numa_mode);
#endif
	static_branch_enable(&tlb_pending_filter_on);
}

static unsigned long tpf_pn_page(struct tpf_pn *pn, unsigned long n)
{
	return pn->addr + n * PAGE_SIZE;
}

/*
 * NUMA hinting's change of page @n, as change_prot_numa() makes it, under
 * the mmap lock for read, in the open gather @tlb.  A second user of the
 * mm keeps change_pte_range() from skipping a single-threaded process's
 * pages on their own node.
 */
static void tpf_pn_numa_hint(struct kunit *test, struct tpf_pn *pn,
			     struct mmu_gather *tlb, unsigned long n)
{
	unsigned long addr = tpf_pn_page(pn, n);
	long changed;

	mmget(pn->mm);
	mmap_read_lock(pn->mm);
	changed = change_protection(tlb, pn->vma, addr, addr + PAGE_SIZE,
				    MM_CP_PROT_NUMA);
	mmap_read_unlock(pn->mm);
	mmput(pn->mm);
	KUNIT_EXPECT_EQ(test, changed, 1L);
}

/*
 * What ptep_clear_flush() and the batched unmap decide for page @n, asked
 * under its PTE lock (the caller holds the mmap lock as it needs).  The
 * PTE is left in place.  pte_accessible() says yes to a PROT_NONE PTE only
 * while some flush is pending in the mm.
 */
static bool tpf_pn_decide(struct kunit *test, struct tpf_pn *pn,
			  struct vm_area_struct *vma, unsigned long n)
{
	unsigned long addr = tpf_pn_page(pn, n);
	spinlock_t *ptl;	/* the lock of @addr's page table */
	bool flush = false;
	pte_t *pte, val;

	pte = get_locked_pte(pn->mm, addr, &ptl);
	if (!pte) {
		KUNIT_FAIL(test, "no PTE at %#lx", addr);
		return false;
	}
	val = ptep_get(pte);
	KUNIT_EXPECT_TRUE(test, pte_protnone(val));
	if (pte_protnone(val))
		flush = tlb_pending_pte_accessible(pn->mm, vma, addr,
						   addr + PAGE_SIZE, val);
	if (!mm_tlb_flush_pending(pn->mm))
		KUNIT_EXPECT_FALSE(test, flush);
	pte_unmap_unlock(pte, ptl);
	return flush;
}

/*
 * While the scanner's gather is open, the PROT_NONE PTE it made may still
 * be cached: the filter says flush.  After tlb_finish_mmu() it cannot be.
 */
static void tpf_pn_flush_while_numa_gather_open(struct kunit *test)
{
	struct tpf_pn *pn = tpf_pn_setup(test, 4);
	struct mmu_gather tlb;

	tlb_gather_mmu(&tlb, pn->mm);
	tpf_pn_numa_hint(test, pn, &tlb, 2);
	KUNIT_EXPECT_NOT_NULL(test, tlb.filter_deferrer.slot);
	mmap_read_lock(pn->mm);
	KUNIT_EXPECT_TRUE(test, tpf_pn_decide(test, pn, pn->vma, 2));
	mmap_read_unlock(pn->mm);
	KUNIT_EXPECT_TRUE(test, mm_tlb_flush_pending(pn->mm));
	tlb_finish_mmu(&tlb);

	mmap_read_lock(pn->mm);
	KUNIT_EXPECT_FALSE(test, mm_tlb_flush_pending(pn->mm));
	KUNIT_EXPECT_FALSE(test, tpf_pn_decide(test, pn, pn->vma, 2));
	mmap_read_unlock(pn->mm);
	tpf_pn_teardown(pn);
}

/*
 * Page 3 was made PROT_NONE by a scan step that has flushed.  Another step
 * marks page 3 + BUCKETS, whose bucket is page 3's, and is still open: its
 * span misses page 3, so the filter says no flush there, while the mm-wide
 * answer, which tlb_pending_filter=off restores, would flush.  An open
 * gather that marks nothing, as a munmap() or MADV_DONTNEED, changes
 * nothing either.
 */
static void tpf_pn_no_flush_outside_span_or_for_zaps(struct kunit *test)
{
	struct tpf_pn *pn = tpf_pn_setup(test, 2 * TLB_PENDING_FILTER_BUCKETS);
	unsigned long alias = 3 + TLB_PENDING_FILTER_BUCKETS;
	struct mmu_gather tlb, zap;

	tlb_gather_mmu(&tlb, pn->mm);
	tpf_pn_numa_hint(test, pn, &tlb, 3);
	tlb_finish_mmu(&tlb);

	tlb_gather_mmu(&tlb, pn->mm);
	tpf_pn_numa_hint(test, pn, &tlb, alias);
	KUNIT_EXPECT_TRUE(test, tpf_buckets(pn->mm) &
			  tlb_pending_filter_bit(tpf_pn_page(pn, 3)));
	mmap_read_lock(pn->mm);
	KUNIT_EXPECT_TRUE(test, tpf_pn_decide(test, pn, pn->vma, alias));
	KUNIT_EXPECT_FALSE(test, tpf_pn_decide(test, pn, pn->vma, 3));
	KUNIT_EXPECT_TRUE(test, mm_tlb_flush_pending(pn->mm));

	/* tlb_pending_filter=off: the mm-wide answer. */
	static_branch_disable(&tlb_pending_filter_on);
	KUNIT_EXPECT_TRUE(test, tpf_pn_decide(test, pn, pn->vma, 3));
	static_branch_enable(&tlb_pending_filter_on);
	mmap_read_unlock(pn->mm);
	tlb_finish_mmu(&tlb);

	tlb_gather_mmu(&zap, pn->mm);
	mmap_read_lock(pn->mm);
	KUNIT_EXPECT_FALSE(test, tpf_pn_decide(test, pn, pn->vma, alias));
	KUNIT_EXPECT_TRUE(test, mm_tlb_flush_pending(pn->mm));
	mmap_read_unlock(pn->mm);
	tlb_finish_mmu(&zap);
	tpf_pn_teardown(pn);
}

/*
 * mprotect(PROT_NONE) makes PTEs PROT_NONE without marking: an rmap walker
 * that meets one while its gather is open must flush.  The VMA has lost
 * its access rights before any PTE changed, so the answer is the mm-wide
 * one; asking the filter, which holds nothing, would be a false negative.
 */
static void tpf_pn_mprotect_prot_none_takes_mm_wide_answer(struct kunit *test)
{
	struct tpf_pn *pn = tpf_pn_setup(test, 4);
	unsigned long addr = tpf_pn_page(pn, 1);
	vm_flags_t flags = pn->vma->vm_flags;
	struct mmu_gather tlb;
	long changed;

	mmap_write_lock(pn->mm);
	vma_start_write(pn->vma);
	vm_flags_reset(pn->vma, flags & ~VM_ACCESS_FLAGS);
	vma_set_page_prot(pn->vma);
	tlb_gather_mmu(&tlb, pn->mm);
	changed = change_protection(&tlb, pn->vma, addr, addr + PAGE_SIZE, 0);
	KUNIT_EXPECT_EQ(test, changed, 1L);
	KUNIT_EXPECT_NULL(test, tlb.filter_deferrer.slot);
	KUNIT_EXPECT_FALSE(test, tlb_pending_filter_test(pn->mm, addr));
	KUNIT_EXPECT_TRUE(test, tpf_pn_decide(test, pn, pn->vma, 1));
	KUNIT_EXPECT_TRUE(test, mm_tlb_flush_pending(pn->mm));
	tlb_finish_mmu(&tlb);
	KUNIT_EXPECT_FALSE(test, tpf_pn_decide(test, pn, pn->vma, 1));

	vm_flags_reset(pn->vma, flags);
	vma_set_page_prot(pn->vma);
	mmap_write_unlock(pn->mm);
	tpf_pn_teardown(pn);
}

/*
 * hugetlb does not mark either: a PROT_NONE entry of a hugetlb VMA takes
 * the mm-wide answer, even where the filter would say no flush (page 0,
 * outside the open scan step's span).  The VMA is a stand-in that carries
 * VM_HUGETLB: only its flags and mm are read.
 */
static void tpf_pn_hugetlb_takes_mm_wide_answer(struct kunit *test)
{
	struct tpf_pn *pn = tpf_pn_setup(test, 4);
	struct vm_area_struct *huge;
	struct mmu_gather tlb;

	if (!IS_ENABLED(CONFIG_HUGETLB_PAGE))
		kunit_skip(test, "needs HUGETLB_PAGE");
	huge = kunit_kzalloc(test, sizeof(*huge), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, huge);
	vma_init(huge, pn->mm);
	vm_flags_init(huge, VM_READ | VM_WRITE | VM_HUGETLB);

	tlb_gather_mmu(&tlb, pn->mm);
	tpf_pn_numa_hint(test, pn, &tlb, 0);
	tlb_finish_mmu(&tlb);
	tlb_gather_mmu(&tlb, pn->mm);
	tpf_pn_numa_hint(test, pn, &tlb, 2);
	mmap_read_lock(pn->mm);
	KUNIT_EXPECT_FALSE(test, tpf_pn_decide(test, pn, pn->vma, 0));
	KUNIT_EXPECT_TRUE(test, tpf_pn_decide(test, pn, huge, 0));
	mmap_read_unlock(pn->mm);
	tlb_finish_mmu(&tlb);
	tpf_pn_teardown(pn);
}

/*
 * The batched unmap asks once for the PTEs of a folio batch.  Page 2 of
 * four is made PROT_NONE by an open scan step: a batch over pages 0-3
 * must flush, one over pages 0-1 or page 3 alone need not.
 */
static void tpf_pn_batch_asks_for_every_page(struct kunit *test)
{
	struct tpf_pn *pn = tpf_pn_setup(test, 4);
	unsigned long p0 = tpf_pn_page(pn, 0), p2 = tpf_pn_page(pn, 2);
	unsigned long p3 = tpf_pn_page(pn, 3), p4 = tpf_pn_page(pn, 4);
	struct mmu_gather tlb;
	spinlock_t *ptl;	/* the lock of the four pages' page table */
	pte_t *pte, val;

	tlb_gather_mmu(&tlb, pn->mm);
	tpf_pn_numa_hint(test, pn, &tlb, 2);
	mmap_read_lock(pn->mm);
	pte = get_locked_pte(pn->mm, p2, &ptl);
	KUNIT_ASSERT_NOT_NULL(test, pte);
	val = ptep_get(pte);
	KUNIT_EXPECT_TRUE(test, pte_protnone(val));
	KUNIT_EXPECT_TRUE(test,
			  tlb_pending_pte_accessible(pn->mm, pn->vma, p0, p4, val));
	KUNIT_EXPECT_FALSE(test,
			   tlb_pending_pte_accessible(pn->mm, pn->vma, p0, p2, val));
	KUNIT_EXPECT_FALSE(test,
			   tlb_pending_pte_accessible(pn->mm, pn->vma, p3, p4, val));
	pte_unmap_unlock(pte, ptl);
	mmap_read_unlock(pn->mm);
	tlb_finish_mmu(&tlb);
	tpf_pn_teardown(pn);
}

#ifdef MM_CP_UFFD_RWP
/*
 * Userfaultfd read-write protection makes valid PTEs PROT_NONE in an
 * accessible VMA under the mmap lock for read, as NUMA hinting does: it
 * must mark, or the filter would answer "no flush" for a PTE that may
 * still be cached, writable.
 */
static void tpf_pn_uffd_rwp_marks(struct kunit *test)
{
	struct tpf_pn *pn = tpf_pn_setup(test, 4);
	unsigned long addr = tpf_pn_page(pn, 1);
	struct mmu_gather tlb;
	long changed;

	if (!IS_ENABLED(CONFIG_USERFAULTFD_RWP))
		kunit_skip(test, "needs USERFAULTFD_RWP");
	mmap_write_lock(pn->mm);
	vm_flags_set(pn->vma, VM_UFFD_RWP);
	mmap_write_unlock(pn->mm);

	tlb_gather_mmu(&tlb, pn->mm);
	mmap_read_lock(pn->mm);
	changed = change_protection(&tlb, pn->vma, addr, addr + PAGE_SIZE,
				    MM_CP_UFFD_RWP);
	KUNIT_EXPECT_EQ(test, changed, 1L);
	KUNIT_EXPECT_NOT_NULL(test, tlb.filter_deferrer.slot);
	KUNIT_EXPECT_TRUE(test, tpf_pn_decide(test, pn, pn->vma, 1));
	mmap_read_unlock(pn->mm);
	tlb_finish_mmu(&tlb);

	mmap_read_lock(pn->mm);
	KUNIT_EXPECT_FALSE(test, tpf_pn_decide(test, pn, pn->vma, 1));
	mmap_read_unlock(pn->mm);
	mmap_write_lock(pn->mm);
	vm_flags_clear(pn->vma, VM_UFFD_RWP);
	mmap_write_unlock(pn->mm);
	tpf_pn_teardown(pn);
}
#endif

static struct kunit_case tlb_pending_filter_protnone_test_cases[] = {
	KUNIT_CASE(tpf_pn_flush_while_numa_gather_open),
	KUNIT_CASE(tpf_pn_no_flush_outside_span_or_for_zaps),
	KUNIT_CASE(tpf_pn_mprotect_prot_none_takes_mm_wide_answer),
	KUNIT_CASE(tpf_pn_hugetlb_takes_mm_wide_answer),
	KUNIT_CASE(tpf_pn_batch_asks_for_every_page),
#ifdef MM_CP_UFFD_RWP
	KUNIT_CASE(tpf_pn_uffd_rwp_marks),
#endif
	{}
};

static struct kunit_suite tlb_pending_filter_protnone_test_suite = {
	.name = "tlb_pending_filter_protnone",
	.test_cases = tlb_pending_filter_protnone_test_cases,
};

kunit_test_suites(&tlb_pending_filter_test_suite,
		  &tlb_pending_filter_protnone_test_suite);

MODULE_DESCRIPTION("KUnit tests for the TLB pending filter");
MODULE_LICENSE("GPL");
