#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark guests' serial logs into a table, JSON and a plot.

bench-report.py OUTDIR LOG...

Each run sits between "TPF-BEGIN <mode> <shape>" and "TPF-END ...": mode 0
is vm.tlb_pending_filter=0 (upstream's check), 1 the filter, y the filter
kernel booted for shape d alone, n a kernel built without the filter.  A run holds tpf-bench's JSON line, "PERF" lines (perf
stat -x,) and "VMSTAT name delta" lines.  Every value is the median of the
runs of its mode.
"""

import json
import os
import re
import statistics
import subprocess
import sys

BEGIN = re.compile(r'^TPF-BEGIN (\S+) (\S+)\s*$')
END = re.compile(r'^TPF-END (\S+) (\S+) rc=(\d+)')


def parse(path):
    runs, cur = [], None
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\r\n')
            m = BEGIN.match(line)
            if m:
                cur = {'mode': m.group(1), 'shape': m.group(2), 'perf': {},
                       'vmstat': {}, 'bench': None}
                continue
            m = END.match(line)
            if m and cur:
                cur['rc'] = int(m.group(3))
                runs.append(cur)
                cur = None
                continue
            if cur is None:
                continue
            if line.startswith('{"shape"'):
                cur['bench'] = json.loads(line)
            elif line.startswith('PERF '):
                fields = line[5:].split(',')
                if len(fields) >= 3 and fields[0].strip().isdigit():
                    cur['perf'][fields[2]] = int(fields[0])
            elif line.startswith('VMSTAT '):
                _, name, delta = line.split()
                cur['vmstat'][name] = int(float(delta))
    return runs


def clocksource(path):
    """The guest's clocksource at the end of the run (TPF-DONE)."""
    clock = 'unknown'
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            m = re.match(r'^TPF-(?:GUEST-UP|DONE) .*clocksource=(\S*)', line)
            if m:
                clock = m.group(1) or 'unknown'
    return clock


def values(runs, shape, mode, get):
    out = []
    for r in runs:
        if r['shape'] == shape and r['mode'] == mode and r['rc'] == 0 and r['bench']:
            v = get(r)
            if v is not None:
                out.append(v)
    return out


def median(xs):
    return statistics.median(xs) if xs else None


def row(shape, metric, off, on, target, note=''):
    m_off, m_on = median(off), median(on)
    ratio = None
    if m_off not in (None, 0) and m_on is not None:
        ratio = m_on / m_off
    elif m_off == 0 and m_on == 0:
        ratio = 1.0
    return {'shape': shape, 'metric': metric, 'off': m_off, 'on': m_on,
            'ratio': ratio, 'runs': min(len(off), len(on)), 'target': target,
            'note': note}


def fmt(v):
    if v is None:
        return '-'
    if isinstance(v, float) and not v.is_integer():
        return f'{v:.4g}'
    return f'{int(v)}'


def main():
    outdir, logs = sys.argv[1], sys.argv[2:]
    runs = [r for log in logs for r in parse(log)]
    for log in logs:
        clock = clocksource(log)
        if clock not in ('tsc', 'tsc-early'):
            print(f'warning: {log}: guest clocksource {clock}: times are coarse')
    bad = [r for r in runs if r['rc'] != 0 or not r['bench']]
    rows = []

    def add(shape, metric, get, target, modes=('0', '1')):
        rows.append(row(shape, metric, values(runs, shape, modes[0], get),
                        values(runs, shape, modes[1], get), target))

    def bench(key):
        return lambda r: r['bench'].get(key)

    flush = lambda r: r['perf'].get('tlb_pending_filter:wp_flush')
    # enum tlb_flush_reason: 4 is TLB_REMOTE_SEND_IPI, traced by the sender.
    ipis = lambda r: r['perf'].get('tlb:tlb_flush/reason=4')
    remote = lambda r: r['vmstat'].get('nr_tlb_remote_flush')

    add('a', 'do_wp_page() flushes (async uffd-wp writers vs zaps)', flush, '<= 0.01')
    add('a', 'TLB shootdown IPIs sent (tlb:tlb_flush reason 4)', ipis, 'report')
    add('a', 'remote TLB flushes (vmstat nr_tlb_remote_flush)', remote, 'report')
    # b: the filter's false positives against the rate a uniform hash gives.
    fp = lambda r: (r['bench']['filter_hits'] / r['bench']['filter_tests']
                    if r['bench'].get('filter_tests') else None)
    theo = lambda r: (r['bench']['mean_set_buckets'] / 64
                      if r['bench'].get('filter_tests') else None)
    rows.append(row('b', 'false-positive rate (off: theoretical set/64, on: measured)',
                    values(runs, 'b', '1', theo), values(runs, 'b', '1', fp),
                    '<= 1.2'))
    add('b', 'do_wp_page() flushes (COW copies vs single-page wp)', flush, 'report')
    add('c', 'do_wp_page() flushes (256 MiB UFFDIO_WRITEPROTECT)', flush, '<= 0.10')
    add('c', '  of which inside the range (reuse faults)', bench('in_flushes'), 'report')
    add('c', '  of which outside the range (copies)', bench('out_flushes'), 'report')
    add('c', 'TLB shootdown IPIs sent (tlb:tlb_flush reason 4)', ipis, 'report')
    add('d', 'mprotect(PROT_READ) 64 MiB, min us, CONFIG=n vs =y kernel',
        bench('mprotect_us_min'), '<= 1.02', ('n', 'y'))
    add('d', 'UFFDIO_WRITEPROTECT 64 MiB, min us, CONFIG=n vs =y kernel',
        bench('uffd_wp_us_min'), '<= 1.02', ('n', 'y'))
    # Both modes of the filter kernel mark: the same boot shows only noise.
    add('d', 'mprotect(PROT_READ) of 64 MiB, min us (same boot, 0 vs 1)',
        bench('mprotect_us_min'), 'report')
    add('e', 'copy fault with nothing pending, min ns', bench('fault_ns_min'), '<= 1.01')

    print(f"{'shape':<5} {'metric':<62} {'off':>10} {'on':>10} {'ratio':>8} {'runs':>4}  target")
    for r in rows:
        print(f"{r['shape']:<5} {r['metric']:<62} {fmt(r['off']):>10} {fmt(r['on']):>10} "
              f"{fmt(r['ratio']):>8} {r['runs']:>4}  {r['target']}")
    for r in bad:
        print(f"run failed: shape {r['shape']} mode {r['mode']} rc {r.get('rc')}")

    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, 'bench.json'), 'w', encoding='utf-8') as f:
        json.dump(rows, f, indent=1)
        f.write('\n')

    # One bar per row: the on/off ratio.
    dat = os.path.join(outdir, 'bench.dat')
    with open(dat, 'w', encoding='utf-8') as f:
        for i, r in enumerate(rows):
            label = f"{r['shape']}: {r['metric'].strip()[:18]}".replace('"', "'")
            f.write(f'{i} "{label}" {r["ratio"] if r["ratio"] is not None else 0}\n')
    png = os.path.join(outdir, 'bench.png')
    script = f'''
set terminal pngcairo noenhanced size 1100,650
set output "{png}"
set title "TLB pending filter: on/off ratio per shape (lower is better; 1 = no change)"
set style fill solid 0.6
set boxwidth 0.6
set yrange [0:*]
set grid ytics
set xtics rotate by -35 font ",8"
set bmargin 9
set ylabel "ratio on / off"
plot "{dat}" using 1:3:xtic(2) with boxes notitle, 1 with lines dt 2 title "1.0"
'''
    try:
        subprocess.run(['gnuplot'], input=script, text=True, check=True)
        os.unlink(dat)
        print(f'wrote {os.path.join(outdir, "bench.json")} and {png}')
    except (OSError, subprocess.CalledProcessError) as e:
        print(f'gnuplot failed: {e}')
        return 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
