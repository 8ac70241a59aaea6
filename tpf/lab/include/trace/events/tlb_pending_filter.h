/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM tlb_pending_filter

#if !defined(_TRACE_TLB_PENDING_FILTER_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_TLB_PENDING_FILTER_H

#include <linux/mm_types.h>
#include <linux/tracepoint.h>

/*
 * A deferrer publishes a range of one page table, [start, end), whose
 * buckets are @bits, in @slot (atomic: it cost an RMW).
 */
TRACE_EVENT(tpf_mark,
	    TP_PROTO(struct mm_struct *mm, struct tlb_pending_slot *slot,
		     unsigned long start, unsigned long end, unsigned long bits,
		     bool atomic),
	    TP_ARGS(mm, slot, start, end, bits, atomic),
	    TP_STRUCT__entry(__field(struct mm_struct *, mm)
			     __field(struct tlb_pending_slot *, slot)
			     __field(unsigned long, start)
			     __field(unsigned long, end)
			     __field(unsigned long, bits)
			     __field(bool, atomic)),
	    TP_fast_assign(__entry->mm = mm;
			   __entry->slot = slot;
			   __entry->start = start;
			   __entry->end = end;
			   __entry->bits = bits;
			   __entry->atomic = atomic;),
	    TP_printk("mm=%p slot=%p start=%#lx end=%#lx bits=%#lx atomic=%d",
		      __entry->mm, __entry->slot, __entry->start,
		      __entry->end, __entry->bits, __entry->atomic)
);

/*
 * do_wp_page() is about to copy after asking the filter (mode 1): its
 * answer, and the buckets and the span now, of all the slots together
 * (buckets ORed, lo the lowest, hi the highest), which give the
 * false-positive rate to expect.  Only with CONFIG_TLB_PENDING_FILTER_DEBUG, like
 * wp_copy_check: a production kernel's fault path traces only its flushes.
 */
TRACE_EVENT(tpf_test,
	    TP_PROTO(struct mm_struct *mm, unsigned long addr, bool hit),
	    TP_ARGS(mm, addr, hit),
	    TP_STRUCT__entry(__field(struct mm_struct *, mm)
			     __field(unsigned long, addr)
			     __field(unsigned long, buckets)
			     __field(unsigned long, lo)
			     __field(unsigned long, hi)
			     __field(bool, hit)),
	    TP_fast_assign(struct tlb_pending_slot *slot =
				mm->tlb_pending_filter.slot;
			   int i;

			   __entry->mm = mm;
			   __entry->addr = addr;
			   __entry->buckets = 0;
			   __entry->lo = ULONG_MAX;
			   __entry->hi = 0;
			   for (i = 0; i < TLB_PENDING_FILTER_SLOTS; i++, slot++) {
				__entry->buckets |=
					atomic_long_read(&slot->buckets);
				__entry->lo = min(__entry->lo,
					(unsigned long)atomic_long_read(&slot->lo));
				__entry->hi = max(__entry->hi,
					(unsigned long)atomic_long_read(&slot->hi));
			   }
			   __entry->hit = hit;),
	    TP_printk("mm=%p addr=%#lx buckets=%#lx span=[%#lx,%#lx) %s",
		      __entry->mm, __entry->addr, __entry->buckets,
		      __entry->lo, __entry->hi, __entry->hit ? "hit" : "miss")
);

/* The last deferrer out of @slot resets the buckets and the span it found. */
TRACE_EVENT(tpf_reset,
	    TP_PROTO(struct tlb_pending_slot *slot, unsigned long bits,
		     unsigned long lo, unsigned long hi),
	    TP_ARGS(slot, bits, lo, hi),
	    TP_STRUCT__entry(__field(struct tlb_pending_slot *, slot)
			     __field(unsigned long, bits)
			     __field(unsigned long, lo)
			     __field(unsigned long, hi)),
	    TP_fast_assign(__entry->slot = slot;
			   __entry->bits = bits;
			   __entry->lo = lo;
			   __entry->hi = hi;),
	    TP_printk("slot=%p bits=%#lx span=[%#lx,%#lx)", __entry->slot,
		      __entry->bits, __entry->lo, __entry->hi)
);

/*
 * do_wp_page() flushes a possibly stale entry before copying.  @mode: the
 * enum tlb_pending_filter_mode the fault decided by.
 */
TRACE_EVENT(wp_flush,
	    TP_PROTO(struct mm_struct *mm, unsigned long addr, int mode),
	    TP_ARGS(mm, addr, mode),
	    TP_STRUCT__entry(__field(struct mm_struct *, mm)
			     __field(unsigned long, addr)
			     __field(int, mode)),
	    TP_fast_assign(__entry->mm = mm;
			   __entry->addr = addr;
			   __entry->mode = mode;),
	    TP_printk("mm=%p addr=%#lx mode=%d", __entry->mm, __entry->addr,
		      __entry->mode)
);

/*
 * do_wp_page() is about to copy a page of a uffd-wp VMA (write faults, not
 * unsharing), whatever the mode: which check guarded the copy (@mode, read
 * once for the fault) and whether this check flushed (never in mode 0,
 * whose check came before the reuse decision).  Only with
 * CONFIG_TLB_PENDING_FILTER_DEBUG.  One event per copy attempt,
 * so that "copies" and "checks made" can be compared: a copy that
 * wp_page_copy() abandons (VM_FAULT_RETRY for want of an anon_vma, a PTE
 * changed meanwhile) is checked again when the fault is retried.
 */
TRACE_EVENT(wp_copy_check,
	    TP_PROTO(struct mm_struct *mm, unsigned long addr, int mode,
		     bool flush),
	    TP_ARGS(mm, addr, mode, flush),
	    TP_STRUCT__entry(__field(struct mm_struct *, mm)
			     __field(unsigned long, addr)
			     __field(int, mode)
			     __field(bool, flush)),
	    TP_fast_assign(__entry->mm = mm;
			   __entry->addr = addr;
			   __entry->mode = mode;
			   __entry->flush = flush;),
	    TP_printk("mm=%p addr=%#lx mode=%d flush=%d", __entry->mm,
		      __entry->addr, __entry->mode, __entry->flush)
);

/*
 * Clearing a PROT_NONE PTE (try_to_unmap_one(), try_to_migrate_one())
 * while a flush is pending in the mm, so that pte_accessible() would have
 * the caller flush: whether its TLB entry may still be cached.  @answer:
 * the enum tlb_pending_filter_mode decided by, 0 for the mm-wide answer
 * (always so in a VMA without access rights or in hugetlb), 1 for the
 * filter's, 3 for the debug mode that never flushes; @pending:
 * mm_tlb_flush_pending(), read again; @flush: the decision.
 */
TRACE_EVENT(tpf_protnone,
	    TP_PROTO(struct mm_struct *mm, unsigned long addr, int answer,
		     bool pending, bool flush),
	    TP_ARGS(mm, addr, answer, pending, flush),
	    TP_STRUCT__entry(__field(struct mm_struct *, mm)
			     __field(unsigned long, addr)
			     __field(int, answer)
			     __field(bool, pending)
			     __field(bool, flush)),
	    TP_fast_assign(__entry->mm = mm;
			   __entry->addr = addr;
			   __entry->answer = answer;
			   __entry->pending = pending;
			   __entry->flush = flush;),
	    TP_printk("mm=%p addr=%#lx answer=%d pending=%d flush=%d",
		      __entry->mm, __entry->addr, __entry->answer,
		      __entry->pending, __entry->flush)
);

#endif /* _TRACE_TLB_PENDING_FILTER_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
