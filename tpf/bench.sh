#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit bench: the workload shapes of tpf/bench/tpf-bench.c
# (a-e and h) in a 4-vCPU guest, counted by perf stat, with
# vm.tlb_pending_filter cycling through its three measured modes in one
# boot: 0 "off" (upstream's mm_tlb_flush_pending() check before the reuse
# decision), 2 "moved" (the same check at the copy point) and 1 "filter"
# (the filter at the copy point).  Shape d (the deferral side) also runs on
# a guest built with CONFIG_TLB_PENDING_FILTER=n, its "off": marking
# happens in every mode of the first.  Writes a table,
# bench-results/bench.json and bench-results/bench.png.

set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tpf/lib.sh"
. "$REPO/tpf/guest.sh"

RESULTS=${BENCH_RESULTS:-$REPO/bench-results}
REPS=${BENCH_REPS:-7}
GUEST_SMP=${BENCH_SMP:-4}
LOGS=$CACHE/logs
BENCH_BIN=$BUILD/bench-bin
BENCH_ROOT=$BUILD/bench-root
mkdir -p "$LOGS" "$RESULTS"

need_packages "${BUILD_PACKAGES[@]}" "${QEMU_X86_PACKAGES[@]}" "${GUEST_PACKAGES[@]}" \
	"perf linux-perf" "gnuplot gnuplot-nox" || exit 1
( ensure_source ) || exit 1

step "[1/6] guest kernel with the filter"
guest_kernel > "$LOGS/bench-build.log" 2>&1 || {
	tail -n 20 "$LOGS/bench-build.log"
	die "guest kernel build failed (log $LOGS/bench-build.log)"
}
step "[2/6] guest kernel with CONFIG_TLB_PENDING_FILTER=n"
printf '# CONFIG_TLB_PENDING_FILTER is not set\n# CONFIG_TLB_PENDING_FILTER_DEBUG_NOFLUSH is not set\n' \
	> "$BUILD/nofilter.config"
guest_kernel "$BUILD/guest-x86_64-nofilter" "$BUILD/nofilter.config" \
	>> "$LOGS/bench-build.log" 2>&1 || {
	tail -n 20 "$LOGS/bench-build.log"
	die "guest kernel (filter off) build failed (log $LOGS/bench-build.log)"
}

step "[3/6] tpf-bench (static) and perf with its libraries"
rm -rf "$BENCH_BIN" "$BENCH_ROOT"
mkdir -p "$BENCH_BIN" "$BENCH_ROOT/usr/bin"
guest_headers > /dev/null
gcc -O2 -Wall -static -isystem "$GUEST_HDR" \
	-o "$BENCH_BIN/tpf-bench" "$REPO/tpf/bench/tpf-bench.c" -lpthread ||
	die "cannot build tpf-bench"
cp "$REPO/tpf/bench/perf-run.sh" "$BENCH_BIN/perf-run"
perf_bin=$(readlink -f "$(command -v perf)")
cp "$perf_bin" "$BENCH_ROOT/usr/bin/perf"
for lib in $(ldd "$perf_bin" | awk '/=> \//{ print $3 } /^\t\/lib/{ print $1 }'); do
	mkdir -p "$BENCH_ROOT$(dirname "$lib")"
	cp -L "$lib" "$BENCH_ROOT$lib"
done
# perf looks for its binary in PATH.
mkdir -p "$BENCH_ROOT/bin"
ln -sf /usr/bin/perf "$BENCH_ROOT/bin/perf"

# off, moved, filter, off, moved, filter, ...: each mode's runs spread over
# the whole boot.
modes=$(for i in $(seq "$REPS"); do printf '0,2,1,'; done | sed 's/,$//')
printf '%s\n' "a|./perf-run a" "b|./perf-run b" "c|./perf-run c" "d|./perf-run d" \
	"e|./perf-run e notrace" "h|./perf-run h" > "$BUILD/bench.list"
printf '%s\n' "d|./perf-run d notrace" > "$BUILD/bench-d.list"

export GUEST_BIN=$BENCH_BIN GUEST_EXTRA_ROOT=$BENCH_ROOT
# The guest has neither HPET nor ACPI PM timer: when its TSC calibration
# against the PIT fails under TCG (it does, now and then), the TSC is
# marked unstable and CLOCK_MONOTONIC runs on jiffies, in 4 ms steps.  Give
# it the host's TSC rate (what TCG's RDTSC counts) and skip the watchdog.
tsc_khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
CLOCK="tsc=reliable${tsc_khz:+ tsc_early_khz=$tsc_khz}"
step "[4/6] guest with the filter: shapes a-e and h, modes off/moved/filter (0,2,1) in turn, $REPS runs each"
guest_run "$BUILD/bench.list" "$LOGS/bench-filter.log" \
	"tpf_modes=$modes tpf_no_sysctl_test $CLOCK" || die "benchmark guest failed"

# Shape d compares two kernels, so two boots, and TCG makes each boot a
# little faster or slower as a whole: alternate the kernels, one boot
# each per run, and compare the medians.
rm -f "$LOGS"/bench-d-*.log
for i in $(seq "$REPS"); do
	step "[5/6] shape d, boot $i of $REPS: filter kernel, then CONFIG_TLB_PENDING_FILTER=n"
	guest_run "$BUILD/bench-d.list" "$LOGS/bench-d-filter-$i.log" \
		"tpf_modes=y tpf_no_sysctl_test $CLOCK" > /dev/null ||
		die "benchmark guest (shape d, filter) failed"
	guest_run "$BUILD/bench-d.list" "$LOGS/bench-d-nofilter-$i.log" \
		"tpf_modes=n tpf_no_sysctl_test $CLOCK" "$BUILD/guest-x86_64-nofilter" > /dev/null ||
		die "benchmark guest (shape d, CONFIG_TLB_PENDING_FILTER=n) failed"
done

step "[6/6] report"
python3 "$REPO/tpf/bench-report.py" "$RESULTS" "$LOGS/bench-filter.log" \
	"$LOGS"/bench-d-*.log
