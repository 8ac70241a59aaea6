#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit bench, in two passes.
#
# Counts: the workload shapes a, b, c, h and f of tpf/bench/tpf-bench.c in
# a 4-vCPU guest (multi-threaded TCG, wall-clock time), counted by perf
# stat, on a kernel of the lab tree (the overlay and tpf/lab), whose
# debugfs mode (CONFIG_TLB_PENDING_FILTER_DEBUG) cycles through four
# modes in one boot: 0 "pending" (the
# mm_tlb_flush_pending() check before the reuse decision, as without the
# filter), 2 "moved" (the same check acted on at the copy), 4 "count"
# (flush if any marking deferrer is registered, asked where the filter is)
# and 1 "filter" (the filter acted on at the copy); then shapes w and v
# (saturation); in the same boot, in mode 1 only, shape d's three
# deferrals (tpf-bench marks) with the filter's marks counted per call.
# Then shapes g (NUMA hinting scans), n (migrations of the PROT_NONE PTEs
# they make), p (MADV_PAGEOUT of them) and s (hinting-fault migrations in
# a heap larger than a scan step), and n, p and s once more per mode with
# the call chain of every shootdown IPI recorded (perf-run callers), in a
# second boot of the same kernel with two NUMA nodes and 4 GiB
# (BENCH_NUMA=0 skips it, BENCH_NUMA_SHAPES chooses its shapes), where
# two real programs from the Debian archive, redis and Node.js, run too
# (tpf/real-stage.sh, tpf/bench/real-run.sh; BENCH_REAL=0 leaves them out).
#
# Costs (BENCH_ICOUNT=0 skips them, BENCH_COUNTS=0 the counts): shapes d
# (the deferral side: mprotect, UFFDIO_WRITEPROTECT, soft-dirty
# clear_refs, at 1, 64 and 1024 MiB), e (a copy fault on a 4 KiB page and
# on a THP), and the PROT_NONE answer's callers on ordinary PTEs
# (move_pages() and MADV_PAGEOUT, 1 and 16 MiB, two emulated nodes with
# balancing off), and one NUMA balancing scan step over 256 MiB of 4 KiB
# pages and of THPs (balancing turned on for it) under QEMU's -icount, where guest time counts executed
# instructions, one nanosecond each: a kernel of the product tree (the
# overlay alone, no lab patch) built as a distribution would build it
# (tpf/configs/cost.config: jump labels, no DEBUG_VM), booted as it comes
# (mode 1) and with tlb_pending_filter=off (mode 0), and one of the same
# config without the filter.
#
# Writes a table, bench-results/bench.json and bench-results/bench.png.

set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tpf/lib.sh"
. "$REPO/tpf/guest.sh"

RESULTS=${BENCH_RESULTS:-$REPO/bench-results}
REPS=${BENCH_REPS:-7}
# The NUMA boot's runs per mode: 3, fewer than the other shapes', to keep
# the whole bench within about 50 minutes (a boot costs some tens of
# seconds and a g run, heap population and all, some ten: estimates, to
# be checked against the first run's log).
NUMA=${BENCH_NUMA:-1}
# The first boot (shapes a to w); BENCH_MAIN=0 skips it, to run the NUMA
# boot alone.
MAIN=${BENCH_MAIN:-1}
NUMA_REPS=${BENCH_NUMA_REPS:-3}
# Redis and Node.js in the NUMA boot (tpf/bench/real-run.sh); 0 skips them.
REAL=${BENCH_REAL:-1}
# The first boot's shapes, e.g. BENCH_MAIN_SHAPES="w v" for the saturation
# shapes alone (d's marks runs come with any choice).
MAIN_SHAPES=${BENCH_MAIN_SHAPES-a b c h f w v}
for shape in $MAIN_SHAPES; do
	case $shape in
	a | b | c | h | f | w | v) ;;
	*) die "BENCH_MAIN_SHAPES: '$shape' is not a shape of the first boot (a, b, c, h, f, w, v)" ;;
	esac
done
[ -n "$MAIN_SHAPES" ] || [ "$MAIN" = 0 ] ||
	die "BENCH_MAIN_SHAPES is empty: name shapes of the first boot, or skip it with BENCH_MAIN=0"
# The NUMA boot's shapes: BENCH_NUMA_SHAPES= (empty) leaves the real
# programs alone.
NUMA_SHAPES=${BENCH_NUMA_SHAPES-g n p s}
for shape in $NUMA_SHAPES; do
	case $shape in
	g | n | p | s) ;;
	*) die "BENCH_NUMA_SHAPES: '$shape' is not a shape of the NUMA boot (g, n, p, s)" ;;
	esac
done
[ -n "${NUMA_SHAPES// }" ] || [ "$REAL" != 0 ] || NUMA=0
GUEST_SMP=${BENCH_SMP:-4}
LOGS=${LOGS:-$CACHE/logs}
BENCH_BIN=$BUILD/bench-bin
BENCH_ROOT=$BUILD/bench-root
REAL_ROOT=$BUILD/bench-real-root
mkdir -p "$LOGS" "$RESULTS"

need_packages "${BUILD_PACKAGES[@]}" "${QEMU_X86_PACKAGES[@]}" "${GUEST_PACKAGES[@]}" \
	"perf linux-perf" "gnuplot gnuplot-nox" || exit 1
( ensure_lab_source ) || exit 1

ICOUNT=${BENCH_ICOUNT:-1}
COUNTS=${BENCH_COUNTS:-1}
COST_ROUNDS=${BENCH_COST_ROUNDS:-5}
COST_FILTER=$BUILD/cost-x86_64
COST_NOFILTER=$BUILD/cost-x86_64-nofilter

[ "$COUNTS" != 0 ] || [ "$ICOUNT" != 0 ] ||
	die "BENCH_COUNTS=0 and BENCH_ICOUNT=0 leave nothing to measure"
[ "$COUNTS" = 0 ] || [ "$MAIN" != 0 ] || [ "$NUMA" != 0 ] || [ "$ICOUNT" != 0 ] ||
	die "BENCH_MAIN=0 and BENCH_NUMA=0 leave no count boot, and BENCH_ICOUNT=0 no cost pass"
: > "$LOGS/bench-build.log"
if [ "$COUNTS" != 0 ]; then
	step "[1/6] guest kernel with the filter"
	guest_kernel >> "$LOGS/bench-build.log" 2>&1 || {
		tail -n 20 "$LOGS/bench-build.log"
		die "guest kernel build failed (log $LOGS/bench-build.log)"
	}
fi
if [ "$ICOUNT" != 0 ]; then
	step "[2/6] the deterministic pass's kernels, with and without CONFIG_TLB_PENDING_FILTER"
	printf '# CONFIG_TLB_PENDING_FILTER is not set\n' > "$BUILD/nofilter.config"
	GSRC=$SRC guest_kernel "$COST_FILTER" "$REPO/tpf/configs/cost.config" \
		>> "$LOGS/bench-build.log" 2>&1 &&
	GSRC=$SRC guest_kernel "$COST_NOFILTER" "$REPO/tpf/configs/cost.config" "$BUILD/nofilter.config" \
		>> "$LOGS/bench-build.log" 2>&1 || {
		tail -n 20 "$LOGS/bench-build.log"
		die "cost kernel build failed (log $LOGS/bench-build.log)"
	}
else
	step "[2/6] BENCH_ICOUNT=0: no deterministic pass"
fi

step "[3/6] tpf-bench (static) and perf with its libraries"
rm -rf "$BENCH_BIN" "$BENCH_ROOT"
mkdir -p "$BENCH_BIN" "$BENCH_ROOT/usr/bin"
guest_headers > /dev/null
gcc -O2 -Wall -static -isystem "$GUEST_HDR" \
	-o "$BENCH_BIN/tpf-bench" "$REPO/tpf/bench/tpf-bench.c" -lpthread ||
	die "cannot build tpf-bench"
cp "$REPO/tpf/bench/perf-run.sh" "$BENCH_BIN/perf-run"
cp "$REPO/tpf/bench/real-run.sh" "$BENCH_BIN/real-run"
cp "$REPO/tpf/bench/churn.js" "$BENCH_BIN/churn.js"
perf_bin=$(readlink -f "$(command -v perf)")
cp "$perf_bin" "$BENCH_ROOT/usr/bin/perf"
for lib in $(ldd "$perf_bin" | awk '/=> \//{ print $3 } /^\t\/lib/{ print $1 }'); do
	mkdir -p "$BENCH_ROOT$(dirname "$lib")"
	cp -L "$lib" "$BENCH_ROOT$lib"
done
# perf looks for its binary in PATH.
mkdir -p "$BENCH_ROOT/bin"
ln -sf /usr/bin/perf "$BENCH_ROOT/bin/perf"

# The real programs of the NUMA boot, from the Debian archive this machine
# uses (kept in the cache).
if [ "$COUNTS" != 0 ] && [ "$NUMA" != 0 ] && [ "$REAL" != 0 ]; then
	rm -rf "$REAL_ROOT"
	"$REPO/tpf/real-stage.sh" "$CACHE/real-debs" "$REAL_ROOT" || exit 1
fi

# off, moved, count, filter, off, ...: each mode's runs spread over the
# whole boot.
modes=$(for i in $(seq "$REPS"); do printf '0,2,4,1,'; done | sed 's/,$//')
numa_modes=$(for i in $(seq "$NUMA_REPS"); do printf '0,2,4,1,'; done | sed 's/,$//')
# f after h, so that a, b, c and h run as they did before it came.  The
# marks runs: shape d's deferrals at 64 MiB, 8 calls each, in mode 1 only
# (the deferral side marks alike in every mode), a second or two each.
for shape in $MAIN_SHAPES; do
	echo "$shape|./perf-run $shape"
done > "$BUILD/bench.list"
for op in mprotect uffd-wp clear-refs; do
	echo "marks:$op|./perf-run marks $op 64 8|1"
done >> "$BUILD/bench.list"
# The callers runs: once per mode, the first time it comes.
: > "$BUILD/bench-numa.list"
for shape in $NUMA_SHAPES; do
	echo "$shape|./perf-run $shape"
done >> "$BUILD/bench-numa.list"
for shape in $NUMA_SHAPES; do
	[ "$shape" = g ] || echo "callers:$shape|./perf-run $shape callers|0,2,4,1|once"
done >> "$BUILD/bench-numa.list"
if [ "$REAL" != 0 ]; then
	for prog in redis node; do
		echo "real:$prog|./perf-run real $prog"
		echo "callers:real:$prog|./perf-run real $prog callers|0,2,4,1|once"
	done >> "$BUILD/bench-numa.list"
fi

export GUEST_BIN=$BENCH_BIN GUEST_EXTRA_ROOT=$BENCH_ROOT
# The guest has neither HPET nor ACPI PM timer: when its TSC calibration
# against the PIT fails under TCG (it does, now and then), the TSC is
# marked unstable and CLOCK_MONOTONIC runs on jiffies, in 4 ms steps.  Give
# it the host's TSC rate (what TCG's RDTSC counts) and skip the watchdog.
tsc_khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
CLOCK="tsc=reliable${tsc_khz:+ tsc_early_khz=$tsc_khz}"
count_logs=()
if [ "$COUNTS" != 0 ]; then
	if [ "$MAIN" != 0 ]; then
		step "[4/6] counts: shapes $MAIN_SHAPES, modes off/moved/count/filter (0,2,4,1) in turn, $REPS runs each; d's marks"
		guest_run "$BUILD/bench.list" "$LOGS/bench-filter.log" \
			"tpf_modes=$modes tpf_no_mode_test $CLOCK" || die "benchmark guest failed"
		count_logs=("$LOGS/bench-filter.log")
	fi
	# Two NUMA nodes by NUMA emulation (CONFIG_NUMA_EMU): numa=fake=2
	# splits the guest's 4 GiB (GUEST_MEM: s's heap is 1 GiB) into two
	# nodes of 2 GiB.  Every vCPU is on node 0 (getcpu() says so, and
	# g's hinting faults are all local; both nodes' cpulists name every
	# CPU): node 1 is memory only, which s binds its heap to.  QEMU's
	# -numa would not do: the guest kernel has neither
	# ACPI nor PCI, so no SRAT to find its nodes in.  Balancing on from
	# the command line (two nodes would turn it on anyway, with
	# CONFIG_NUMA_BALANCING_DEFAULT_ENABLED); tpf-bench g sets the scan
	# knobs in debugfs itself.
	if [ "$NUMA" != 0 ]; then
		step "[4/6] counts, a second boot with two NUMA nodes: ${NUMA_SHAPES:+shapes $NUMA_SHAPES }$([ "$REAL" = 0 ] || echo "redis node"), modes 0,2,4,1 in turn, $NUMA_REPS runs each, and one with the IPIs' callers but g's"
		# The real programs add about two minutes per mode and run
		# (redis's some 65 s, node's some 55 s): twice the timeout.
		numa_timeout=$GUEST_TIMEOUT
		[ "$REAL" = 0 ] || numa_timeout=$((2 * GUEST_TIMEOUT))
		GUEST_MEM=4096 GUEST_EXTRA_ROOT=$BENCH_ROOT:$REAL_ROOT GUEST_TIMEOUT=$numa_timeout \
			guest_run "$BUILD/bench-numa.list" "$LOGS/bench-numa.log" \
			"tpf_modes=$numa_modes tpf_no_mode_test numa=fake=2 numa_balancing=enable $CLOCK" ||
			die "NUMA benchmark guest failed"
		count_logs+=("$LOGS/bench-numa.log")
	fi
else
	step "[4/6] BENCH_COUNTS=0: no counts"
fi

cost_logs=()
if [ "$ICOUNT" != 0 ]; then
	# One line per operation and size; each run is a warm-up round and
	# COST_ROUNDS timed ones, in modes 0 and 1 of the filter kernel and on
	# the kernel without it (n); the list gives all three, each boot runs
	# the lines of its own mode.
	# The fault side first, on a fresh boot: the migrations and page-outs
	# leave memory on the other node and in swap, which changed the
	# allocator's path for the copies after them, round by round, in one
	# kernel and not in the other (2026-12-03: copy's rounds rose from
	# 2649 to 2657 in the filter kernel after them, flat at 2642 before).
	printf '%s\n' "cost:copy:128|./tpf-bench cost copy 128 $COST_ROUNDS|0,1,n" \
		"cost:copy-plain:128|./tpf-bench cost copy-plain 128 $COST_ROUNDS|0,1,n" \
		"cost:thp-copy:256|./tpf-bench cost thp-copy 256 $COST_ROUNDS|0,1,n" \
		> "$BUILD/bench-cost.list"
	for op in mprotect uffd-wp clear-refs; do
		for mib in 1 64 1024; do
			echo "cost:$op:$mib|./tpf-bench cost $op $mib $COST_ROUNDS|0,1,n"
		done
	done >> "$BUILD/bench-cost.list"
	for op in migrate pageout; do
		for mib in 1 16; do
			echo "cost:$op:$mib|./tpf-bench cost $op $mib $COST_ROUNDS|0,1,n"
		done
	done >> "$BUILD/bench-cost.list"
	# Last: they turn balancing on (and off again when done).
	for op in numa-scan numa-scan-thp; do
		echo "cost:$op:256|./tpf-bench cost $op 256 $COST_ROUNDS|0,1,n"
	done >> "$BUILD/bench-cost.list"
	# -icount needs single-threaded TCG; the TSC then counts instructions
	# at 1 GHz (shift=0), which the guest is told instead of calibrating.
	# One vCPU: with more, the others' instructions advance the same
	# clock.  The kernel's own background work that would land in some
	# rounds and not in others is turned down: no address-space
	# randomisation (page-table layout), THP only where madvised (no
	# khugepaged scans of the other runs), no proactive compaction, no
	# per-second vmstat folding.
	export GUEST_ACCEL=tcg,thread=single
	export GUEST_QEMU_EXTRA="-icount shift=0,sleep=off"
	GUEST_SMP=${BENCH_COST_SMP:-1}
	cost_args="tsc=reliable tsc_early_khz=1000000 norandmaps transparent_hugepage=madvise"
	cost_args="$cost_args sysctl.vm.compaction_proactiveness=0 sysctl.vm.stat_interval=3600"
	# Two nodes for the migrations, balancing off: no scan, no PROT_NONE PTE.
	cost_args="$cost_args numa=fake=2 numa_balancing=disable"
	# The filter kernel is the product's, as a distribution builds
	# it: booted once as it comes (mode 1) and once tlb_pending_filter=off
	# (mode 0).
	step "[5/6] costs under -icount: the filter kernel"
	guest_run "$BUILD/bench-cost.list" "$LOGS/bench-cost-filter.log" \
		"tpf_modes=1 tpf_no_mode_test $cost_args" "$COST_FILTER" ||
		die "deterministic pass (filter kernel) failed"
	step "[5/6] costs under -icount: the filter kernel, tlb_pending_filter=off"
	guest_run "$BUILD/bench-cost.list" "$LOGS/bench-cost-off.log" \
		"tpf_modes=0 tpf_no_mode_test tlb_pending_filter=off $cost_args" \
		"$COST_FILTER" ||
		die "deterministic pass (filter kernel, off) failed"
	step "[5/6] costs under -icount: the kernel without the filter"
	guest_run "$BUILD/bench-cost.list" "$LOGS/bench-cost-nofilter.log" \
		"tpf_modes=n tpf_no_mode_test $cost_args" "$COST_NOFILTER" ||
		die "deterministic pass (CONFIG_TLB_PENDING_FILTER=n) failed"
	cost_logs=("$LOGS/bench-cost-filter.log" "$LOGS/bench-cost-off.log"
		   "$LOGS/bench-cost-nofilter.log")
fi

step "[6/6] report"
python3 "$REPO/tpf/bench-report.py" "$RESULTS" "${count_logs[@]}" "${cost_logs[@]}" |
	tee "$RESULTS/bench.txt"
rc=${PIPESTATUS[0]}
echo "table: $RESULTS/bench.txt"
exit "$rc"
