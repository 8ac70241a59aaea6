#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit test: the protocol model, the tooling tests, the
# KUnit suite under QEMU, the touched objects built with the filter on and
# off (off checked against upstream), the patch series and its checks, and
# the mm selftests in a guest in every mode.  Ends with "N passed, N
# failed".

set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tpf/lib.sh"
. "$REPO/tpf/results.sh"

# need_packages exits on failure: run it in a subshell so that the
# closing "N passed, N failed" line is printed all the same.
( need_packages "${BUILD_PACKAGES[@]}" "${QEMU_X86_PACKAGES[@]}" \
	"spin spin" "setpriv util-linux" "gnuplot gnuplot-nox" ) || {
	fail "required packages"
	summary
}
( ensure_source ) || {
	fail "kernel source and overlay"
	summary
}

# --- The protocol model and the tooling's handling of bad input ----------
step "model checking tpf/model/tlb_pending_filter.pml and its slot variant with spin"
checks model "$REPO/tpf/model/check.sh" "$CACHE/model"
if [ -z "${KSRC:-}" ]; then
	step "tooling tests"
	checks tooling "$REPO/tpf/tests/tooling.sh" "$PRISTINE" "$CACHE/tooling-test"
fi
step "the benchmark report on synthetic logs"
checks bench-report "$REPO/tpf/tests/bench-report-test.sh" "$CACHE/bench-report-test"

# The series' suite on the product tree; the lab's (do_wp_page() end to
# end, every measurement mode) on the lab tree, which also shows that
# tpf/lab applies on top of the overlay.
lab_ok=1
( ensure_lab_source ) > "$LOGS/lab-source.log" 2>&1 || {
	tail -n 5 "$LOGS/lab-source.log"
	fail "$LAB_LAYER on the overlay (log $LOGS/lab-source.log)"
	lab_ok=0
}
if [ "${TPF_SKIP_KUNIT:-}" != 1 ]; then
	kunit_x86_64 x86_64
	[ "$lab_ok" = 0 ] || kunit_x86_64_lab x86_64-lab
fi

# --- CONFIG_TLB_PENDING_FILTER=n, on x86_64 and on i386 (32-bit) ---------
config_off_checks

# --- The patch series: format-patch, git am, bisect builds, checks -------
if [ -z "${KSRC:-}" ]; then
	step "the patch series (tpf/series.sh, log $LOGS/series.log)"
	checks series env SERIES_OUT="$CACHE/series/out" "$REPO/tpf/series.sh"
fi

# --- The guest: mm selftests and our own, in every mode ------------------
. "$REPO/tpf/guest.sh"

# guest_judge NAME LIST [KERNEL_ARGS]: boot with LIST, judge the log.
guest_judge() {
	local name=$1 list=$2 args=${3:-} log=$LOGS/guest-$1.log out gp gf

	if ! (guest_run "$list" "$log" "$args"); then
		fail "guest $name: run (log $log)"
		return
	fi
	out=$(python3 "$REPO/tpf/guest-parse.py" "$log" "$LOGS/guest-$name.json")
	echo "$out" | sed '$d'
	read -r _ gp _ gf <<< "$(echo "$out" | tail -n 1)"
	[ "$gp" -gt 0 ] && pass "guest $name: selftests, test x mode" "$gp"
	[ "$gf" -gt 0 ] && fail "guest $name: $gf failures (log $log)" "$gf"
	grep -h -e 'zap_noise: mode=' -e '# switch_flip: ' -e 'torture: mode=' \
		"$log" | sed "s/^# /guest $name: /"
}

if [ "${TPF_SKIP_GUEST:-}" != 1 ]; then
	if ! (need_packages "${GUEST_PACKAGES[@]}"); then
		fail "guest packages"
	elif [ "$lab_ok" = 0 ]; then
		fail "guest: no lab tree"
	elif ! (guest_kernel && guest_selftests) > "$LOGS/guest-build.log" 2>&1; then
		tail -n 30 "$LOGS/guest-build.log"
		fail "guest kernel and selftests build (log $LOGS/guest-build.log)"
	else
		guest_judge x86_64 "$REPO/tpf/guest-tests.list"
		# Two nodes by NUMA emulation, for the PROT_NONE torture; the
		# debug mode that never flushes (3) runs last, as it can
		# write into freed pages.  Four vCPUs: a lost write needs a
		# writer holding a stale entry while one CPU scans and another
		# migrates.
		GUEST_SMP=4 guest_judge numa "$REPO/tpf/guest-numa.list" \
			"tpf_modes=0,1,2,3 tpf_no_mode_test numa=fake=2 numa_balancing=enable"
	fi
fi

# --- The 6.12 backport: overlay, KUnit, filter off as upstream -----------
if [ -z "${KSRC:-}" ] && [ "$KVER_WANT" = "$KVER_SERIES" ] &&
   [ "${TPF_SKIP_BACKPORT:-}" != 1 ]; then
	step "the 6.12 backport (tpf/test-backport.sh, logs $CACHE/logs/6.12)"
	checks backport-6.12 env TPF_KVER=6.12 "$REPO/tpf/test-backport.sh"
fi

summary
