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
# costs time in the paths that are being timed.  perf-run SHAPE ARG...
# passes the ARGs on: perf-run marks mprotect 64 8 runs tpf-bench marks
# mprotect 64 8 (simple words only: they are kept in one string).
shape=$1
shift
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
fi
set -- "$@" -e page-faults

# "pending [filter] moved never": the bracketed name, as a number.
mode=$(sed -n 's/.*\[\([a-z]*\)\].*/\1/p' \
	/sys/kernel/debug/tlb_pending_filter/mode 2>/dev/null)
case $mode in
pending) mode=0 ;; filter) mode=1 ;; moved) mode=2 ;; never) mode=3 ;;
*) mode=- ;;
esac
grep '^nr_tlb_' /proc/vmstat > /tmp/vm.before
# $args unquoted: split into its words.
perf stat -x, -o /tmp/perf.out "$@" -- /tests/tpf-bench "$shape" $args
rc=$?
grep '^nr_tlb_' /proc/vmstat > /tmp/vm.after
grep -v -e '^#' -e '^$' /tmp/perf.out |
	awk -F, -v reasons="$reasons" '
		BEGIN { n = split(reasons, reason, " "); split("all flush pending", pn, " ") }
		$3 == "tlb:tlb_flush" { $3 = $3 "/reason=" reason[++i] }
		$3 == "tlb_pending_filter:tpf_protnone" { $3 = $3 "/" pn[++j] }
		{ print "PERF " $1 "," $2 "," $3 }'
paste -d' ' /tmp/vm.before /tmp/vm.after | awk '{ print "VMSTAT", $1, $4 - $2 }'
echo "MODE tlb_pending_filter $mode"
exit $rc
