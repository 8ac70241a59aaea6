#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tpf/bench-report.py on synthetic serial logs, without a guest: a filter
# boot with modes 0,2,1 and shapes a, b, c and h, and the deterministic
# pass's boots (tpf-bench cost) on the filter kernel (modes 0 and 1) and on
# the CONFIG_TLB_PENDING_FILTER=n kernel (n), in the format guest-init.sh
# and perf-run.sh print.  Checks the rows of bench.json, that the plot is
# written, that a run filed under a mode the switch was not in is refused,
# and that a cost run whose rounds spread by 0.5 % or more fails the
# report.  The numbers are made up.
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

log(f'{work}/bench-filter.log', ['0', '2', '1'] * REPS, 'abch')

# The deterministic pass: instructions per call, 5 rounds within 0.2 %.
COST = {('mprotect', 1): 40000, ('mprotect', 64): 1900000,
        ('uffd-wp', 1): 42000, ('uffd-wp', 64): 2000000,
        ('clear-refs', 1): 60000, ('copy', 16): 3900, ('thp-copy', 512): 21000}
SLOWER = {'n': 1.0, '0': 1.001, '1': 1.004}

def cost_log(path, modes, sysctl, jitter=0.001):
    with open(path, 'w') as f:
        f.write('TPF-GUEST-UP cpus=2 kernel=6.12.0 clocksource=tsc\n')
        for mode in modes:
            for (op, mib), ns in COST.items():
                name = f'cost:{op}:{mib}'
                rounds = [round(ns * SLOWER[mode] * (1 + jitter * (i - 2) / 2), 1)
                          for i in range(5)]
                f.write(f'TPF-BEGIN {mode} {name}\n')
                f.write(json.dumps({'shape': 'cost', 'op': op, 'bytes': mib << 20,
                                    'calls': 4, 'ns': rounds, 'splits': 0}) + '\n')
                f.write(f'TPF-END {mode} {name} rc=0 start=1.00 end=2.00\n')
        f.write('TPF-DONE clocksource=tsc\n')

cost_log(f'{work}/bench-cost-filter.log', ['0', '1'], None)
cost_log(f'{work}/bench-cost-nofilter.log', ['n'], None)
cost_log(f'{work}/bench-cost-noisy.log', ['n'], None, jitter=0.01)
# A guest whose init does not know mode 2: the switch stays at 0.
log(f'{work}/bench-stale.log', ['0', '2', '1'], 'h', lambda m: '1' if m == '1' else '0')
EOF

ok() { echo "ok: bench-report: $1"; }
bad() { echo "FAILED: bench-report: $1"; rc=1; }

python3 "$REPO/tpf/bench-report.py" "$WORK/out" "$WORK/bench-filter.log" \
	"$WORK/bench-cost-filter.log" "$WORK/bench-cost-nofilter.log" > "$WORK/report.txt" 2>&1
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
count = [r for r in rows if r.get('clock') != 'instructions']
cost = [r for r in rows if r.get('clock') == 'instructions']
check('every count row has exactly the documented keys', all(list(r) == keys for r in count))
check('count shapes a b c h', sorted({r['shape'] for r in count}) == list('abch'))
check('7 runs per mode in every count row', all(r['runs'] == 7 for r in count))
check('7 cost rows, shapes d and e', len(cost) == 7 and {r['shape'] for r in cost} == {'d', 'e'})
check('cost metrics say instructions', all('instructions' in r['metric'] for r in cost))
mp1 = [r for r in cost if r['op'] == 'mprotect' and r['bytes'] == 1 << 20][0]
check('mprotect 1 MiB: off 40000, filter/off 1.004, spread 0.2%',
      mp1['off'] == 40000 and abs(mp1['ratio'] - 1.004) < 1e-6 and abs(mp1['spread'] - 0.002) < 1e-4)
check('mprotect 64 MiB: per table = per call / 32',
      [abs(r['per_table_off'] - 1900000 / 32) < 1e-6 for r in cost
       if r['op'] == 'mprotect' and r['bytes'] == 64 << 20] == [True])
check('copy faults have no per-table cost',
      all(r['per_table_off'] is None for r in cost if r['shape'] == 'e'))
a = rows[0]
check('a: off 738ish, moved and filter 0', a['shape'] == 'a' and 690 < a['off'] < 790 and a['moved'] == 0 and a['on'] == 0 and a['ratio'] == 0)
h = [r for r in rows if r['shape'] == 'h'][0]
check('h: flush target on filter/moved', h['target'] == 'filter/moved <= 0.05' and h['ratio_moved'] < 0.05)
b = [r for r in rows if r['shape'] == 'b'][0]
check('b: rate row has no moved, ratio near 1', b['moved'] is None and 0.8 < b['ratio'] < 1.2)
sys.exit(1 if fails else 0)
EOF

if grep -q 'the pass is deterministic' "$WORK/report.txt"; then
	ok "a 0.2 % spread is deterministic"
else
	bad "a 0.2 % spread was not called deterministic"
fi
python3 "$REPO/tpf/bench-report.py" "$WORK/out-noisy" "$WORK/bench-filter.log" \
	"$WORK/bench-cost-filter.log" "$WORK/bench-cost-noisy.log" > "$WORK/report-noisy.txt" 2>&1
noisy_rc=$?
if [ $noisy_rc -ne 0 ] && grep -q 'the pass is NOT deterministic' "$WORK/report-noisy.txt"; then
	ok "a 1 % spread fails the report"
else
	bad "a 1 % spread did not fail the report (exit $noisy_rc)"
fi

python3 "$REPO/tpf/bench-report.py" "$WORK/out-stale" "$WORK/bench-stale.log" \
	> "$WORK/report-stale.txt" 2>&1
stale_rc=$?
if [ $stale_rc -ne 0 ] && grep -q 'filed under mode 2 but ran in mode 0' "$WORK/report-stale.txt"; then
	ok "a mode-2 run that ran in mode 0 is refused"
else
	bad "a mode-2 run that ran in mode 0 was not refused (exit $stale_rc)"
fi
exit $rc
