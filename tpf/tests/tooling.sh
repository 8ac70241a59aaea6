#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Tooling faced with bad input.  Each case checks for one clear error line
# naming the problem and the fix, a non-zero exit, and that neither the
# pristine source nor the user's tree was modified.  Runs on small trees
# made of the pristine files the overlay touches.
#
#   tooling.sh PRISTINE WORKDIR
#
# Prints "ok: tooling: ..." or "FAILED: tooling: ..." per case.

set -uo pipefail
REPO=$(cd "$(dirname "$0")/../.." && pwd)
PRISTINE=${1:?usage: tooling.sh PRISTINE WORKDIR}
WORK=${2:?usage: tooling.sh PRISTINE WORKDIR}
OVERLAY=$REPO/tpf/overlay.sh
rc=0

rm -rf "$WORK"
mkdir -p "$WORK"

ok() {
	echo "ok: tooling: $1"
}

bad() {
	echo "FAILED: tooling: $1"
	rc=1
}

# A digest of every file (content and name) under a directory.
digest() {
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z |
		xargs -0 -r sha1sum) | sha1sum | cut -d' ' -f1
}

# A small kernel tree: Makefile plus every file the overlay patches.
mini_tree() {
	local dst=$1 d

	mkdir -p "$dst"
	cp "$PRISTINE/Makefile" "$dst/"
	# The files the diffs of this version patch: the top level's and
	# the backports'; a path a backport creates is not in the tree.
	(cd "$REPO" && { find Documentation arch fs include kernel lib mm tools \
		-name '*.diff' 2>/dev/null
		find backport -mindepth 2 -name '*.diff' 2>/dev/null |
			cut -d/ -f3-; }) | sort -u | while read -r d; do
		[ -f "$PRISTINE/${d%.diff}" ] || continue
		mkdir -p "$dst/$(dirname "${d%.diff}")"
		cp "$PRISTINE/${d%.diff}" "$dst/${d%.diff}"
	done
	# Top-level diffs (MAINTAINERS.diff).
	for d in "$REPO"/*.diff; do
		[ ! -f "$d" ] || cp "$PRISTINE/$(basename "${d%.diff}")" "$dst/"
	done
}

# expect_error NAME PATTERN CMD...: exit non-zero, one error line matching.
expect_error() {
	local name=$1 pattern=$2 out status
	shift 2

	# make's own "make: *** [...] Error 1" is not ours to count.
	out=$("$@" 2>&1 >/dev/null | grep -vE '^make(\[[0-9]+\])?: \*\*\*')
	status=${PIPESTATUS[0]}
	if [ $status -eq 0 ]; then
		bad "$name: exit 0"
		return 1
	fi
	if [ "$(echo "$out" | grep -c .)" -ne 1 ] || ! echo "$out" | grep -qE "$pattern"; then
		bad "$name: expected one error line matching /$pattern/, got: $out"
		return 1
	fi
	echo "    $out"
	return 0
}

pristine_digest=$(digest "$PRISTINE/mm")

# 1. KSRC that is not a kernel tree (through Makefile.kunit, as a user would).
mkdir -p "$WORK/not-a-kernel"
echo hello > "$WORK/not-a-kernel/README"
before=$(digest "$WORK/not-a-kernel")
if expect_error "KSRC not a kernel tree" 'is not a Linux kernel source tree.*set KSRC' \
	make --no-print-directory -s -f "$REPO/Makefile.kunit" source \
	KSRC="$WORK/not-a-kernel" CACHE="$WORK/cache"; then
	[ "$(digest "$WORK/not-a-kernel")" = "$before" ] &&
		ok "KSRC not a kernel tree: refused, tree untouched" ||
		bad "KSRC not a kernel tree: the tree was modified"
fi

# 2. A kernel version the overlay does not support.
mini_tree "$WORK/v61"
sed -i 's/^PATCHLEVEL = .*$/PATCHLEVEL = 1/' "$WORK/v61/Makefile"
before=$(digest "$WORK/v61")
if expect_error "wrong kernel version" 'is Linux [0-9]+\.1\..*supports Linux 7\.3\.y or 6\.12\.y: set KSRC' \
	"$OVERLAY" "$REPO" "$WORK/v61" "$WORK/state-v61"; then
	[ "$(digest "$WORK/v61")" = "$before" ] &&
		ok "wrong kernel version: refused, tree untouched" ||
		bad "wrong kernel version: the tree was modified"
fi

# 3. A diff that no longer applies: break the context of one hunk.
mini_tree "$WORK/drift"
sed -i '/^\tpte_unmap_unlock(vmf->pte, vmf->ptl);$/{n;s/^#ifdef CONFIG_KSM$/#if IS_ENABLED(CONFIG_KSM)/}' \
	"$WORK/drift/mm/memory.c"
cmp -s "$WORK/drift/mm/memory.c" "$PRISTINE/mm/memory.c" &&
	bad "diff does not apply: could not make mm/memory.c drift"
before=$(digest "$WORK/drift")
if expect_error "diff does not apply" 'mm/memory\.c\.diff does not apply.*hunk #[0-9]+ .*FAILED.*nothing was changed' \
	"$OVERLAY" "$REPO" "$WORK/drift" "$WORK/state-drift"; then
	[ "$(digest "$WORK/drift")" = "$before" ] &&
		ok "diff does not apply: named with its hunk, tree untouched" ||
		bad "diff does not apply: the tree was modified"
fi

# 4. A missing package when not root.
if command -v setpriv > /dev/null; then
	if expect_error "missing package, not root" \
		'missing packages: tpf-no-such-package; install them with: sudo apt-get install -y tpf-no-such-package' \
		setpriv --reuid=65534 --regid=65534 --clear-groups env REPO="$REPO" \
		CACHE="$WORK/cache-nobody" HOME="$WORK" bash -c \
		'. "$REPO/tpf/lib.sh"; need_packages "tpf-no-such-command tpf-no-such-package"'; then
		ok "missing package, not root: the apt-get line is printed"
	fi
else
	bad "missing package, not root: setpriv (util-linux) is not installed"
fi

# 5. An interrupted previous run is completed; the result is as if not.
mini_tree "$WORK/ref"
"$OVERLAY" "$REPO" "$WORK/ref" "$WORK/state-ref" > /dev/null ||
	bad "reference overlay failed"
mini_tree "$WORK/int"
"$OVERLAY" "$REPO" "$WORK/int" "$WORK/state-int" > /dev/null
# Leave it as a run killed half-way through writing would: one patched file
# back to its original, one new file missing, a temporary file, the marker.
cp "$PRISTINE/mm/memory.c" "$WORK/int/mm/memory.c"
rm "$WORK/int/mm/tlb_pending_filter.c"
echo partial > "$WORK/int/mm/mprotect.c.tpf-tmp"
touch "$WORK/state-int/in-progress"
out=$("$OVERLAY" "$REPO" "$WORK/int" "$WORK/state-int" 2>&1)
if echo "$out" | grep -q 'interrupted' && [ ! -e "$WORK/state-int/in-progress" ] &&
   [ "$(digest "$WORK/int")" = "$(digest "$WORK/ref")" ]; then
	ok "interrupted run: reported and completed"
else
	bad "interrupted run: not completed ($out)"
fi

# 6. Re-running changes nothing; a diff dropped from the overlay is undone.
out=$("$OVERLAY" "$REPO" "$WORK/ref" "$WORK/state-ref")
echo "$out" | grep -q '(0 files written)' && ok "re-run: nothing rewritten" ||
	bad "re-run rewrote files: $out"
cp -a "$REPO" "$WORK/repo-less" 2>/dev/null
rm "$WORK/repo-less/kernel/fork.c.diff"
"$OVERLAY" "$WORK/repo-less" "$WORK/ref" "$WORK/state-ref" > /dev/null
cmp -s "$WORK/ref/kernel/fork.c" "$PRISTINE/kernel/fork.c" &&
	ok "dropped diff: its file is restored" ||
	bad "dropped diff: kernel/fork.c not restored"

# 6b. The lab layer: laid on top of the overlay, and taken off again.
mini_tree "$WORK/lab-ref"
"$OVERLAY" "$REPO" "$WORK/lab-ref" "$WORK/state-lab-ref" > /dev/null
mini_tree "$WORK/lab"
"$OVERLAY" "$REPO" "$WORK/lab" "$WORK/state-lab" tpf/lab > /dev/null ||
	bad "lab layer: overlay.sh with tpf/lab failed"
if [ -f "$WORK/lab/include/trace/events/tlb_pending_filter.h" ] &&
   ! cmp -s "$WORK/lab/mm/memory.c" "$WORK/lab-ref/mm/memory.c"; then
	"$OVERLAY" "$REPO" "$WORK/lab" "$WORK/state-lab" > /dev/null
	[ "$(digest "$WORK/lab")" = "$(digest "$WORK/lab-ref")" ] &&
		ok "lab layer: laid on the overlay, and taken off to the overlay alone" ||
		bad "lab layer: without it the tree is not the overlay's"
else
	bad "lab layer: its files are not in the tree"
fi
# A layer diff that does not apply: named with its layer and hunk.
rm -rf "$WORK/repo-drift"
cp -a "$REPO" "$WORK/repo-drift" 2>/dev/null
sed -i '0,/^ \tconst bool unshare = vmf->flags & FAULT_FLAG_UNSHARE;$/s//\tconst bool unshare = false;/' \
	"$WORK/repo-drift/tpf/lab/mm/memory.c.diff"
cmp -s "$WORK/repo-drift/tpf/lab/mm/memory.c.diff" "$REPO/tpf/lab/mm/memory.c.diff" &&
	bad "layer diff does not apply: could not make tpf/lab/mm/memory.c.diff drift"
mini_tree "$WORK/lab-drift"
"$OVERLAY" "$WORK/repo-drift" "$WORK/lab-drift" "$WORK/state-lab-drift" > /dev/null
before=$(digest "$WORK/lab-drift")
if expect_error "layer diff does not apply" 'tpf/lab/mm/memory\.c\.diff does not apply to mm/memory\.c of Linux .*hunk #[0-9]+ .*FAILED.*nothing was changed' \
	"$OVERLAY" "$WORK/repo-drift" "$WORK/lab-drift" "$WORK/state-lab-drift" tpf/lab; then
	[ "$(digest "$WORK/lab-drift")" = "$before" ] &&
		ok "layer diff does not apply: named with its hunk, tree untouched" ||
		bad "layer diff does not apply: the tree was modified"
fi

# 7. The archive: unreachable, or no longer offering linux-source-7.3, with
#    nothing downloaded before.  The error names the package and KSRC=, or
#    what the archive offers now and the versions the overlay supports.
if expect_error "archive unreachable" \
	'cannot fetch linux-source-7\.3 from http://127\.0\.0\.1:9/debian.*Set KSRC= to a Linux 7\.3 tree' \
	make --no-print-directory -s -f "$REPO/Makefile.kunit" source TPF_KVER=7.3 \
	TPF_ARCHIVE_URL=http://127.0.0.1:9/debian CACHE="$WORK/cache-noarchive"; then
	ok "archive unreachable: the package and KSRC= are named"
fi
if expect_error "package gone from the archive" \
	'no longer offers linux-source-7\.3 \(it offers: linux-source-.*supports Linux 7\.3\.y and 6\.12\.y' \
	make --no-print-directory -s -f "$REPO/Makefile.kunit" source TPF_KVER=7.3 \
	TPF_ARCHIVE_SUITE=bookworm CACHE="$WORK/cache-oldsuite"; then
	ok "package gone from the archive: what it offers, and the versions supported"
fi

# 8. A version the overlay does not support, asked for by name.
if expect_error "unsupported TPF_KVER" 'Linux 6\.1: the overlay supports Linux 7\.3\.y and 6\.12\.y' \
	make --no-print-directory -s -f "$REPO/Makefile.kunit" source TPF_KVER=6.1 \
	CACHE="$WORK/cache-61"; then
	ok "unsupported TPF_KVER: refused, the supported versions named"
fi

[ "$(digest "$PRISTINE/mm")" = "$pristine_digest" ] &&
	ok "the pristine tree was never modified" ||
	bad "the pristine tree was modified"
rm -rf "$WORK"
exit $rc
