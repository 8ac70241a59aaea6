#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read the serial log of a test guest (tpf/guest-init.sh) and judge it.

Each test ran between "TPF-BEGIN <mode> <name>" and "TPF-END <mode> <name>
rc=<rc>".  A test passes with exit 0 and is skipped with exit 4 (KSFT_SKIP);
anything else fails.  Within kselftest (TAP) output, "ok" lines make the
test's pass set and "# SKIP" lines its skips.  The pass set of a test must
be the same in modes 0, 1 and 2.  Mode 3 (never flush before a copy, a
debug option) is information: its results are listed, never judged.  Any
kernel WARNING, BUG or Oops fails the run.

A "TPF-RETRY <mode> <name> rc=<rc>" line after a test's end (lines marked
"retry" in the test list, the upstream userfaultfd selftests) means the
guest ran it again: the second run is judged, the first is listed as a
retried failure with its first error line, never hidden.

Prints one line per test and mode, then "PASSED N FAILED N" counts as the
last line; the exit status is 1 if anything failed.
"""

import json
import re
import sys

BEGIN = re.compile(r'^TPF-BEGIN (\S+) (\S+)\s*$')
END = re.compile(r'^TPF-END (\S+) (\S+) rc=(\d+)(?: start=(\S+) end=(\S+))?')
RETRY = re.compile(r'^TPF-RETRY (\S+) (\S+) rc=(\d+)')
ERROR_LINE = re.compile(r'(ERROR|error|not ok|FAIL)')
TAP = re.compile(r'^(not ok|ok) \d+ ?(.*?)\s*$')
UFFD_UNIT = re.compile(r'^Testing (.+?)\.\.\. (done|skipped|failed)')
NUMBER = re.compile(r'\d+(\.\d+)?')
TOTALS = re.compile(r'^# Totals: pass:(\d+) fail:(\d+) xfail:\d+ xpass:\d+ skip:(\d+)')
KERNEL_BAD = re.compile(r'(WARNING: CPU|BUG: |Oops|Kernel panic|general protection fault|KASAN|KCSAN)')
MODE_NAME = {'0': 'off', '1': 'on', '2': 'moved', '3': 'never', '4': 'count', '-': '-'}
JUDGED_MODES = ('0', '1', '2')


def parse(lines, retried=None):
    tests, cur, bad = [], None, []
    for raw in lines:
        line = raw.rstrip('\r\n')
        if KERNEL_BAD.search(line):
            bad.append(line.strip())
        m = RETRY.match(line)
        if m and cur is None and tests and \
                (tests[-1]['mode'], tests[-1]['name']) == m.group(1, 2):
            first = tests.pop()
            if retried is not None:
                retried.append(first)
            continue
        m = BEGIN.match(line)
        if m:
            cur = {'mode': m.group(1), 'name': m.group(2), 'ok': set(),
                   'not_ok': set(), 'skip': set(), 'totals': None,
                   'lines': []}
            continue
        m = END.match(line)
        if m and cur is not None:
            cur['rc'] = int(m.group(3))
            if m.group(4):
                cur['seconds'] = float(m.group(5)) - float(m.group(4))
            tests.append(cur)
            cur = None
            continue
        if cur is None:
            continue
        cur['lines'].append(line)
        m = TAP.match(line) or UFFD_UNIT.match(line)
        if m:
            # Numbers in names are measurements ("Extra pages 3"), not names.
            name = NUMBER.sub('N', m.group(1 if m.re is UFFD_UNIT else 2))
            verdict = m.group(2 if m.re is UFFD_UNIT else 1)
            if '# SKIP' in name or verdict == 'skipped':
                cur['skip'].add(name.split('# SKIP')[-1].strip() or name)
            elif verdict in ('ok', 'done'):
                cur['ok'].add(name)
            else:
                cur['not_ok'].add(name)
        m = TOTALS.match(line)
        if m:
            cur['totals'] = tuple(int(x) for x in m.groups())
    return tests, bad, cur


def main():
    log = sys.argv[1]
    out_json = sys.argv[2] if len(sys.argv) > 2 else None
    retried = []
    with open(log, encoding='utf-8', errors='replace') as f:
        tests, bad, unfinished = parse(f, retried)

    passed = failed = 0
    failures, rows = [], []
    if unfinished is not None:
        failed += 1
        failures.append(f"{unfinished['name']} (mode {MODE_NAME.get(unfinished['mode'])}): never finished")
    for line in bad:
        failed += 1
        failures.append(f'kernel: {line}')

    for t in tests:
        mode = MODE_NAME.get(t['mode'], t['mode'])
        if t['mode'] == '3' and t['name'] != 'set-mode':
            status = 'info'
        elif t['rc'] == 0 and not t['not_ok']:
            status = 'pass'
            passed += 1
        elif t['rc'] == 4:
            status = 'skip'
        else:
            status = 'FAIL'
            failed += 1
            detail = ', '.join(sorted(t['not_ok'])[:5])
            failures.append(f"{t['name']} (mode {mode}): exit {t['rc']}" +
                            (f'; not ok: {detail}' if detail else ''))
        tot = t['totals']
        counts = (f'pass {tot[0]} fail {tot[1]} skip {tot[2]}' if tot else
                  f'{len(t["ok"])} ok, {len(t["not_ok"])} not ok, {len(t["skip"])} skip'
                  if (t['ok'] or t['not_ok'] or t['skip']) else 'no TAP')
        secs = f" {t['seconds']:.0f}s" if 'seconds' in t else ''
        print(f"{t['name']:<24} mode {mode:<5} {status:<4} ({counts}){secs}")
        for s in sorted(t['skip'])[:8]:
            print(f'    skipped: {s}')
        if len(t['skip']) > 8:
            print(f"    skipped: ... {len(t['skip']) - 8} more kinds")
        rows.append({'name': t['name'], 'mode': mode, 'status': status,
                     'rc': t['rc'], 'pass': sorted(t['ok']),
                     'fail': sorted(t['not_ok']), 'skip': sorted(t['skip']),
                     'seconds': t.get('seconds')})

    # The same tests must pass whatever the mode.
    by_name = {}
    for t in tests:
        if t['mode'] in JUDGED_MODES:
            by_name.setdefault(t['name'], {})[t['mode']] = t
    for name, modes in sorted(by_name.items()):
        first = min(modes)
        a = modes[first]
        for m, b in sorted(modes.items()):
            if (a['rc'] == 0) != (b['rc'] == 0) or a['ok'] != b['ok']:
                failed += 1
                diff = sorted(a['ok'] ^ b['ok'])[:5]
                failures.append(f'{name}: pass set differs between modes '
                                f'{MODE_NAME[first]} and {MODE_NAME[m]}' +
                                (f' ({", ".join(diff)})' if diff else ''))

    retries = []
    for t in retried:
        mode = MODE_NAME.get(t['mode'], t['mode'])
        why = next((x.strip() for x in t['lines'] if ERROR_LINE.search(x)),
                   'no error line')
        retries.append(f"{t['name']} (mode {mode}): exit {t['rc']}, run again: {why}")
        print(f'retried: {retries[-1]}')

    if out_json:
        with open(out_json, 'w', encoding='utf-8') as f:
            json.dump({'tests': rows, 'failures': failures,
                       'retried': retries}, f, indent=1)
    for line in failures:
        print(f'FAILED: {line}')
    print(f'PASSED {passed} FAILED {failed}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
