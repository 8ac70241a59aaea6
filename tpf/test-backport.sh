#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The backport's part of make -f Makefile.kunit test, run with TPF_KVER=6.12
# (logs in $CACHE/logs/6.12): the overlay, with backport/6.12/, applies to
# Debian's linux-source-6.12; the KUnit suite passes on x86_64; the touched
# objects build with the filter on, and with it off as upstream's, on x86_64
# and i386.  One "ok:" or "FAILED:" line per check, for test.sh to count;
# make -f Makefile.kunit test-6.12 runs the whole suite on 6.12 instead.

set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tpf/lib.sh"
. "$REPO/tpf/results.sh"

[ "$KVER_WANT" != "$KVER_SERIES" ] ||
	die "test-backport.sh: set TPF_KVER to a backport (6.12), not $KVER_WANT"

if ! (ensure_source) > "$LOGS/source.log" 2>&1; then
	tail -n 5 "$LOGS/source.log"
	fail "$KVER_WANT: kernel source and overlay (log $LOGS/source.log)"
	exit 1
fi
pass "$KVER_WANT: $(grep '^overlay:' "$LOGS/source.log" | sed 's/^overlay: //; s/ at .*//')"

kunit_x86_64 "$KVER_WANT-x86_64"
config_off_checks "$KVER_WANT"
[ "$failed" -eq 0 ]
