#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In the benchmark guest: run one tpf-bench shape under perf stat, and
# print the deltas of the CONFIG_DEBUG_TLBFLUSH vmstat counters and the
# mode the filter was in, as in enum tlb_pending_filter_mode ("MODE -" on a
# kernel without its debugfs modes), which bench-report.py checks against
# the mode the run is filed under.
#
# tlb:tlb_flush is counted once per reason (include/linux/mm_types.h,
# enum tlb_flush_reason), each under its own filter; the output names
# them tlb:tlb_flush/reason=N.  tlb_pending_filter:tpf_protnone likewise,
# as /all, /flush and /pending.
#
# perf-run SHAPE notrace counts page faults only: an enabled tracepoint
# costs time in the paths that are being timed.
#
# perf-run SHAPE callers records the call chain of every shootdown IPI
# (tlb:tlb_flush reason 4, TLB_REMOTE_SEND_IPI) instead, and prints
# "CAUSE NAME COUNT" for each cause, the first of these found in the
# chain, in this order: scanner (task_numa_work(), change_prot_numa()),
# migration (migrate_pages(), move_pages(), try_to_migrate(): the flushes
# of the PROT_NONE decisions are among these), reclaim (shrink_folio_list(),
# try_to_unmap()), pageout (MADV_PAGEOUT's own gather), fault
# (do_wp_page()), zap (munmap(), MADV_DONTNEED, exit: any other gather),
# other.
#
# perf-run SHAPE ARG...
# passes the ARGs on: perf-run marks mprotect 64 8 runs tpf-bench marks
# mprotect 64 8 (simple words only: they are kept in one string).
#
# perf-run real PROGRAM [callers] runs real-run PROGRAM (a real program,
# not tpf-bench) and also counts its tree's madvise() and munmap() calls
# (raw_syscalls:sys_enter/madvise and /munmap): the gathers that free
# memory.
shape=$1
shift
cmd="/tests/tpf-bench $shape"
if [ "$shape" = real ]; then
	cmd="/tests/real-run $1"
	shift
fi
mode_of() {
	# "pending [filter] moved count": the bracketed name, as a number.
	case $(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' \
		/sys/kernel/debug/tlb_pending_filter/mode 2>/dev/null) in
	pending) echo 0 ;; filter) echo 1 ;; moved) echo 2 ;; never) echo 3 ;;
	count) echo 4 ;;
	*) echo - ;;
	esac
}
if [ "${1:-}" = callers ]; then
	perf record -q -g -o /tmp/perf.data -e tlb:tlb_flush --filter "reason == 4" \
		-- $cmd
	rc=$?
	perf script -i /tmp/perf.data -F ip,sym 2>/dev/null | awk '
		function cause(chain) {
			if (chain ~ / (task_numa_work|change_prot_numa) /) return "scanner"
			if (chain ~ / (migrate_pages|migrate_pages_batch|do_pages_move|migrate_misplaced_folio|try_to_migrate|try_to_migrate_one) /) return "migration"
			if (chain ~ / (shrink_folio_list|reclaim_pages|try_to_unmap|try_to_unmap_one) /) return "reclaim"
			if (chain ~ / (madvise_cold_or_pageout_pte_range|madvise_pageout) /) return "pageout"
			if (chain ~ / do_wp_page /) return "fault"
			if (chain ~ / (zap_page_range_single|zap_page_range_single_batched|madvise_dontneed_free|unmap_vmas|unmap_region|vms_clear_ptes|exit_mmap|do_vmi_munmap|__vm_munmap|do_madvise|tlb_finish_mmu) /) return "zap"
			return "other"
		}
		NF >= 2 && $1 ~ /^[0-9a-f]+$/ { chain = chain " " $2 " "; next }
		NF == 0 { if (chain != "") n[cause(chain)]++; chain = "" }
		END {
			if (chain != "") n[cause(chain)]++
			split("scanner migration reclaim pageout fault zap other", c, " ")
			for (i = 1; i <= 7; i++) print "CAUSE", c[i], n[c[i]] + 0
		}'
	rm -f /tmp/perf.data
	echo "MODE tlb_pending_filter $(mode_of)"
	exit $rc
fi
notrace=
if [ "${1:-}" = notrace ]; then
	notrace=1
	shift
fi
args=$*
reasons="0 1 2 3 4"
set --
if [ -z "$notrace" ]; then
	for ev in tlb_pending_filter:wp_flush tlb_pending_filter:tpf_test \
		  tlb_pending_filter:wp_copy_check \
		  tlb_pending_filter:tpf_mark tlb_pending_filter:tpf_reset; do
		# Events a kernel lacks (the filter off at build time) are left out.
		[ -d "/sys/kernel/tracing/events/${ev%%:*}/${ev#*:}" ] || continue
		set -- "$@" -e "$ev"
	done
	for r in $reasons; do
		set -- "$@" -e tlb:tlb_flush --filter "reason == $r"
	done
	# PROT_NONE decisions (made only while some flush is pending in the
	# mm): all, those that flushed, and those for which the mm-wide
	# answer (mm_tlb_flush_pending()) said flush; named
	# tlb_pending_filter:tpf_protnone/all, /flush and /pending.
	ev=tlb_pending_filter:tpf_protnone
	if [ -d /sys/kernel/tracing/events/tlb_pending_filter/tpf_protnone ]; then
		set -- "$@" -e $ev -e $ev --filter "flush == 1" \
			-e $ev --filter "pending == 1"
	fi
	# x86_64's numbers: madvise 28, munmap 11.
	[ "$shape" = real ] && set -- "$@" -e raw_syscalls:sys_enter --filter "id == 28" \
		-e raw_syscalls:sys_enter --filter "id == 11"
fi
set -- "$@" -e page-faults

mode=$(mode_of)
grep '^nr_tlb_' /proc/vmstat > /tmp/vm.before
# $args unquoted: split into its words.
perf stat -x, -o /tmp/perf.out "$@" -- $cmd $args
rc=$?
grep '^nr_tlb_' /proc/vmstat > /tmp/vm.after
grep -v -e '^#' -e '^$' /tmp/perf.out |
	awk -F, -v reasons="$reasons" '
		BEGIN { n = split(reasons, reason, " "); split("all flush pending", pn, " ")
			split("madvise munmap", sc, " ") }
		$3 == "tlb:tlb_flush" { $3 = $3 "/reason=" reason[++i] }
		$3 == "tlb_pending_filter:tpf_protnone" { $3 = $3 "/" pn[++j] }
		$3 == "raw_syscalls:sys_enter" { $3 = $3 "/" sc[++k] }
		{ print "PERF " $1 "," $2 "," $3 }'
paste -d' ' /tmp/vm.before /tmp/vm.after | awk '{ print "VMSTAT", $1, $4 - $2 }'
echo "MODE tlb_pending_filter $mode"
exit $rc
