#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The x86_64 guest: a kernel built from the lab tree (the overlay and
# tpf/lab's test-only patches, lib.sh's ensure_lab_source) with
# tpf/configs/guest.config, a busybox initramfs (with a static bash for
# kselftest's run_vmtests.sh) holding statically built mm selftests and our
# own tests, and QEMU to run them.
#
#   guest.sh kernel          build (or reuse) the guest kernel
#   guest.sh selftests       build the static test binaries
#   guest.sh run LIST LOG    boot with LIST (lines "name|command") run in
#                            each mode of the filter; the serial
#                            console goes to LOG
#
# Sourced by test.sh and bench.sh for the same functions.

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$REPO/tpf/lib.sh"

# The tree the guest's kernel, headers and selftests are built from, and
# where: the lab tree unless a caller says otherwise (bench.sh's cost
# kernels are the product's).
GSRC=${GSRC:-$SRC_LAB}
GBUILD=${GBUILD:-$BUILD_LAB}
GUEST_BUILD=$GBUILD/guest-x86_64
GUEST_BIN=$GBUILD/guest-bin
GUEST_SMP=${GUEST_SMP:-$(n=$(nproc); echo $((n < 2 ? 2 : n > 4 ? 4 : n)))}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-2400}
# QEMU's accelerator, and more QEMU options (word-split): e.g.
# GUEST_ACCEL=tcg,thread=single GUEST_QEMU_EXTRA="-icount shift=0,sleep=off"
# makes guest time count instructions.
GUEST_ACCEL=${GUEST_ACCEL:-tcg,thread=multi}
# bash-static: the initramfs's /bin/bash, for the mm selftests' run_vmtests.sh.
GUEST_PACKAGES=("/bin/busybox busybox-static" "/bin/bash-static bash-static"
	"cpio cpio" "gzip gzip")
SELFTESTS="uffd-unit-tests uffd-stress pagemap_ioctl soft-dirty mkdirty cow ksm_functional_tests"

# guest_kernel [OUT [FRAGMENT...]]: allnoconfig + guest.config + FRAGMENTs.
guest_kernel() {
	local out=${1:-$GUEST_BUILD} frag opt
	local frags=("$REPO/tpf/configs/guest.config" "${@:2}")

	mkdir -p "$out"
	step "configuring the guest kernel in $out"
	# Each step returns on failure: callers run these in a condition,
	# where set -e does not apply.
	make -s -C "$GSRC" O="$out" ARCH=x86_64 allnoconfig || return
	(cd "$out" && "$GSRC/scripts/kconfig/merge_config.sh" -m -O "$out" \
		"$out/.config" "${frags[@]}" > "$out/merge.log") || return
	make -s -C "$GSRC" O="$out" ARCH=x86_64 olddefconfig || return
	# The last fragment that sets an option wins, as in merge_config.sh.
	for frag in "${frags[@]}"; do
		grep -hE '^(CONFIG_[A-Z0-9_]+=.*|# CONFIG_[A-Z0-9_]+ is not set)$' "$frag"
	done | awk '{ key = ($1 == "#") ? $2 : substr($0, 1, index($0, "=") - 1);
		      last[key] = $0 } END { for (k in last) print last[k] }' |
	while read -r opt; do
		case "$opt" in
		"# "*) # Off: "is not set", or absent when its dependencies are.
			! grep -q "^$(echo "$opt" | cut -d' ' -f2)=" "$out/.config" ;;
		*) grep -qx "$opt" "$out/.config" ;;
		esac || die "guest config: '$opt' did not stick (dependencies?), see ${frags[*]}"
	done || return
	step "building the guest kernel in $out ($JOBS jobs)"
	make -s -C "$GSRC" O="$out" ARCH=x86_64 -j"$JOBS" bzImage || return
}

# The tree's uapi headers, for test programs built against this kernel.
GUEST_HDR=$GBUILD/hdr/usr/include
guest_headers() {
	mkdir -p "$GBUILD/hdr"
	step "installing uapi headers"
	make -s -C "$GSRC" O="$GBUILD/hdr" ARCH=x86_64 headers || return
}

guest_selftests() {
	local out=$GUEST_BIN t targets=()

	mkdir -p "$out"
	guest_headers || return
	for t in $SELFTESTS tlb_pending_filter tlb_pending_torture; do
		targets+=("$out/$t")
	done
	step "building static selftests into $out"
	make -s -C "$GSRC/tools/testing/selftests/mm" OUTPUT="$out" \
		KHDR_INCLUDES="-isystem $GUEST_HDR" \
		EXTRA_CFLAGS=-static LDFLAGS=-static "${targets[@]}" || return
	# kselftest's runner, for its tlb_pending_filter category.
	install -m 0755 "$GSRC/tools/testing/selftests/mm/run_vmtests.sh" "$out/"
}

# guest_run LIST LOG [KERNEL_ARGS [KERNEL_BUILD]]: GUEST_BIN goes to /tests,
# GUEST_EXTRA_ROOT (if set) on top of the root.
guest_run() {
	local list=$1 log=$2 args=${3:-} kbuild=${4:-$GUEST_BUILD} root rc

	# The initramfs has no libc: Debian's busybox package is dynamic.
	if ldd /bin/busybox > /dev/null 2>&1; then
		echo "error: /bin/busybox is dynamically linked; install the static one with: apt-get install -y busybox-static" >&2
		return 1
	fi
	# run_vmtests.sh is a bash script: a static bash as /bin/bash.
	if [ ! -x /bin/bash-static ]; then
		echo "error: no /bin/bash-static; install it with: apt-get install -y bash-static" >&2
		return 1
	fi
	root=$(mktemp -d "$BUILD/initramfs.XXXXXX")
	mkdir -p "$root"/{bin,dev,proc,sys,tmp,tests}
	cp /bin/busybox "$root/bin/busybox"
	cp /bin/bash-static "$root/bin/bash"
	cp -a "$GUEST_BIN"/. "$root/tests/"
	# GUEST_EXTRA_ROOT: trees laid on the initramfs, colon-separated.
	local extras extra
	IFS=: read -ra extras <<< "${GUEST_EXTRA_ROOT:-}"
	for extra in "${extras[@]}"; do
		cp -a "$extra"/. "$root/"
	done
	cp "$list" "$root/tests.list"
	cp "$REPO/tpf/guest-init.sh" "$root/init"
	chmod +x "$root/init"
	(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$BUILD/initramfs.cpio.gz"
	rm -rf "$root"

	step "booting the guest: $GUEST_SMP vCPUs, TCG, log $log (timeout ${GUEST_TIMEOUT}s)"
	rc=0
	timeout --foreground -k 10 "$GUEST_TIMEOUT" qemu-system-x86_64 \
		-accel "$GUEST_ACCEL" ${GUEST_QEMU_EXTRA:-} -smp "$GUEST_SMP" -m "${GUEST_MEM:-2048}" \
		-bios qboot.rom -nodefaults -nographic -no-reboot -serial stdio \
		-kernel "$kbuild/arch/x86/boot/bzImage" \
		-initrd "$BUILD/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 oops=panic quiet $args" \
		< /dev/null > "$log" 2>&1 || rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "guest: timed out after ${GUEST_TIMEOUT}s (log $log)" >&2
		return 1
	fi
	grep -q '^TPF-DONE' "$log" || {
		echo "guest: did not finish (qemu exit $rc); last lines of $log:" >&2
		tail -n 20 "$log" >&2
		return 1
	}
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	set -euo pipefail
	need_packages "${BUILD_PACKAGES[@]}" "${QEMU_X86_PACKAGES[@]}" "${GUEST_PACKAGES[@]}"
	[ "${1:-}" = run ] || [ "$GSRC" != "$SRC_LAB" ] || ensure_lab_source
	case "${1:-}" in
	kernel) guest_kernel ;;
	selftests) guest_selftests ;;
	run) guest_run "$2" "$3" "${4:-}" ;;
	*) die "usage: guest.sh kernel|selftests|run LIST LOG" ;;
	esac
fi
