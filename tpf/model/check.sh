#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit model: check tlb_pending_filter.pml, then
# tlb_pending_filter_slots.pml (the two slots of the C code),
# with spin.  Each protocol must pass an exhaustive search (no assertion
# violation, no invalid end state); each mutant must be rejected, and its
# shortest counterexample (breadth-first search) is reported.  Prints one
# "ok:"/"FAILED:" line per check.

set -uo pipefail
DIR=$(cd "$(dirname "$0")" && pwd)
WORK=${1:?usage: check.sh WORKDIR}
mkdir -p "$WORK"
cd "$WORK" || exit 1
rc=0

# check NAME PML PREFIX PANFLAGS MUTANT...: the full search of PML (pan run
# with PANFLAGS), then each MUTANT; lines start with NAME, files in $WORK
# with PREFIX.
check() {
	local name=$1 pml=$2 prefix=$3 panflags=$4 mutant states line depth
	shift 4
	cp "$DIR/$pml" .

	# The protocol: full state space, compressed state vectors.
	if spin -a "$pml" > "${prefix}spin.log" 2>&1 &&
	   gcc -O2 -DSAFETY -DCOLLAPSE -o "${prefix}pan" pan.c >> "${prefix}spin.log" 2>&1; then
		# shellcheck disable=SC2086 # PANFLAGS is a list of options
		"./${prefix}pan" $panflags > "${prefix}pan.out" 2>&1
		states=$(sed -n 's/^ *\([0-9e+.]*\) states, stored.*/\1/p' "${prefix}pan.out")
		line=$(grep -m1 'depth reached' "${prefix}pan.out")
		if grep -q 'errors: 0' "${prefix}pan.out" &&
		   grep -q '^Full statespace search' "${prefix}pan.out"; then
			echo "ok: $name: full search, $states states, ${line#*, }"
		else
			grep -E 'violated|errors|invalid' "${prefix}pan.out" | head -n 5
			echo "FAILED: $name: the protocol has errors (see $WORK/${prefix}pan.out)"
			rc=1
		fi
	else
		tail -n 5 "${prefix}spin.log"
		echo "FAILED: $name: spin/gcc could not build the verifier"
		rc=1
	fi

	# The mutants: breadth-first, so the counterexample found is a shortest one.
	for mutant in "$@"; do
		rm -f "$pml.trail"
		if ! { spin -D"$mutant" -a "$pml" &&
		       gcc -O2 -DSAFETY -DBFS -o "${prefix}pan-$mutant" pan.c; } > "${prefix}$mutant.log" 2>&1; then
			echo "FAILED: $name: cannot build the $mutant verifier"
			rc=1
			continue
		fi
		"./${prefix}pan-$mutant" > "${prefix}$mutant.out" 2>&1
		depth=$(sed -n 's/.*assertion violated.*(at depth \([0-9]*\)).*/\1/p' "${prefix}$mutant.out" | head -n 1)
		if [ -n "$depth" ] && [ -f "$pml.trail" ]; then
			mv "$pml.trail" "${prefix}$mutant.trail"
			echo "ok: $name: $mutant rejected, counterexample of $depth steps"
		else
			echo "FAILED: $name: $mutant was not rejected (see $WORK/${prefix}$mutant.out)"
			rc=1
		fi
	done
}

check model tlb_pending_filter.pml "" "-m200000 -w26" \
	MUTANT_RESET_BEFORE_FLUSH MUTANT_SPLIT_LAST MUTANT_SPAN_AFTER_UNLOCK

# Two slots: about 42 million states, 2.6 GB with -w27.
check "slot model" tlb_pending_filter_slots.pml slots- "-m200000 -w27" \
	MUTANT_RESET_BEFORE_FLUSH MUTANT_SPLIT_LAST MUTANT_SPAN_AFTER_UNLOCK \
	MUTANT_WRONG_SLOT MUTANT_CLAIM_SPLIT
exit $rc
