#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# With CONFIG_TLB_PENDING_FILTER=n the kernel must compile exactly as
# upstream.  Build every object the overlay touches (each PATH.c.diff, and
# every file that includes one of our headers) with the filter off, in the
# overlaid tree and in the pristine tree, with the same configuration, and
# compare their code: the disassembly with relocations, which leaves out
# only line numbers (bug tables, debug info), build paths and the counters
# of generated symbol names.
#
# With KSRC there is no pristine tree to compare against: the objects are
# only built.  The same objects are also built with the filter on, since the
# KUnit kernel does not compile all of them (THP, soft-dirty, ...).
#
# ARCH=x86_64 (default) or ARCH=i386, each in build trees of its own
# (x86_64 keeps the unsuffixed names).  On i386 the options that x86_64
# alone offers (uffd-wp, soft-dirty, NUMA balancing) stay off.

set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tpf/lib.sh"

ARCH=${ARCH:-x86_64}
case "$ARCH" in
x86_64) SUFFIX= ;;
i386) SUFFIX=-i386 ;;
*) die "config-off.sh: ARCH=$ARCH: expected x86_64 or i386" ;;
esac

# Objects of the overlay's C files.
cd "$REPO"
objs=()
for d in $(find arch fs include kernel lib mm -name '*.c.diff' 2>/dev/null | LC_ALL=C sort); do
	objs+=("${d%.c.diff}.o")
done
for f in $(cd "$SRC" && grep -rlE --include='*.c' \
		'#include <linux/tlb_pending_filter\.h>' arch fs kernel lib mm | LC_ALL=C sort); do
	case "$f" in
	mm/tlb_pending_filter.c | lib/tests/*) continue ;;
	esac
	case " ${objs[*]-} " in
	*" ${f%.c}.o "*) ;;
	*) objs+=("${f%.c}.o") ;;
	esac
done
[ ${#objs[@]} -gt 0 ] || die "no objects to build"
echo "objects: ${objs[*]}"

on=$BUILD/on-overlay$SUFFIX
step "configuring $on (CONFIG_TLB_PENDING_FILTER=y)"
obj_config "$on" "$SRC" y
step "building ${#objs[@]} objects with the overlay, filter on"
make -s -C "$SRC" O="$on" ARCH="$ARCH" -j"$JOBS" "${objs[@]}" mm/tlb_pending_filter.o

out=$BUILD/off-overlay$SUFFIX
step "configuring $out (CONFIG_TLB_PENDING_FILTER=n)"
obj_config "$out" "$SRC" n
step "building ${#objs[@]} objects with the overlay, filter off"
make -s -C "$SRC" O="$out" ARCH="$ARCH" -j"$JOBS" "${objs[@]}"

if [ -n "${KSRC:-}" ]; then
	echo "KSRC: built ${#objs[@]} $ARCH objects with CONFIG_TLB_PENDING_FILTER=n (no pristine tree to compare)"
	exit 0
fi

up=$BUILD/off-upstream$SUFFIX
step "configuring $up (pristine tree)"
obj_config "$up" "$PRISTINE" n
# The one line the overlay may add: the capability x86 selects whether or
# not the filter is built (ARCH_HAS_PTE_ACCESSIBLE_PROTNONE), which no
# code reads without it; the objects below must still be identical.
arch_caps='^CONFIG_ARCH_HAS_PTE_ACCESSIBLE_PROTNONE=y$'
cmp -s <(grep -v '^#' "$out/.config" | grep -v "$arch_caps") \
	<(grep -v '^#' "$up/.config") ||
	die "the overlay changes the =n .config beyond $arch_caps: diff $out/.config $up/.config"
step "building ${#objs[@]} objects upstream"
make -s -C "$PRISTINE" O="$up" ARCH="$ARCH" -j"$JOBS" "${objs[@]}"

# The disassembly, less the file name, the __COUNTER__ suffixes of
# __UNIQUE_ID symbols, which move with every macro use in any header, and
# the suffixes GCC gives the clones of a static function (.isra.0,
# .constprop.0, ...), which name the arguments it dropped: an argument
# that only the filter uses (the VMA handed to rmap.c's
# set_tlb_ubc_flush_pending()) turns .isra.0 into .constprop.0.isra.0
# while every instruction stays the same.
code() {
	objdump -d -r --no-show-raw-insn "$1" | tail -n +4 |
		sed -E 's/(__UNIQUE_ID_[A-Za-z_]*[A-Za-z_])[0-9]+/\1N/g
			s/\.(constprop|isra|part|cold)\.[0-9]+//g'
}

bad=0
for o in "${objs[@]}"; do
	if cmp -s <(code "$out/$o") <(code "$up/$o"); then
		echo "same code as upstream: $o"
	else
		echo "DIFFERS from upstream: $o"
		diff <(code "$up/$o") <(code "$out/$o") | head -n 20 || true
		bad=1
	fi
done
[ $bad -eq 0 ] || die "CONFIG_TLB_PENDING_FILTER=n changes the code of upstream objects"

# CONFIG_KUNIT=m, as distributions build it (x86_64 only).  The KUnit test
# is built in only (it calls functions not exported to modules): it must be
# offered with KUNIT=y and not with KUNIT=m, where a built-in object under
# lib/tests/ would be left out of vmlinux or fail to link.  lib/tests/ is
# then built as the modules it holds.
if [ "$ARCH" = x86_64 ]; then
	for kunit in y m; do
		km=$BUILD/kunit-$kunit-overlay
		step "configuring $km (CONFIG_KUNIT=$kunit, KUNIT_ALL_TESTS, the test asked for)"
		obj_config "$km" "$SRC" y
		"$SRC/scripts/config" --file "$km/.config" --set-val KUNIT "$kunit" \
			--set-val KUNIT_ALL_TESTS "$kunit" -e TLB_PENDING_FILTER_KUNIT_TEST
		make -s -C "$SRC" O="$km" ARCH="$ARCH" olddefconfig
		grep -q "^CONFIG_KUNIT=$kunit" "$km/.config" ||
			die "$km/.config: CONFIG_KUNIT=$kunit did not stick"
		got=$(sed -n 's/^CONFIG_TLB_PENDING_FILTER_KUNIT_TEST=//p' "$km/.config")
		want=; [ "$kunit" = y ] && want=y
		[ "$got" = "$want" ] ||
			die "CONFIG_KUNIT=$kunit: CONFIG_TLB_PENDING_FILTER_KUNIT_TEST=${got:-unset}, expected ${want:-unset}"
		echo "CONFIG_KUNIT=$kunit: CONFIG_TLB_PENDING_FILTER_KUNIT_TEST=${got:-unset}, as it must be"
	done
	step "building lib/tests/ with CONFIG_KUNIT=m"
	make -s -C "$SRC" O="$km" ARCH="$ARCH" -j"$JOBS" lib/tests/
	echo "CONFIG_KUNIT=m: lib/tests/ builds"
fi
echo "${#objs[@]} $ARCH objects built with CONFIG_TLB_PENDING_FILTER=n, code identical to upstream"
