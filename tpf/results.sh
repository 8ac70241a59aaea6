# SPDX-License-Identifier: GPL-2.0
#
# Counting results for the Makefile.kunit test scripts: pass/fail, the
# closing "N passed, N failed" line, and the KUnit runner.  Sourced after
# tpf/lib.sh.

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

LOGS=${LOGS:-$CACHE/logs}
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

# --- KUnit under QEMU ----------------------------------------------------
# kunit.py starts QEMU with "-accel kvm -accel hvf -accel tcg", and QEMU
# takes the first that opens.  Where /dev/kvm opens but cannot run the
# guest (a paravirtual KVM of a cloud host: "kvm-pvm: INTERNAL_ERROR" in
# the host's log, the guest silent until kunit.py's timeout), that is KVM.
# Our QEMU runs are TCG alone, like the guest's: kunit.py finds first in
# its PATH wrappers that drop the kvm and hvf accelerators.
kunit_tcg_path() {
	local dir=$CACHE/qemu-tcg q real

	mkdir -p "$dir" || return
	for q in $(compgen -c qemu-system- | sort -u); do
		real=$(command -v "$q") || continue
		[ "${real#"$dir"/}" = "$real" ] || continue
		cat > "$dir/$q.tmp" <<-WRAP || return
		#!/bin/bash
		# Written by tpf/results.sh: $real without -accel kvm or hvf.
		args=()
		while [ \$# -gt 0 ]; do
			case "\$1=\${2:-}" in
			-accel=kvm* | -accel=hvf*) shift 2 ;;
			*) args+=("\$1"); shift ;;
			esac
		done
		exec $real "\${args[@]}"
		WRAP
		chmod +x "$dir/$q.tmp" && mv "$dir/$q.tmp" "$dir/$q" || return
	done
	echo "$dir"
}

# kunit_run NAME ARCH ARGS...: run the suite with kunit.py, count its cases.
# NAME names the build directory and logs; ARGS go to kunit.py (QEMU
# arguments, extra --kunitconfig files, --cross_compile).  From the
# product tree, or KUNIT_SRC (the lab tree) into KUNIT_BUILD.
kunit_run() {
	local name=$1 arch=$2 log json counts p f s min_cases=15 qemu_dir
	shift 2
	log=$LOGS/kunit-$name.log
	json=$LOGS/kunit-$name.json
	rm -f "$json"
	mkdir -p "${KUNIT_BUILD:-$BUILD}"
	step "KUnit $name ($arch) under QEMU, log: $log"
	# On x86 the PS/2 mouse is probed asynchronously, seconds into the
	# tests, and its "input: ..." line once landed between a parameterised
	# case's "KTAP version 1" and "# Subtest:", which kunit.py's parser
	# then took for a crash.  i8042.noaux leaves the mouse port alone.
	case "$arch" in
	x86_64 | i386) set -- --kernel_args=i8042.noaux "$@" ;;
	esac
	qemu_dir=$(kunit_tcg_path) || {
		fail "kunit $name: cannot write the QEMU wrappers into $CACHE/qemu-tcg"
		return
	}
	(cd "${KUNIT_SRC:-$SRC}" && PATH=$qemu_dir:$PATH python3 tools/testing/kunit/kunit.py run \
		--arch="$arch" --build_dir="${KUNIT_BUILD:-$BUILD}/kunit-$name" \
		--kunitconfig="$REPO/tpf/configs/kunit.config" \
		--jobs="$JOBS" --timeout=1800 --json="$json" "$@") > "$log" 2>&1
	local rc=$?
	grep -E '^\[[0-9:]+\] (=|\[|Testing complete|Elapsed|Ran )' "$log" | tail -n 40

	if [ ! -s "$json" ] || ! counts=$(python3 "$REPO/tpf/kunit-count.py" "$json" tlb_pending_filter); then
		tail -n 30 "$log"
		fail "kunit $name: no results for suite tlb_pending_filter (kunit.py exit $rc, log $log)"
		return
	fi
	read -r p f s <<< "$counts"
	[ "$p" -gt 0 ] && pass "kunit $name: tlb_pending_filter cases" "$p"
	[ "$f" -gt 0 ] && fail "kunit $name: $f tlb_pending_filter cases (see $log)" "$f"
	[ "$s" -gt 0 ] && echo "skipped: kunit $name: $s tlb_pending_filter cases"
	if [ $((p + f + s)) -lt $min_cases ]; then
		fail "kunit $name: only $((p + f + s)) tlb_pending_filter cases ran, expected >= $min_cases"
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		fail "kunit $name: kunit.py exited $rc (log $log)"
	fi
}


# vCPUs: as many as host CPUs, 2 to 4.  More vCPUs than host CPUs turns
# every contended spin loop into a wait for the host to reschedule the
# lock holder's vCPU thread (the suite's stress took 240 s at -smp 4 on
# 2 host cores, 8 s at -smp 2).
KUNIT_SMP=${KUNIT_SMP:-$(n=$(nproc); echo $((n < 2 ? 2 : n > 4 ? 4 : n)))}
KUNIT_QEMU=(--qemu_args=-smp --qemu_args="$KUNIT_SMP")

# kunit_x86_64 NAME: the series' suite on x86_64, as make test runs it,
# with NUMA balancing (the PROT_NONE cases); no lab patch.
kunit_x86_64() {
	kunit_run "$1" x86_64 \
		--kunitconfig="$REPO/tpf/configs/kunit-numa.config" \
		"${KUNIT_QEMU[@]}" \
		--qemu_args=-accel --qemu_args=tcg,thread=multi
}

# kunit_x86_64_lab NAME [ARGS...]: the lab tree's suite (the do_wp_page()
# cases, every measurement mode) on x86_64; needs ensure_lab_source.
kunit_x86_64_lab() {
	local name=$1
	shift
	KUNIT_SRC=$SRC_LAB KUNIT_BUILD=$BUILD_LAB kunit_run "$name" x86_64 "$@" \
		--kunitconfig="$REPO/tpf/configs/kunit-numa.config" \
		--kunitconfig="$REPO/tpf/configs/kunit-modes.config" \
		"${KUNIT_QEMU[@]}" \
		--qemu_args=-accel --qemu_args=tcg,thread=multi
}

# config_off_checks [LABEL]: tpf/config-off.sh on x86_64 and i386, one
# result each (logs config-off.log and config-off-i386.log).
config_off_checks() {
	local label=${1:+$1 } arch log

	for arch in x86_64 i386; do
		log=$LOGS/config-off.log
		[ "$arch" = x86_64 ] || log=$LOGS/config-off-$arch.log
		step "touched objects, filter on and off, $label$arch (log $log)"
		if ARCH=$arch "$REPO/tpf/config-off.sh" > "$log" 2>&1; then
			tail -n 3 "$log"
			pass "$label$arch: touched objects build with the filter on, and off as upstream"
		else
			tail -n 20 "$log"
			fail "$label$arch: touched objects with the filter on and off (log $log)"
		fi
	done
}
