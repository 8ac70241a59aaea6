#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit test: the KUnit suite under QEMU with the filter
# built in, and the CONFIG_TLB_PENDING_FILTER=n build of every object the
# overlay touches, checked against upstream.  Ends with "N passed, N failed".

set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tpf/lib.sh"

passed=0
failed=0
failures=()

pass() {
	passed=$((passed + ${2:-1}))
	echo "ok: $1"
}

fail() {
	failed=$((failed + ${2:-1}))
	failures+=("$1")
	echo "FAILED: $1"
}

summary() {
	local f

	echo
	for f in "${failures[@]}"; do
		echo "failed: $f"
	done
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

LOGS=$CACHE/logs
mkdir -p "$LOGS"

# checks NAME CMD...: count the "ok:" and "FAILED:" lines CMD prints.
checks() {
	local name=$1 out line n=0
	shift

	out=$("$@" 2>&1)
	local status=$?
	while IFS= read -r line; do
		case "$line" in
		ok:*) pass "${line#ok: }"; n=$((n + 1)) ;;
		FAILED:*) fail "${line#FAILED: }"; n=$((n + 1)) ;;
		*) echo "$line" ;;
		esac
	done <<< "$out"
	if [ "$status" -ne 0 ] && ! grep -q '^FAILED:' <<< "$out"; then
		fail "$name: exit $status"
	elif [ $n -eq 0 ]; then
		fail "$name: no result"
	fi
}

need_packages "${BUILD_PACKAGES[@]}" "${QEMU_X86_PACKAGES[@]}" \
	"spin spin" "setpriv util-linux" || exit 1
( ensure_source ) || {
	fail "kernel source and overlay"
	summary
}

# --- The protocol model and the tooling's handling of bad input ----------
step "model checking tpf/model/tlb_pending_filter.pml with spin"
checks model "$REPO/tpf/model/check.sh" "$CACHE/model"
if [ -z "${KSRC:-}" ]; then
	step "tooling tests"
	checks tooling "$REPO/tpf/tests/tooling.sh" "$PRISTINE" "$CACHE/tooling-test"
fi

# --- KUnit under QEMU ----------------------------------------------------
# kunit_run ARCH QEMU_ARGS... : runs the suite, counts its cases.
kunit_run() {
	local arch=$1 log json counts p f s min_cases=15
	shift
	log=$LOGS/kunit-$arch.log
	json=$LOGS/kunit-$arch.json
	rm -f "$json"
	mkdir -p "$BUILD"
	step "KUnit on $arch under QEMU ($*), log: $log"
	(cd "$SRC" && python3 tools/testing/kunit/kunit.py run \
		--arch="$arch" --build_dir="$BUILD/kunit-$arch" \
		--kunitconfig="$REPO/tpf/configs/kunit.config" \
		--jobs="$JOBS" --timeout=900 --json="$json" \
		"${KUNIT_EXTRA[@]}" "$@") > "$log" 2>&1
	local rc=$?
	grep -E '^\[[0-9:]+\] (=|\[|Testing complete|Elapsed|Ran )' "$log" | tail -n 40

	if [ ! -s "$json" ] || ! counts=$(python3 "$REPO/tpf/kunit-count.py" "$json" tlb_pending_filter); then
		tail -n 30 "$log"
		fail "kunit $arch: no results for suite tlb_pending_filter (kunit.py exit $rc, log $log)"
		return
	fi
	read -r p f s <<< "$counts"
	[ "$p" -gt 0 ] && pass "kunit $arch: tlb_pending_filter cases" "$p"
	[ "$f" -gt 0 ] && fail "kunit $arch: $f tlb_pending_filter cases (see $log)" "$f"
	[ "$s" -gt 0 ] && echo "skipped: kunit $arch: $s tlb_pending_filter cases"
	if [ $((p + f + s)) -lt $min_cases ]; then
		fail "kunit $arch: only $((p + f + s)) tlb_pending_filter cases ran, expected >= $min_cases"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail "kunit $arch: kunit.py exited $rc (log $log)"
	fi
}

# vCPUs: as many as host CPUs, 2 to 4.  More vCPUs than host CPUs turns
# every contended spin loop into a wait for the host to reschedule the
# lock holder's vCPU thread (the suite's stress took 240 s at -smp 4 on
# 2 host cores, 6 s at -smp 2).
KUNIT_SMP=${KUNIT_SMP:-$(n=$(nproc); echo $((n < 2 ? 2 : n > 4 ? 4 : n)))}
KUNIT_EXTRA=()
if [ "${TPF_SKIP_KUNIT:-}" != 1 ]; then
	kunit_run x86_64 --qemu_args=-smp --qemu_args="$KUNIT_SMP" \
		--qemu_args=-accel --qemu_args=tcg,thread=multi
fi

# --- CONFIG_TLB_PENDING_FILTER=n ------------------------------------------
if "$REPO/tpf/config-off.sh" > "$LOGS/config-off.log" 2>&1; then
	tail -n 3 "$LOGS/config-off.log"
	pass "touched objects build with the filter on, and off as upstream"
else
	tail -n 20 "$LOGS/config-off.log"
	fail "touched objects with the filter on and off (log $LOGS/config-off.log)"
fi

# --- The guest: mm selftests and our own, in both modes -----------------
. "$REPO/tpf/guest.sh"
if [ "${TPF_SKIP_GUEST:-}" != 1 ]; then
	need_packages "${GUEST_PACKAGES[@]}"
	if ! (set -e; guest_kernel; guest_selftests) > "$LOGS/guest-build.log" 2>&1; then
		tail -n 30 "$LOGS/guest-build.log"
		fail "guest kernel and selftests build (log $LOGS/guest-build.log)"
	elif ! (guest_run "$REPO/tpf/guest-tests.list" "$LOGS/guest-x86_64.log"); then
		fail "guest run (log $LOGS/guest-x86_64.log)"
	else
		out=$(python3 "$REPO/tpf/guest-parse.py" "$LOGS/guest-x86_64.log" \
			"$LOGS/guest-x86_64.json")
		echo "$out" | sed '$d'
		read -r _ gp _ gf <<< "$(echo "$out" | tail -n 1)"
		[ "$gp" -gt 0 ] && pass "guest: selftests, test x mode" "$gp"
		[ "$gf" -gt 0 ] && fail "guest: $gf failures (log $LOGS/guest-x86_64.log)" "$gf"
		grep -h 'zap_noise: mode=' "$LOGS/guest-x86_64.log" | sed 's/^# /guest: /'
	fi
fi

summary
