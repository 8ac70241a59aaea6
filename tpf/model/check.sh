#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit model: check tlb_pending_filter.pml with spin.
# The protocol must pass an exhaustive search (no assertion violation, no
# invalid end state); each mutant must be rejected, and its shortest
# counterexample (breadth-first search) is reported.  Prints one
# "ok:"/"FAILED:" line per check.

set -uo pipefail
MODEL=$(cd "$(dirname "$0")" && pwd)/tlb_pending_filter.pml
WORK=${1:?usage: check.sh WORKDIR}
mkdir -p "$WORK"
cd "$WORK" || exit 1
cp "$MODEL" .
rc=0

# The protocol: full state space, compressed state vectors.
if spin -a tlb_pending_filter.pml > spin.log 2>&1 &&
   gcc -O2 -DSAFETY -DCOLLAPSE -o pan pan.c >> spin.log 2>&1; then
	./pan -m200000 -w26 > pan.out 2>&1
	states=$(sed -n 's/^ *\([0-9e+.]*\) states, stored.*/\1/p' pan.out)
	line=$(grep -m1 'depth reached' pan.out)
	if grep -q 'errors: 0' pan.out && grep -q '^Full statespace search' pan.out; then
		echo "ok: model: full search, $states states, ${line#*, }"
	else
		grep -E 'violated|errors|invalid' pan.out | head -n 5
		echo "FAILED: model: the protocol has errors (see $WORK/pan.out)"
		rc=1
	fi
else
	tail -n 5 spin.log
	echo "FAILED: model: spin/gcc could not build the verifier"
	rc=1
fi

# The mutants: breadth-first, so the counterexample found is a shortest one.
for mutant in MUTANT_RESET_BEFORE_FLUSH MUTANT_SPLIT_LAST \
	      MUTANT_SPAN_AFTER_UNLOCK; do
	rm -f tlb_pending_filter.pml.trail
	if ! { spin -D"$mutant" -a tlb_pending_filter.pml &&
	       gcc -O2 -DSAFETY -DBFS -o "pan-$mutant" pan.c; } > "$mutant.log" 2>&1; then
		echo "FAILED: model: cannot build the $mutant verifier"
		rc=1
		continue
	fi
	"./pan-$mutant" > "$mutant.out" 2>&1
	depth=$(sed -n 's/.*assertion violated.*(at depth \([0-9]*\)).*/\1/p' "$mutant.out" | head -n 1)
	if [ -n "$depth" ] && [ -f tlb_pending_filter.pml.trail ]; then
		mv tlb_pending_filter.pml.trail "$mutant.trail"
		echo "ok: model: $mutant rejected, counterexample of $depth steps"
	else
		echo "FAILED: model: $mutant was not rejected (see $WORK/$mutant.out)"
		rc=1
	fi
done
exit $rc
