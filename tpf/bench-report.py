#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the benchmark guests' serial logs into a table, JSON and a plot.

bench-report.py OUTDIR LOG...

Each run sits between "TPF-BEGIN <mode> <shape>" and "TPF-END ...".  The
mode is the filter's, as enum tlb_pending_filter_mode numbers it: 0
"pending" (the mm_tlb_flush_pending() check before the reuse decision, as
without the filter; tlb_pending_filter=off), 2 "moved" (the same check
acted on at the copy), 4 "count" (flush if any marking deferrer is
registered in the mm, asked where the filter is asked) and 1 "filter"
(the filter acted on at the copy); n is a kernel built without the
filter.  A run holds tpf-bench's JSON
line, "PERF" lines (perf stat -x,), "VMSTAT name delta" lines and "MODE
tlb_pending_filter <mode in effect>" (read from the debugfs mode file),
which must match the mode the run is filed under, and for the runs named
"callers:SHAPE" (perf-run SHAPE callers) "CAUSE name count" lines: the
shootdown IPIs by the first known caller in their call chain.  Every value is the median of the runs of
its mode.

The "on" of bench.json is the filter's value (mode 1), "ratio" on / off,
"ratio_moved" on / moved, "ratio_count" on / count.  A row may have
several targets: "target" joins them with "; ".

Shape f (copies 1 GiB above a THP region write-protected in a loop) runs in
the same boot; shape g (copies while NUMA balancing scans a heap) in a
second boot with two NUMA nodes, and a g run that saw no NUMA scan
(numa_pte_updates did not move) or one node only does not count.  Their
rows appear when their runs are in the logs, as do the rows of the
"marks:OP" runs (tpf-bench marks, mode 1 only): the filter's tpf_mark
events per call of shape d's deferrals, whose targets are on the filter
column itself ("filter <= 0": mprotect and clear_refs must not mark;
"filter > 0": UFFDIO_WRITEPROTECT must).

The deterministic pass (runs named "cost:OP:MIB", tpf-bench cost) ran
under QEMU's -icount, where a guest nanosecond is one executed
instruction: modes 0 and 1 of the filter kernel, and the kernel built
without the filter (n).  Its rows (shapes d and e) give instructions per
call or fault, the median of the rounds of one run, and the spread of the
rounds, (max - min) / median, which must stay under SPREAD_MAX for the
pass to count as deterministic.  In bench.json they carry "clock":
"instructions", "off" is the CONFIG=n kernel, "on" mode 1, "mode0" mode 0
of the filter kernel, "ratio" on / off and "ratio_mode0" mode0 / off.
"""

import json
import math
import os
import re
import statistics
import subprocess
import sys

BEGIN = re.compile(r'^TPF-BEGIN (\S+) (\S+)\s*$')
END = re.compile(r'^TPF-END (\S+) (\S+) rc=(\d+)')

# Column of the table and of bench.json -> mode of the filter kernel.
MODES = {'off': '0', 'moved': '2', 'count': '4', 'on': '1'}
# A target is a ratio of the table, or the filter column itself: its
# bench.json key and its name.
RATIO_NAME = {'ratio': 'filter/off', 'ratio_moved': 'filter/moved',
              'ratio_count': 'filter/count', 'on': 'filter'}
RATIO_BASE = {'ratio': 'off', 'ratio_moved': 'moved', 'ratio_count': 'count'}
# perf-run SHAPE callers: the causes of shootdown IPIs, in its order.
CAUSES = ('scanner', 'migration', 'reclaim', 'pageout', 'fault', 'zap', 'other')


def parse(path):
    runs, cur = [], None
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\r\n')
            m = BEGIN.match(line)
            if m:
                cur = {'mode': m.group(1), 'shape': m.group(2), 'perf': {},
                       'vmstat': {}, 'bench': None, 'ran_mode': None,
                       'cause': {}, 'log': path}
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
            elif line.startswith('CAUSE '):
                _, name, count = line.split()
                cur['cause'][name] = int(count)
            elif line.startswith('MODE tlb_pending_filter '):
                cur['ran_mode'] = line.split()[2]
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


def problem(r):
    """Why a run does not count, or None."""
    b = r['bench']
    shape = r['shape'].split(':')[-1]
    if r['shape'].startswith(('real:', 'callers:real:')) and b and \
            b.get('shape') == 'real' and not b.get('pgmigrate_success'):
        return 'no migration in the run'
    if shape in ('n', 'p', 's') and b and b.get('shape') == shape and \
            b.get('nodes', 0) < 2:
        return f"{b.get('nodes')} NUMA node(s): {shape} needs two"
    if r['shape'].startswith('callers:') and not r['cause'] and r['rc'] == 0:
        return 'no CAUSE lines (perf record or perf script failed)'
    if r['shape'] == 'g' and b and b.get('shape') == 'g':
        if not b.get('numa_pte_updates'):
            return 'no NUMA hinting scan during the copies (numa_pte_updates did not move)'
        if b.get('nodes', 0) < 2:
            return f"{b.get('nodes')} NUMA node(s): g needs two"
    if r['rc'] != 0:
        return f"rc {r['rc']}"
    if not r['bench']:
        return 'no tpf-bench output'
    # guest-init.sh writes the switch only for the modes it knows: a run
    # filed under a mode it did not set ran in the previous one.
    if r['mode'] in MODES.values() and r['ran_mode'] not in (None, r['mode']):
        return f"filed under mode {r['mode']} but ran in mode {r['ran_mode']}"
    return None


def values(runs, shape, mode, get):
    out = []
    for r in runs:
        if r['shape'] == shape and r['mode'] == mode and not problem(r):
            v = get(r)
            if v is not None:
                out.append(v)
    return out


def median(xs):
    return statistics.median(xs) if xs else None


def quotient(num, den):
    if num is None or den is None:
        return None
    if den == 0:
        return 1.0 if num == 0 else None
    return num / den


def goal_parts(goal):
    """(key, limit as written, comparison): '<=' unless a third element
    says '>'."""
    return goal[0], goal[1], goal[2] if len(goal) > 2 else '<='


def goal_list(goal):
    """None, one goal or a list of them -> a list."""
    if not goal:
        return []
    return list(goal) if isinstance(goal, list) else [goal]


def row(shape, metric, short, kind, vals, goal=None, samples=None, per_op=False):
    """vals: column ('off', 'moved', 'count', 'on') -> the runs' values; a
    column missing from vals does not exist for the row ("-").  goal:
    (ratio key, limit as written[, '>']), or a list of them.  kind:
    'count', 'time', 'rate' (a ratio to theory), 'marks' (tpf_mark per
    call) or 'info' (what a shape did, such as f's THPs or g's NUMA scans);
    the plot shows 'count' and 'rate', on a linear scale if per_op (a
    count per operation, which is often below 1)."""
    med = {c: median(vals[c]) if c in vals else None for c in MODES}
    goals = goal_list(goal)
    r = {'shape': shape, 'metric': metric,
         'off': med['off'], 'moved': med['moved'], 'count': med['count'],
         'on': med['on'],
         'ratio': quotient(med['on'], med['off']),
         'ratio_moved': quotient(med['on'], med['moved']),
         'ratio_count': quotient(med['on'], med['count']),
         'runs': min(len(v) for v in vals.values()),
         'target': ('; '.join(f'{RATIO_NAME[g[0]]} {goal_parts(g)[2]} {g[1]}'
                              for g in goals) or 'report'),
         # Not in bench.json:
         '_short': short, '_kind': kind, '_goals': goals, '_per_op': per_op,
         '_samples': samples or []}
    return r


def met_goal(r, g):
    key, limit, cmp = goal_parts(g)
    if r[key] is None:
        return False
    return r[key] > float(limit) if cmp == '>' else r[key] <= float(limit)


def met(r):
    """None without a target, else whether every target is met."""
    if not r['_goals']:
        return None
    return all(met_goal(r, g) for g in r['_goals'])


def goal_text(goal):
    """The limit as the mail table gives it: '0.05', '>0', or 'c0.10' for a
    ratio to count, 'm0.05' to moved."""
    key, limit, cmp = goal_parts(goal)
    prefix = {'ratio_count': 'c', 'ratio_moved': 'm'}.get(key, '')
    return prefix + (limit if cmp == '<=' else f'{cmp}{limit}')


def fmt(v):
    if v is None:
        return '-'
    if isinstance(v, float) and not v.is_integer():
        return f'{v:.4g}'
    return f'{int(v)}'


# The deterministic pass: operation -> shape, what one call is, target.
COST_OPS = {
    'mprotect': ('d', 'mprotect(PROT_READ)', '1.02'),
    'uffd-wp': ('d', 'UFFDIO_WRITEPROTECT', '1.02'),
    'clear-refs': ('d', 'clear_refs soft-dirty', '1.02'),
    'copy': ('e', 'copy fault, 4 KiB page', '1.005'),
    'copy-plain': ('e', 'copy fault, no userfaultfd', '1.005'),
    'thp-copy': ('e', 'copy fault on a THP (split)', '1.005'),
    'migrate': ('n', 'move_pages() of every page', '1.01'),
    'pageout': ('p', 'MADV_PAGEOUT', '1.01'),
    'numa-scan': ('s', 'NUMA scan step (task_numa_work), 4 KiB', '1.01'),
    'numa-scan-thp': ('s', 'NUMA scan step (task_numa_work), THP', '1.01'),
}
COST_KERNELS = {'off': 'n', 'mode0': '0', 'on': '1'}
SPREAD_MAX = 0.005


def cost_runs(runs):
    """(op, MiB, mode) -> the ns list of the first good run."""
    out = {}
    for r in runs:
        b = r['bench']
        if not r['shape'].startswith('cost:') or problem(r) or b.get('shape') != 'cost':
            continue
        key = (b['op'], b['bytes'] >> 20, r['mode'])
        out.setdefault(key, {'ns': b['ns'], 'bytes': b['bytes'],
                             'splits': b.get('splits', 0), 'calls': b['calls']})
    return out


def cost_rows(runs):
    found = cost_runs(runs)
    rows = []
    for op, (shape, what, limit) in COST_OPS.items():
        for mib in sorted({k[1] for k in found if k[0] == op}):
            cols, spread = {}, {}
            for c, m in COST_KERNELS.items():
                v = found.get((op, mib, m))
                if v and v['ns']:
                    med = statistics.median(v['ns'])
                    cols[c] = med
                    spread[c] = (max(v['ns']) - min(v['ns'])) / med if med else None
                else:
                    cols[c] = None
            size = f'{mib} MiB' if mib else '<1 MiB'
            unit = 'fault' if shape == 'e' else 'step' if shape == 's' else 'call'
            off, on = cols['off'], cols['on']
            # A range smaller than a page table still walks one.
            pages, tables = (mib << 20) // 4096, max((mib << 20) // (2 << 20), 1)
            per = (lambda v: None) if shape == 'e' else (lambda v: v and v / tables)
            rows.append({
                'shape': shape, 'op': op, 'bytes': mib << 20,
                'metric': f'{what} {size}: instructions per {unit}',
                'clock': 'instructions',
                'off': off, 'mode0': cols['mode0'], 'on': on,
                'ratio': quotient(on, off),
                'ratio_mode0': quotient(cols['mode0'], off),
                'spread': max((v for v in spread.values() if v is not None), default=None),
                'per_table_off': per(off), 'per_table_on': per(on),
                'per_page_off': None if shape == 'e' else off and off / pages,
                'per_page_on': None if shape == 'e' else on and on / pages,
                'target': f'filter/off <= {limit}',
                '_goals': [('ratio', limit)]})
    return rows


def print_cost_table(rows):
    print('deterministic pass: guest time under QEMU -icount, 1 ns = 1 instruction;')
    print('off = kernel built without the filter, mode 0 / filter = filter kernel;')
    print('median of the rounds; spread = (max - min) / median, largest of the three')
    print(f"{'shape':<5} {'metric':<58} {'off':>10} {'mode 0':>10} {'filter':>10} "
          f"{'filter/off':>10} {'0/off':>7} {'spread':>7}  {'per table':>15}  "
          f"{'per page':>11}  target")
    print(f"{'':<5} {'':<58} {'':>10} {'':>10} {'':>10} {'':>10} {'':>7} {'':>7}  "
          f"{'off/filter':>15}  {'off/filter':>11}")
    for r in rows:
        pt = (f"{r['per_table_off']:.0f}/{r['per_table_on']:.0f}"
              if r['per_table_off'] is not None and r['per_table_on'] is not None else '-')
        pp = (f"{r['per_page_off']:.1f}/{r['per_page_on']:.1f}"
              if r['per_page_off'] is not None and r['per_page_on'] is not None else '-')
        sp = '-' if r['spread'] is None else f"{100 * r['spread']:.2f}%"
        print(f"{r['shape']:<5} {r['metric']:<58} {fmt(r['off']):>10} {fmt(r['mode0']):>10} "
              f"{fmt(r['on']):>10} {fmt(r['ratio']):>10} {fmt(r['ratio_mode0']):>7} "
              f"{sp:>7}  {pt:>15}  {pp:>11}  {r['target']}")
    spreads = [r['spread'] for r in rows if r['spread'] is not None]
    if not rows:
        print('  (no deterministic runs)')
    elif any(r['off'] is None or r['on'] is None or r['mode0'] is None for r in rows):
        print('the deterministic pass is incomplete: a kernel or mode has no run')
    elif max(spreads) >= SPREAD_MAX:
        print(f'the pass is NOT deterministic: a spread of {100 * max(spreads):.2f}% '
              f'(limit {100 * SPREAD_MAX:.1f}%)')
    else:
        print(f'the pass is deterministic: largest spread {100 * max(spreads):.3f}% '
              f'(limit {100 * SPREAD_MAX:.1f}%)')
    print()


# The real programs' two-letter names in the mail table.
MAIL_SHAPE = {'real:redis': 'rd', 'real:node': 'js'}


def mail_table(rows, crows):
    """The same numbers in at most 72 columns, for a cover letter."""
    out = ['Counts (4 vCPUs, TCG; medians of the runs of each mode; targets:',
           'filter/off at most unless named, for b measured/theory):']
    extra = [text for text, there in (
        ('for d filter marks per call', any(r['_kind'] == 'marks' for r in rows)),
        ('g, n, p and s in a boot with two NUMA nodes',
         any(r['shape'] in ('g', 'n', 'p', 's') for r in rows)),
        ('rd redis and js Node.js in that boot too',
         any(r['shape'] in MAIL_SHAPE for r in rows))) if there]
    if extra:
        out[-1] = out[-1][:-2] + ','
        out += [e + (';' if i < len(extra) - 1 else '):') for i, e in enumerate(extra)]
    out += ['', f"{'':<2} {'':<22} {'off':>8} {'moved':>8} {'count':>8} {'filter':>8}  target"]
    for r in (r for r in rows if r['_kind'] != 'cause'):
        short = r['_short'].replace('\n', ' ')[:22]
        ok = met(r)
        verdict = '' if ok is None else ' met' if ok else ' NOT met'
        goal = ','.join(goal_text(g) for g in r['_goals']) + verdict
        shape = MAIL_SHAPE.get(r['shape'], r['shape'])
        out.append(f"{shape:<2} {short:<22} {fmt(r['off']):>8} {fmt(r['moved']):>8} "
                   f"{fmt(r['count']):>8} {fmt(r['on']):>8}  {goal}")
    if crows:
        out += ['', 'Costs in instructions (QEMU -icount, one vCPU; off = the same config',
                'without the series; medians of 5 rounds; spread = largest (max-min)/median):',
                '',
                f"{'':<2} {'':<11} {'MiB':>5} {'off':>9} {'mode 0':>9} {'filter':>9} "
                f"{'ratio':>6} {'spread':>6}"]
        for r in crows:
            sp = '-' if r['spread'] is None else f"{100 * r['spread']:.2f}%"
            ratio = '-' if r['ratio'] is None else f"{r['ratio']:.3f}"
            num = lambda v: '-' if v is None else f'{v:.0f}'
            out.append(f"{r['shape']:<2} {r['op']:<11} {r['bytes'] >> 20:>5} {num(r['off']):>9} "
                       f"{num(r['mode0']):>9} {num(r['on']):>9} {ratio:>6} {sp:>6}")
    return '\n'.join(line.rstrip() for line in out) + '\n'


def cost_deterministic(rows):
    return bool(rows) and all(
        r['spread'] is not None and r['spread'] < SPREAD_MAX and
        None not in (r['off'], r['on'], r['mode0']) for r in rows)


def build_rows(runs):
    rows = []

    def add(shape, metric, short, kind, get, goal=None, modes=MODES, per_op=False):
        vals = {c: values(runs, shape, m, get) for c, m in modes.items()}
        rows.append(row(shape, metric, short, kind, vals, goal, per_op=per_op))

    def bench(key):
        return lambda r: r['bench'].get(key)

    flush = lambda r: r['perf'].get('tlb_pending_filter:wp_flush')
    # enum tlb_flush_reason: 4 is TLB_REMOTE_SEND_IPI, traced by the sender.
    ipis = lambda r: r['perf'].get('tlb:tlb_flush/reason=4')
    remote = lambda r: r['vmstat'].get('nr_tlb_remote_flush')
    # Copy faults in a uffd-wp VMA as the kernel saw them, else as made.
    copies = lambda r: r['perf'].get('tlb_pending_filter:wp_copy_check',
                                     r['bench'].get('copies'))

    # Every shape leads with what costs: the shootdown IPIs its process
    # sent, and the remote flushes (vmstat, CONFIG_DEBUG_TLBFLUSH); a, b,
    # c, h, f, g and w do the same work in every mode, so their counts
    # compare as they are.
    def cost_rows_of(shape):
        add(shape, 'TLB shootdown IPIs sent (tlb_flush reason 4)',
            'shootdown\nIPIs', 'count', ipis)
        add(shape, 'remote TLB flushes (vmstat nr_tlb_remote_flush)',
            'remote\nflushes', 'count', remote)

    cost_rows_of('a')
    add('a', 'do_wp_page() flushes (uffd-wp writers vs zaps)',
        'do_wp_page()\nflushes', 'count', flush, ('ratio', '0.01'))
    # b: the filter's false positives against the rate a uniform hash
    # gives; both come from the filter's runs, theory in the "off" column.
    fp = lambda r: (r['bench']['filter_hits'] / r['bench']['filter_tests']
                    if r['bench'].get('filter_tests') else None)
    theo = lambda r: (r['bench']['mean_set_buckets'] / 64
                      if r['bench'].get('filter_tests') else None)
    per_run = lambda r: quotient(fp(r), theo(r))
    cost_rows_of('b')
    rows.append(row('b', 'false-pos. rate: off = theory (set/64), filter = measured',
                    'measured /\ntheory', 'rate',
                    {'off': values(runs, 'b', '1', theo),
                     'on': values(runs, 'b', '1', fp)},
                    ('ratio', '1.2'), values(runs, 'b', '1', per_run)))
    add('b', 'do_wp_page() flushes (COW copies vs single-page wp)',
        'do_wp_page()\nflushes', 'count', flush)
    cost_rows_of('c')
    add('c', 'do_wp_page() flushes (256 MiB UFFDIO_WRITEPROTECT)',
        'do_wp_page()\nflushes', 'count', flush, ('ratio', '0.10'))
    add('c', '  of which inside the range (reuse faults)',
        'inside\n(reuses)', 'count', bench('in_flushes'))
    add('c', '  of which outside the range (copies)',
        'outside\n(copies)', 'count', bench('out_flushes'))
    cost_rows_of('h')
    add('h', 'do_wp_page() flushes (copies vs zaps and wp)',
        'do_wp_page()\nflushes', 'count', flush,
        [('ratio_moved', '0.05'), ('ratio_count', '0.10')])
    add('h', 'copy faults in the uffd-wp VMA (wp_copy_check)',
        'copy\nfaults', 'count', copies)

    # The shapes that came after h, when their runs are there.
    present = {r['shape'] for r in runs}
    if 'f' in present:
        cost_rows_of('f')
        add('f', 'do_wp_page() flushes (copies vs 64 MiB THP wp loop)',
            'do_wp_page()\nflushes', 'count', flush)
        add('f', '  of which in the region 1 GiB above (copies)',
            'far region\n(copies)', 'count', bench('far_flushes'), ('ratio', '0.05'))
        add('f', 'AnonHugePages of the 64 MiB THP region, KiB',
            'THP KiB (smaps)', 'info', bench('anon_huge_kb'))
    for shape, what in (('w', 'single pages'), ('v', 'whole regions')):
        if shape not in present:
            continue
        cost_rows_of(shape)
        add(shape, f'do_wp_page() flushes of the copies between two wp loops ({what})',
            'do_wp_page()\nflushes', 'count', bench('far_flushes'))
        full = lambda r: quotient(r['bench'].get('full_tests'),
                                  r['bench'].get('far_tests') or None)
        add(shape, '  filter tests answered with all 64 buckets set (share)',
            'full tests', 'info', full, modes={'on': '1'})
        add(shape, '  time with users > 0 (share of the traced window)',
            'users busy', 'info', bench('users_busy'))
        add(shape, '  longest stretch of users > 0, seconds',
            'users longest', 'info', bench('users_longest_s'))
        add(shape, '  UFFDIO_WRITEPROTECT marks per reset of the filter',
            'marks/reset', 'info',
            lambda r: quotient(r['bench'].get('marks'), r['bench'].get('resets') or None))
    if 'g' in present:
        cost_rows_of('g')
        add('g', 'do_wp_page() flushes (copies vs NUMA hinting scans)',
            'do_wp_page()\nflushes', 'count', flush)
        add('g', '  of which in the uffd-wp region 1 GiB above the heap',
            'uffd-wp\n(copies)', 'count', bench('far_flushes'),
            [('ratio', '0.10'), ('ratio_count', '0.10')])
        add('g', 'copy faults in the uffd-wp VMA (wp_copy_check)',
            'copy\nfaults', 'count', copies)
        add('g', 'NUMA PTE updates during the copies (vmstat)',
            'NUMA PTE updates', 'info', bench('numa_pte_updates'))
        add('g', 'NUMA hinting faults during the copies (vmstat)',
            'NUMA hinting faults', 'info', bench('numa_hint_faults'))
    # n, p and s: the PROT_NONE decisions, per migration and per page out.
    pn = lambda what: lambda r: r['perf'].get(f'tlb_pending_filter:tpf_protnone/{what}')
    # A run's count divided by its operations, tpf-bench's JSON member key.
    per_op = lambda get, key: lambda r: quotient(get(r), r['bench'].get(key) or None)

    def cause_rows(shape, unit, key):
        """The IPIs by cause per operation, from shape's callers runs."""
        cshape = f'callers:{shape}'
        if cshape not in present:
            return
        for cause in CAUSES:
            get = lambda r, cause=cause: r['cause'].get(cause)
            add(cshape, f'  IPIs per {unit} from {cause}', cause, 'cause', per_op(get, key))

    for shape, unit, units, key, goal in (
            ('n', 'migration', 'migrations', 'pgmigrate_success', ('ratio', '0.10')),
            ('p', 'page paged out', 'pages paged out', 'pswpout', ('ratio', '0.05')),
            ('s', 'hinting-fault migration', 'hinting-fault migrations',
             'numa_pages_migrated', [('ratio', '0.10'), ('ratio_count', '0.10')])):
        if shape not in present:
            continue
        per = lambda get, key=key: per_op(get, key)
        add(shape, f'TLB shootdown IPIs per {unit} (tlb_flush reason 4)',
            'shootdown\nIPIs', 'count', per(ipis), per_op=True)
        add(shape, f'remote TLB flushes per {unit} (vmstat)',
            'remote\nflushes', 'count', per(remote), per_op=True)
        add(shape, f'PROT_NONE flush decisions per {unit}',
            'PROT_NONE\nflushes', 'count', per(pn('flush')), goal, per_op=True)
        # tpf_protnone fires only while some flush is pending in the mm,
        # when the mm-wide answer is "flush": all of them.
        add(shape, f'  PROT_NONE PTEs met while a flush was pending, per {unit}',
            'PROT_NONE\nPTEs met', 'info', per(pn('all')))
        add(shape, f'{units} in the run ({key}, vmstat)',
            units, 'info', bench(key))
        # The IPIs by cause, from one run per mode with call chains.
        cause_rows(shape, unit, key)
    # The real programs (real-run.sh): counts of their own process tree,
    # per migration (the pages moved to node 1 by tpf-bench push and the
    # hinting-fault migrations that bring them back, both in
    # pgmigrate_success), and what they did.  No target: the verdict
    # must read the same as the shapes' (n, s).
    syscall = lambda name: lambda r: r['perf'].get(f'raw_syscalls:sys_enter/{name}')
    for prog, what in (('redis', 'redis-server, redis-benchmark'),
                       ('node', 'Node.js, churn.js')):
        shape = f'real:{prog}'
        if shape not in present:
            continue
        per = lambda get: per_op(get, 'pgmigrate_success')
        add(shape, f'TLB shootdown IPIs per migration ({what})',
            'shootdown\nIPIs', 'count', per(ipis), per_op=True)
        add(shape, 'remote TLB flushes per migration (vmstat)',
            'remote\nflushes', 'count', per(remote), per_op=True)
        add(shape, 'PROT_NONE flush decisions per migration',
            'PROT_NONE\nflushes', 'count', per(pn('flush')), per_op=True)
        add(shape, '  PROT_NONE PTEs met while a flush was pending, per migration',
            'PROT_NONE\nPTEs met', 'info', per(pn('all')))
        add(shape, '  shootdown IPIs in the run', 'IPIs', 'info', ipis)
        add(shape, '  PROT_NONE flush decisions in the run', 'PROT_NONE flushes',
            'info', pn('flush'))
        add(shape, '  PROT_NONE PTEs met while a flush was pending, in the run',
            'PTEs met', 'info', pn('all'))
        add(shape, 'migrations in the run (pgmigrate_success, vmstat)',
            'migrations', 'info', bench('pgmigrate_success'))
        add(shape, '  of which NUMA hinting (numa_pages_migrated)',
            'hinting migrations', 'info', bench('numa_pages_migrated'))
        add(shape, 'madvise() calls of the program (its gathers that free)',
            'madvise', 'info', syscall('madvise'))
        add(shape, 'munmap() calls of the program', 'munmap', 'info', syscall('munmap'))
        units = values(runs, shape, '1', lambda r: r['bench'].get('unit'))
        add(shape, f"its own figure, {units[0] if units else '?'} (TCG: not a machine's)",
            'figure', 'info', bench('figure'))
        cause_rows(shape, 'migration', 'pgmigrate_success')
    # d's deferrals: the filter's marks per call, mode 1 only.
    per_call = lambda r: quotient(r['perf'].get('tlb_pending_filter:tpf_mark'),
                                  r['bench'].get('calls'))
    for op, what, goal in (('mprotect', 'mprotect(PROT_READ)', ('on', '0')),
                           ('uffd-wp', 'UFFDIO_WRITEPROTECT', ('on', '0', '>')),
                           ('clear-refs', 'clear_refs soft-dirty', ('on', '0'))):
        shape = f'marks:{op}'
        if shape not in present:
            continue
        sizes = values(runs, shape, '1', lambda r: r['bench'].get('bytes'))
        size = f'{sizes[0] >> 20} MiB' if sizes else '?'
        rows.append(row('d', f'filter marks (tpf_mark) per {what}, {size}',
                        f'marks per {op}', 'marks',
                        {'on': values(runs, shape, '1', per_call)}, goal))
    # a, b, c and h have rows whether they ran or not (a missing run is a
    # missing value), but in a report of the NUMA boot alone (BENCH_MAIN=0).
    if runs and not present & {'a', 'b', 'c', 'h'}:
        rows = [r for r in rows if r['shape'] not in ('a', 'b', 'c', 'h')]
    return rows


def print_table(rows):
    print(f"{'shape':<5} {'metric':<60} {'off':>9} {'moved':>9} {'count':>9} {'filter':>9} "
          f"{'filter/off':>10} {'filter/moved':>12} {'filter/count':>12} {'runs':>4}  target")
    for r in rows:
        print(f"{r['shape']:<5} {r['metric']:<60} {fmt(r['off']):>9} "
              f"{fmt(r['moved']):>9} {fmt(r['count']):>9} {fmt(r['on']):>9} "
              f"{fmt(r['ratio']):>10} {fmt(r['ratio_moved']):>12} "
              f"{fmt(r['ratio_count']):>12} {r['runs']:>4}  {r['target']}")
    print()
    print('targets:')
    for r in rows:
        for g in r['_goals']:
            key = g[0]
            verdict = 'no data' if r[key] is None else 'met' if met_goal(r, g) else 'NOT met'
            print(f"  {r['shape']}  {r['metric'].strip():<60} "
                  f"{RATIO_NAME[key]} = {fmt(r[key])}, target "
                  f"{RATIO_NAME[key]} {goal_parts(g)[2]} {g[1]}: {verdict}")


# Plot -------------------------------------------------------------------

COLOUR = {'off': '#8c8c8c', 'moved': '#1f77b4', 'count': '#ff7f0e', 'on': '#2ca02c'}
TITLE = {'off': 'off (0)', 'moved': 'moved (2)', 'count': 'count (4)', 'on': 'filter (1)'}
GOAL_COLOUR = '#d62728'
FLOOR = 0.5     # where a zero count is drawn on a log scale
PANEL_TITLE = {
    ('a', 'count'): 'a: uffd-wp reuse faults vs zaps',
    ('b', 'count'): 'b: fork COW copies vs single-page wp',
    ('b', 'rate'): 'b: filter false positives, measured / theory',
    ('c', 'count'): 'c: one 256 MiB UFFDIO_WRITEPROTECT',
    ('h', 'count'): 'h: copies vs zaps and single-page wp',
    ('f', 'count'): 'f: copies 1 GiB above a THP wp loop',
    ('w', 'count'): 'w: copies between two wp loops',
    ('v', 'count'): 'v: the same, whole regions',
    ('g', 'count'): 'g: copies vs NUMA hinting scans',
    ('n', 'count'): 'n: per migration, PROT_NONE PTEs',
    ('p', 'count'): 'p: per page, MADV_PAGEOUT',
    ('s', 'count'): 's: per migration, 1 GiB heap',
    ('real:redis', 'count'): 'redis: per migration',
    ('real:node', 'count'): 'Node.js: per migration',
}


def gp_str(s):
    """A double-quoted gnuplot string (escapes such as \\n are honoured)."""
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n') + '"'


def plot_bars(panel, title):
    """Clustered bars, one cluster per row, off / moved / count / filter
    in it: counts on a log scale, counts per operation on a linear one."""
    log = panel[0]['_kind'] == 'count' and not panel[0]['_per_op']
    out = [f'set title {gp_str(title)} font ",12"']
    present = [r[c] for r in panel for c in MODES if r[c] is not None]
    top = max(present + [1e-9 if not log else 1])
    if log:
        lo = 0.3
        hi = 10 ** (math.log10(lo) + (math.log10(top) - math.log10(lo)) * 1.35)
        out += ['set logscale y', 'set format y "%.0f"',
                'set ylabel "count (log scale)"']
        where = lambda y: math.log10(y / lo) / math.log10(hi / lo)
    else:
        lo, hi = 0, top * 1.3
        unit = 'per operation' if panel[0]['_per_op'] else 'value'
        out += ['unset logscale y', 'set format y "%g"',
                f'set ylabel "{unit} (linear)"']
        where = lambda y: y / hi
    out.append(f'set yrange [{lo}:{hi:.6g}]')
    tics, data = [], []
    width = len(MODES) + 1
    for k, r in enumerate(panel):
        x0 = width * k
        tics.append(f'{gp_str(r["_short"])} {x0 + (len(MODES) - 1) / 2}')
        line = []
        for j, c in enumerate(MODES):
            v, x = r[c], x0 + j
            if v is None:
                line += [str(x), '?']
                out.append(f'set label "n/a" at {x},{0.3 if log else 0} rotate by 90 '
                           f'left offset 0,0.5 font ",8" front')
                continue
            y = FLOOR if log and v < FLOOR else v
            line += [str(x), f'{y:.6g}']
            out.append(f'set label {gp_str(fmt(v))} at {x},{y:.6g} rotate by 90 '
                       f'left offset 0,0.4 font ",8" front')
        data.append(' '.join(line))
        for gi, g in enumerate(r['_goals']):
            key, limit, _ = goal_parts(g)
            base = r[RATIO_BASE[key]] if key in RATIO_BASE else None
            gy = base * float(limit) if base else None
            # Only a line that falls inside the panel.
            if gy is None or gy < (lo if log else 0) or gy > hi:
                continue
            # Across the cluster, named upright in the gap after it,
            # upwards from the line in the lower half, else downwards.
            out.append(f'set arrow from {x0 - 0.6},{gy:.6g} to {x0 + width - 1},{gy:.6g} '
                       f'nohead front lc rgb "{GOAL_COLOUR}" dt (8,4) lw 2.5')
            text = f'goal {limit} x {TITLE[RATIO_BASE[key]].split()[0]}'
            up = where(gy) < 0.5
            # A second goal's name one bar to the left of the first's.
            out.append(f'set label {gp_str(text)} at {x0 + width - 1 - gi},{gy:.6g} rotate by 90 '
                       f'{"left" if up else "right"} offset 0,{0.5 if up else -0.5} '
                       f'font ",8" tc rgb "{GOAL_COLOUR}" front')
    out.append(f'set xrange [-1:{width * len(panel) - 1}]')
    out.append(f'set xtics ({", ".join(tics)}) nomirror font ",10"')
    name = f'$p{id(panel)}'
    out.append(f'{name} << EOD')
    out += data
    out.append('EOD')
    clauses = [f'{name} using {2 * j + 1}:{2 * j + 2} with boxes lc rgb "{COLOUR[c]}" notitle'
               for j, c in enumerate(MODES) if any(r[c] is not None for r in panel)]
    if not clauses:
        out.append('set label "no runs" at graph 0.5,graph 0.5 center font ",12"')
        clauses = ['NaN notitle']
    out.append('plot ' + ', '.join(clauses))
    return out


def plot_rate(r, title):
    """The false-positive rate as a ratio to theory: ideal 1, goal marked."""
    out = [f'set title {gp_str(title)} font ",12"', 'unset logscale y',
           'set format y "%g"', 'set ylabel "measured / theory (linear)"']
    goal = r['_goals'][0] if r['_goals'] else None
    limit = float(goal[1]) if goal else None
    vals = [v for v in [r['ratio']] + r['_samples'] if v is not None]
    top = max(vals + [limit or 1, 1]) * 1.3
    out += [f'set yrange [0:{top:.6g}]', 'set xrange [0:2]',
            'set xtics ("filter (1)\\nmedian" 0.7, "filter (1)\\neach run" 1.5) '
            'nomirror font ",10"']
    if r['ratio'] is None:
        out.append('set label "no data (no tpf_test events)" at graph 0.5,graph 0.5 center')
        out.append('unset key')
        out.append('plot NaN notitle')
        return out
    out.append(f'set label {gp_str(fmt(r["ratio"]))} at 0.7,{r["ratio"]:.6g} center '
               f'offset 0,0.8 font ",9" boxed front')
    name = f'$p{id(r)}'
    out.append(f'{name} << EOD')
    out.append(f'0.7 {r["ratio"]:.6g}')
    out.append('EOD')
    out.append(f'{name}s << EOD')
    n = len(r['_samples'])
    out += [f'{1.5 + (0.5 * (i - (n - 1) / 2) / max(n - 1, 1)):.3f} {v:.6g}'
            for i, v in enumerate(r['_samples'])]
    out.append('EOD')
    lines = ['1 with lines lc rgb "black" dt 3 lw 2 title "ideal 1 (uniform hash)"']
    if limit:
        lines.append(f'{limit} with lines lc rgb "{GOAL_COLOUR}" dt 2 lw 2 '
                     f'title {gp_str("goal <= " + goal[1])}')
    out.append('set key top left opaque box samplen 3 font ",9"')
    out.append(f'plot {name} using 1:2 with boxes lc rgb "{COLOUR["on"]}" notitle, '
               f'{name}s using 1:2 with points pt 7 ps 1.2 lc rgb "{COLOUR["on"]}" notitle, '
               + ', '.join(lines))
    out.append('unset key')
    return out


def plot_legend(runs_per_mode, fewer=''):
    lines = [
        "off (0): upstream's mm_tlb_flush_pending()",
        "    check before the reuse decision",
        'moved (2): the same check at the copy point',
        'count (4): flush if a marking deferrer',
        '    is registered, at the copy point',
        'filter (1): the filter at the copy point',
        '',
        'off -> moved: saved by the placement',
        'count -> filter: saved by buckets, span',
        '',
        'd, e, costs: instruction counts, in the',
        '    text table and bench.json only',
        'b: measured false-positive rate / theory',
        f'medians over {runs_per_mode} runs per mode{fewer}',
        'counts: log scale, 0 drawn at 0.5;',
        '    n, p, s, programs per op.: linear',
        'red dashes: goal = target ratio x the',
        '    mode it is relative to',
    ]
    out = ['unset title', 'unset logscale y', 'unset xtics', 'unset ytics',
           'unset ylabel', 'unset border', 'unset grid', 'set xrange [0:1]',
           'set yrange [0:1]', 'set lmargin 2', 'set rmargin 1',
           'set key at graph 0.02,graph 0.98 left top Left reverse '
           'samplen 2 spacing 1.4 font ",11"']
    for i, text in enumerate(lines):
        out.append(f'set label {gp_str(text)} at graph 0.02,graph {0.70 - i * 0.036:.3f} '
                   f'left font ",10"')
    out.append('plot ' + ', '.join(
        f'NaN with boxes lc rgb "{COLOUR[c]}" title {gp_str(TITLE[c])}' for c in MODES))
    return out


def plot(rows, png):
    panels = []
    rows = [r for r in rows if r['_kind'] in ('count', 'rate')]
    for r in rows:
        key = (r['shape'], r['_kind'])
        if panels and panels[-1][0] == key:
            panels[-1][1].append(r)
        else:
            panels.append((key, [r]))
    runs = max((r['runs'] for r in rows), default=0)
    # g's boot makes fewer runs (BENCH_NUMA_REPS).
    fewer = sorted({r['runs'] for r in rows if r['runs'] < runs})
    fewer = f" (NUMA boot: {', '.join(map(str, fewer))})" if fewer else ''
    cols = 4
    nrows = (len(panels) + 1 + cols - 1) // cols
    script = [
        f'set terminal pngcairo noenhanced size 1600,{500 * nrows} font "DejaVu Sans,10"',
        f'set output {gp_str(png)}',
        'set datafile missing "?"',
        'set style fill solid 0.85 border rgb "#404040"',
        'set boxwidth 0.9',
        'set grid ytics lc rgb "#d0d0d0"',
        'set tics nomirror',
        'set lmargin 10',
        'set bmargin 5',
        'set tmargin 3',
        'set style textbox opaque noborder margins 1,1',
        f'set multiplot layout {nrows},{cols} title "TLB pending filter: '
        f'off / moved / count / filter per shape (medians; lower is better)" font ",14"',
    ]
    for (key, panel) in panels:
        script += ['unset label', 'unset arrow', 'set border 3', 'set ytics font ",9"',
                   'set grid ytics']
        title = PANEL_TITLE.get(key, f'{key[0]}: {key[1]}')
        if key[1] == 'rate':
            script += plot_rate(panel[0], title)
        else:
            script += plot_bars(panel, title)
    script += ['unset label', 'unset arrow']
    script += plot_legend(runs, fewer)
    script.append('unset multiplot')
    subprocess.run(['gnuplot'], input='\n'.join(script) + '\n', text=True,
                   check=True)


def main():
    if len(sys.argv) < 3:
        print('usage: bench-report.py OUTDIR LOG...', file=sys.stderr)
        return 2
    outdir, logs = sys.argv[1], sys.argv[2:]
    runs = [r for log in logs for r in parse(log)]
    for log in logs:
        clock = clocksource(log)
        if clock not in ('tsc', 'tsc-early'):
            print(f'warning: {log}: guest clocksource {clock}: times are coarse')
    bad = [r for r in runs if problem(r)]
    rows = build_rows(runs)
    crows = cost_rows(runs)
    print('count shapes: TCG wall-clock guest, counts from perf stat and tracepoints')
    print_table(rows)
    # f's region must have been THPs, or its write-protects were not THP ones.
    for r in runs:
        if r['shape'] != 'f' or problem(r):
            continue
        kb, size = r['bench'].get('anon_huge_kb', 0), r['bench']['thp_bytes'] >> 10
        if kb < size:
            print(f"warning: f mode {r['mode']}: only {kb} KiB of the {size} KiB "
                  f"region were THPs ({r['log']})")
    print()
    print_cost_table(crows)
    if crows:
        print('targets (instructions):')
        for r in crows:
            ok = met(r)
            verdict = 'no data' if ok is None or r['ratio'] is None else 'met' if ok else 'NOT met'
            print(f"  {r['shape']}  {r['metric']:<58} filter/off = {fmt(r['ratio'])}, "
                  f"target {r['target']}: {verdict}")
        print()
    for r in bad:
        print(f"run failed: shape {r['shape']} mode {r['mode']}: {problem(r)} ({r['log']})")

    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, 'bench-mail.txt'), 'w', encoding='utf-8') as f:
        f.write(mail_table(rows, crows))
    with open(os.path.join(outdir, 'bench.json'), 'w', encoding='utf-8') as f:
        json.dump([{k: v for k, v in r.items() if not k.startswith('_')}
                   for r in rows + crows], f, indent=1)
        f.write('\n')
    png = os.path.join(outdir, 'bench.png')
    try:
        plot(rows, png)
        print(f'wrote {os.path.join(outdir, "bench.json")} and {png}')
    except (OSError, subprocess.CalledProcessError) as e:
        print(f'gnuplot failed: {e}')
        return 1
    if crows and not cost_deterministic(crows):
        return 1
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
