#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit test-arm64: the KUnit suite cross-built with
# Debian's aarch64 compiler and run under qemu-system-aarch64.
# make -f Makefile.kunit test-i386: the KUnit suite built for 32-bit x86
# and run under qemu-system-i386 (the do_wp_page() cases skip: i386 has no
# uffd-wp).
# make -f Makefile.kunit test-debug: the lab tree's KUnit suite (the
# series' cases, its stress, and the lab's do_wp_page() and mode cases)
# under lockdep + DEBUG_VM + KASAN, then under KCSAN; any kernel report
# fails the run.  All end with "N passed, N failed".

set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tpf/lib.sh"
. "$REPO/tpf/results.sh"

# Reports from the sanitizers and lockdep in a kunit.py log.
no_reports() {
	local name=$1 log=$LOGS/kunit-$1.log n

	n=$(grep -cE 'BUG: KASAN|BUG: KCSAN|WARNING: possible|WARNING: inconsistent|BUG: sleeping|WARNING: CPU|BUG: |Oops' "$log")
	if [ "$n" -eq 0 ]; then
		pass "kunit $name: no KASAN, KCSAN, lockdep or VM reports"
	else
		grep -m5 -E 'BUG: |WARNING: ' "$log"
		fail "kunit $name: $n kernel reports (log $log)"
	fi
}

case "${1:-}" in
arm64)
	need_packages "${BUILD_PACKAGES[@]}" \
		"aarch64-linux-gnu-gcc gcc-aarch64-linux-gnu" \
		"qemu-system-aarch64 qemu-system-arm" || exit 1
	( ensure_source ) || { fail "kernel source and overlay"; summary; }
	kunit_run arm64 arm64 --cross_compile=aarch64-linux-gnu- \
		--kunitconfig="$REPO/tpf/configs/kunit-numa.config" \
		"${KUNIT_QEMU[@]}" --qemu_args=-accel --qemu_args=tcg,thread=multi
	;;
i386)
	need_packages "${BUILD_PACKAGES[@]}" "${QEMU_X86_PACKAGES[@]}" \
		"qemu-system-i386 qemu-system-x86" || exit 1
	( ensure_source ) || { fail "kernel source and overlay"; summary; }
	kunit_run i386 i386 "${KUNIT_QEMU[@]}" \
		--qemu_args=-accel --qemu_args=tcg,thread=multi
	;;
debug)
	# The lab tree: its suite is the series' plus the do_wp_page() cases
	# and every measurement mode, the never-flush one included.
	need_packages "${BUILD_PACKAGES[@]}" "${QEMU_X86_PACKAGES[@]}" || exit 1
	( ensure_lab_source ) || { fail "kernel source, overlay and lab"; summary; }
	kunit_x86_64_lab debug --kunitconfig="$REPO/tpf/configs/kunit-debug.config"
	no_reports debug
	kunit_x86_64_lab kcsan --kunitconfig="$REPO/tpf/configs/kunit-kcsan.config"
	no_reports kcsan
	;;
*)
	die "usage: test-extra.sh arm64|i386|debug"
	;;
esac
summary
