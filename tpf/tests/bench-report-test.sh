#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tpf/bench-report.py on synthetic serial logs, without a guest: a filter
# boot with modes 0,2,1 and shapes a-e and h, and shape d's boots on the
# filter kernel (y) and on the CONFIG_TLB_PENDING_FILTER=n kernel (n), in
# the format guest-init.sh and perf-run.sh print.  Checks the rows of
# bench.json, that the plot is written, and that a run filed under a mode
# the switch was not in is refused.  The numbers are made up.
#
#   bench-report-test.sh [WORKDIR]     (default /tmp/bench-synth)
#
# Prints "ok: bench-report: ..." or "FAILED: bench-report: ..." per check.

set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
WORK=${1:-/tmp/bench-synth}
rc=0

rm -rf "$WORK"
mkdir -p "$WORK"

python3 - "$WORK" <<'EOF'
import json, random, sys

work = sys.argv[1]
rng = random.Random(1)
REPS = 7

def n(v, spread=0.05):
    return max(0, int(round(v * rng.uniform(1 - spread, 1 + spread))))

# Per shape and mode: (tpf-bench JSON, perf counts, vmstat deltas).
def run(shape, mode):
    perf, vm = {}, {}
    flt = {'0': 1.0, '2': 1.0, '1': 1.0, 'y': 1.0, 'n': 1.0}[mode]
    if shape == 'a':
        flushes = {'0': 738, '2': 0, '1': 0}[mode]
        ipis = {'0': 1010, '2': 131, '1': 131}[mode]
        bench = {'shape': 'a', 'writers': 3, 'faults': 32736, 'zaps': n(600), 'round_us': 65850.4}
        perf['tlb_pending_filter:wp_flush'] = n(flushes)
        perf['tlb:tlb_flush/reason=4'] = n(ipis)
        vm['nr_tlb_remote_flush'] = n(ipis + 1)
    elif shape == 'b':
        tests = 16384 if mode == '1' else 0
        hits = n(44) if tests else 0
        bench = {'shape': 'b', 'copies': 16384, 'single_page_wps': n(11000),
                 'copy_ns': 9000.0, 'filter_tests': tests, 'filter_hits': hits,
                 'mean_set_buckets': round(0.172 * rng.uniform(0.95, 1.05), 4) if tests else 0}
        perf['tlb_pending_filter:wp_flush'] = n({'0': 4730, '2': 4700, '1': 44}[mode])
        perf['tlb:tlb_flush/reason=4'] = n(900)
    elif shape == 'c':
        inside = {'0': 32, '2': 0, '1': 0}[mode]
        outside = n(20)
        bench = {'shape': 'c', 'wp_bytes': 268435456, 'rounds': 20, 'wp_ms': 40.0,
                 'in_flushes': n(inside), 'out_flushes': outside,
                 'out_tests': 0, 'out_hits': 0}
        perf['tlb_pending_filter:wp_flush'] = bench['in_flushes'] + outside
        perf['tlb:tlb_flush/reason=4'] = n(5300)
    elif shape == 'd':
        m = {'0': 673, '2': 680, '1': 695, 'y': 650, 'n': 750}[mode]
        u = {'0': 700, '2': 690, '1': 710, 'y': 640, 'n': 800}[mode]
        bench = {'shape': 'd', 'bytes': 67108864, 'calls': 30,
                 'mprotect_us': m * 1.2, 'mprotect_us_min': n(m),
                 'uffd_wp_us': u * 1.2, 'uffd_wp_us_min': n(u)}
    elif shape == 'e':
        bench = {'shape': 'e', 'faults': 65536, 'fault_ns': 7000.0,
                 'fault_ns_min': n({'0': 5972, '2': 6000, '1': 6406}[mode])}
    elif shape == 'h':
        bench = {'shape': 'h', 'writers': 2, 'copies': 16384, 'zaps': n(300),
                 'wps': n(3000), 'seconds': 9.5}
        perf['tlb_pending_filter:wp_flush'] = n({'0': 9100, '2': 9000, '1': 95}[mode])
        perf['tlb_pending_filter:wp_copy_check'] = 16384
        perf['tlb:tlb_flush/reason=4'] = n({'0': 9500, '2': 9400, '1': 600}[mode])
    perf['page-faults'] = n(40000)
    return bench, perf, vm

def emit(f, mode, shape, sysctl, clock_t):
    bench, perf, vm = run(shape, mode)
    f.write(f'TPF-BEGIN {mode} {shape}\n')
    f.write(json.dumps(bench) + '\n')
    for ev, v in perf.items():
        f.write(f'PERF {v},,{ev}\n')
    for name in ('nr_tlb_remote_flush', 'nr_tlb_remote_flush_received',
                 'nr_tlb_local_flush_all', 'nr_tlb_local_flush_one'):
        f.write(f'VMSTAT {name} {vm.get(name, n(50))}\n')
    f.write(f'SYSCTL vm.tlb_pending_filter {sysctl}\n')
    f.write(f'TPF-END {mode} {shape} rc=0 start={clock_t:.2f} end={clock_t + 3:.2f}\n')

def log(path, modes, shapes, sysctl=lambda m: m, kernel='6.12.0'):
    t = 5.0
    with open(path, 'w') as f:
        f.write(f'TPF-GUEST-UP cpus=4 kernel={kernel} clocksource=tsc\n')
        for mode in modes:
            for shape in shapes:
                emit(f, mode, shape, sysctl(mode), t)
                t += 3.5
        f.write('TPF-DONE clocksource=tsc\n')

log(f'{work}/bench-filter.log', ['0', '2', '1'] * REPS, 'abcdeh')
for i in range(1, REPS + 1):
    log(f'{work}/bench-d-filter-{i}.log', ['y'], 'd', lambda m: '1')
    log(f'{work}/bench-d-nofilter-{i}.log', ['n'], 'd', lambda m: '-')
# A guest whose init does not know mode 2: the switch stays at 0.
log(f'{work}/bench-stale.log', ['0', '2', '1'], 'h', lambda m: '1' if m == '1' else '0')
EOF

ok() { echo "ok: bench-report: $1"; }
bad() { echo "FAILED: bench-report: $1"; rc=1; }

python3 "$REPO/tpf/bench-report.py" "$WORK/out" "$WORK/bench-filter.log" \
	"$WORK"/bench-d-*.log > "$WORK/report.txt" 2>&1
report_rc=$?
cat "$WORK/report.txt"
if [ $report_rc -eq 0 ]; then ok "report exits 0"; else bad "report exited $report_rc"; fi
if [ -s "$WORK/out/bench.png" ]; then ok "bench.png written"; else bad "no bench.png"; fi

python3 - "$WORK/out/bench.json" <<'EOF' || rc=1
import json, sys
rows = json.load(open(sys.argv[1]))
fails = []
def check(what, cond):
    print(f"{'ok' if cond else 'FAILED'}: bench-report: {what}")
    if not cond:
        fails.append(what)
keys = ["shape", "metric", "off", "moved", "on", "ratio", "ratio_moved", "runs", "target"]
check('every row has exactly the documented keys', all(list(r) == keys for r in rows))
check('shapes a b c d e h', sorted({r['shape'] for r in rows}) == list('abcdeh'))
check('7 runs per mode in every row', all(r['runs'] == 7 for r in rows))
d = [r for r in rows if 'CONFIG=n' in r['metric']]
check("d's kernel rows have no moved column", len(d) == 2 and all(r['moved'] is None and r['ratio_moved'] is None for r in d))
a = rows[0]
check('a: off 738ish, moved and filter 0', a['shape'] == 'a' and 690 < a['off'] < 790 and a['moved'] == 0 and a['on'] == 0 and a['ratio'] == 0)
h = [r for r in rows if r['shape'] == 'h'][0]
check('h: flush target on filter/moved', h['target'] == 'filter/moved <= 0.05' and h['ratio_moved'] < 0.05)
b = [r for r in rows if r['shape'] == 'b'][0]
check('b: rate row has no moved, ratio near 1', b['moved'] is None and 0.8 < b['ratio'] < 1.2)
sys.exit(1 if fails else 0)
EOF

python3 "$REPO/tpf/bench-report.py" "$WORK/out-stale" "$WORK/bench-stale.log" \
	> "$WORK/report-stale.txt" 2>&1
stale_rc=$?
if [ $stale_rc -ne 0 ] && grep -q 'filed under mode 2 but ran in mode 0' "$WORK/report-stale.txt"; then
	ok "a mode-2 run that ran in mode 0 is refused"
else
	bad "a mode-2 run that ran in mode 0 was not refused (exit $stale_rc)"
fi
exit $rc
