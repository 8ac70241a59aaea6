#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit test-arm64: the KUnit suite cross-built with
# Debian's aarch64 compiler and run under qemu-system-aarch64.
# make -f Makefile.kunit test-i386: the KUnit suite built for 32-bit x86
# and run under qemu-system-i386 (the do_wp_page() cases skip: i386 has no
# uffd-wp).
# make -f Makefile.kunit test-debug: the KUnit suite (and its stress
# cases) under lockdep + DEBUG_VM + KASAN, then under KCSAN; any kernel
# report fails the run.  All end with "N passed, N failed".

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
	need_packages "${BUILD_PACKAGES[@]}" "${QEMU_X86_PACKAGES[@]}" || exit 1
	( ensure_source ) || { fail "kernel source and overlay"; summary; }
	kunit_run debug x86_64 --kunitconfig="$REPO/tpf/configs/kunit-debug.config" \
		--kunitconfig="$REPO/tpf/configs/kunit-numa.config" \
		--kunitconfig="$REPO/tpf/configs/kunit-modes.config" \
		"${KUNIT_QEMU[@]}" --qemu_args=-accel --qemu_args=tcg,thread=multi
	no_reports debug
	kunit_run kcsan x86_64 --kunitconfig="$REPO/tpf/configs/kunit-kcsan.config" \
		--kunitconfig="$REPO/tpf/configs/kunit-numa.config" \
		--kunitconfig="$REPO/tpf/configs/kunit-modes.config" \
		"${KUNIT_QEMU[@]}" --qemu_args=-accel --qemu_args=tcg,thread=multi
	no_reports kcsan
	;;
*)
	die "usage: test-extra.sh arm64|i386|debug"
	;;
esac
summary
