#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the cases of a family of suites in kunit.py's --json output.

The family of SUITE is SUITE itself and every suite named SUITE_*.
Prints "PASSED FAILED SKIPPED" for the leaf cases under them (a
parameterised case counts once per parameter) and one line per failed or
crashed case on stderr.  Exits 1 if SUITE itself is absent.
"""

import json
import sys


def walk(group, path, counts, failures):
    name = group.get('name', '')
    path = path + [name] if name else path
    for case in group.get('test_cases', []):
        status = case.get('status', 'ERROR')
        full = '.'.join(path + [case.get('name', '?')])
        if status == 'PASS':
            counts[0] += 1
        elif status == 'SKIP':
            counts[2] += 1
        else:
            counts[1] += 1
            failures.append(f'{full}: {status}')
    for sub in group.get('sub_groups', []):
        walk(sub, path, counts, failures)


def find(group, suite, found):
    name = group.get('name', '')
    if name == suite or name.startswith(suite + '_'):
        found.append(group)
        return found
    for sub in group.get('sub_groups', []):
        find(sub, suite, found)
    return found


def main():
    path, suite = sys.argv[1], sys.argv[2]
    with open(path, encoding='utf-8') as f:
        root = json.load(f)
    groups = find(root, suite, [])
    if not any(g.get('name') == suite for g in groups):
        print(f'{path}: no results for suite {suite}', file=sys.stderr)
        return 1
    counts, failures = [0, 0, 0], []
    for group in groups:
        walk(group, [], counts, failures)
    for line in failures:
        print(f'FAILED: {line}', file=sys.stderr)
    print(*counts)
    return 0


if __name__ == '__main__':
    sys.exit(main())
