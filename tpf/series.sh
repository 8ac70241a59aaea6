#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make -f Makefile.kunit series: the overlay as a patch series for linux-mm.
#
#  1. A git tree of the pristine source, $CACHE/series/VERSION/linux, one
#     commit tagged tpf-base (made once).
#  2. The patches tpf/series/NN-*.msg, in order: each lays the overlay files
#     its "Files:" line names (a new file is copied, a PATH.diff applied with
#     git apply) and commits with the text after its "---" line and a
#     Signed-off-by of this repository's git identity.  Every overlay file
#     belongs to exactly one patch.  MAINTAINERS.diff adds one entry; each
#     patch carries the entry's F: lines of the files that exist by then,
#     so that the patch that adds a file also lists it.
#  3. git format-patch --cover-letter into SERIES_OUT (default series/ in
#     the repository), To and Cc from scripts/get_maintainer.pl, the cover
#     letter from tpf/series/cover.txt with the latest bench table
#     (bench-results/bench-mail.txt if "make bench" wrote one, else the
#     table kept in tpf/series/bench.txt).
#  4. The checks, one "ok:" or "FAILED:" line each (SERIES_CHECKS=0 skips
#     them, SERIES_BUILDS=0 the three that build): git am on the base
#     gives the overlaid tree; checkpatch --strict; kernel-doc -Wall;
#     every prefix of the series builds the touched objects with the
#     filter on and off (x86_64); sparse (C=2) and W=1 warnings not in
#     upstream's tree; the rst builds with Sphinx.

set -uo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
. "$REPO/tpf/lib.sh"

OUT=${SERIES_OUT:-$REPO/series}
SDIR=$CACHE/series/$KVER_WANT
TREE=$SDIR/linux
MSGS=$REPO/tpf/series
BRANCH=tlb-pending-filter
LOG=$LOGS/series.log
ARCH=x86_64
export ARCH
mkdir -p "$LOGS" "$SDIR"

# With KSRC, a git tree: the series is made on its HEAD (the overlay's
# changes there are left alone), which format-patch names as the
# base-commit, and a worktree of that commit is the pristine tree.
BASE_COMMIT=
if [ -n "${KSRC:-}" ]; then
	BASE_COMMIT=$(git -C "$KSRC_ABS" rev-parse -q --verify 'HEAD^{commit}' 2>/dev/null) ||
		die "series: KSRC=$KSRC is not a git tree, so there is no base commit to make the series on; use a git tree, or unset KSRC to use Debian's linux-source-$KVER_WANT"
	SDIR=$CACHE/series/ksrc-$(echo "$KSRC_ABS" | md5sum | cut -c1-12)
	TREE=$SDIR/linux
	PRISTINE=$SDIR/base
	mkdir -p "$SDIR"
fi
# checkpatch runs scripts/spdxcheck.py (ply, GitPython); htmldocs needs
# Sphinx and PyYAML.  All of them for Debian's python3, which PATH puts
# first below.
need_packages "${BUILD_PACKAGES[@]}" "git git" "sparse sparse" \
	"sphinx-build python3-sphinx" "/usr/lib/python3/dist-packages/yaml python3-yaml" \
	"/usr/lib/python3/dist-packages/ply python3-ply" \
	"/usr/lib/python3/dist-packages/git python3-git" || exit 1
export PATH=/usr/bin:/bin:$PATH
( ensure_source ) || exit 1

ok() { echo "ok: series: $1"; }
bad() { echo "FAILED: series: $1"; }
g() { git -C "$TREE" "$@"; }

# The Signed-off-by: the git identity configured for the repository, or,
# on a machine with none (a fresh CI host), the author of its last commit.
ident_name=$(git -C "$REPO" config user.name) &&
ident_mail=$(git -C "$REPO" config user.email) || {
	ident_name=$(git -C "$REPO" log -1 --format=%an 2>/dev/null) &&
	ident_mail=$(git -C "$REPO" log -1 --format=%ae 2>/dev/null) &&
	[ -n "$ident_name" ] ||
		die "series: no git user.name and user.email in $REPO, and no commit to take them from: set them with git config"
	echo "series: no git identity configured; signing off as the last commit's author, $ident_name <$ident_mail>"
}
IDENT="$ident_name <$ident_mail>"

# --- 1. The base tree -----------------------------------------------------
if [ -n "$BASE_COMMIT" ] &&
   [ "$(g rev-parse -q --verify 'tpf-base^{commit}' 2>/dev/null)" != "$BASE_COMMIT" ]; then
	step "a clone of $KSRC at $BASE_COMMIT in $TREE, and a worktree of it in $PRISTINE"
	rm -rf "$TREE" "$TREE.tmp" "$PRISTINE"
	(
		set -e
		git clone -q --shared --no-checkout "$KSRC_ABS" "$TREE.tmp"
		cd "$TREE.tmp"
		git config user.name "$ident_name"
		git config user.email "$ident_mail"
		git config gc.auto 0
		git checkout -q -f -B master "$BASE_COMMIT"
		git tag -f tpf-base "$BASE_COMMIT" > /dev/null
	) || die "series: cannot clone $KSRC into $TREE.tmp"
	mv "$TREE.tmp" "$TREE"
	g worktree prune
	g worktree add -q --detach "$PRISTINE" tpf-base ||
		die "series: cannot check out the base in $PRISTINE"
fi
kver=$(make -s -C "$PRISTINE" kernelversion)
if [ -z "$BASE_COMMIT" ] && ! g rev-parse -q --verify tpf-base > /dev/null 2>&1; then
	step "a git tree of the pristine $kver source in $TREE (once)"
	rm -rf "$TREE" "$TREE.tmp"
	cp -a "$PRISTINE" "$TREE.tmp" || die "series: cannot copy $PRISTINE"
	rm -f "$TREE.tmp/.tpf-extracted"
	(
		set -e
		cd "$TREE.tmp"
		git init -q -b master
		git config user.name "$ident_name"
		git config user.email "$ident_mail"
		git config gc.auto 0
		git add -A -f .
		git commit -q -m "Linux $kver (Debian linux-source-$KVER_WANT)"
		git tag tpf-base
	) || die "series: cannot make the base commit in $TREE.tmp"
	mv "$TREE.tmp" "$TREE"
fi

# --- 2. The patches -------------------------------------------------------
mapfile -t msgs < <(cd "$MSGS" && ls [0-9][0-9]-*.msg 2>/dev/null)
[ ${#msgs[@]} -gt 0 ] || die "series: no patch descriptions $MSGS/NN-*.msg"

# Every overlay file (kernel path), as overlay.sh just wrote them to its
# manifest, the repository file behind each on this version, and which
# patch claims it.
mapfile -t overlay < <(LC_ALL=C sort "$SRC_STATE/manifest")
declare -A fsrc=()
while IFS=$'\t' read -r f r; do
	fsrc[$f]=$REPO/$r
done < "$SRC_STATE/sources"
[ ${#overlay[@]} -gt 0 ] || die "series: the overlay's manifest $SRC_STATE/manifest is empty"
declare -A owner=()
for m in "${msgs[@]}"; do
	files=$(sed -n '1s/^Files: //p' "$MSGS/$m")
	[ -n "$files" ] || die "series: $m: the first line must be 'Files: PATH...'"
	sed -n 2p "$MSGS/$m" | grep -qx -- '---' || die "series: $m: line 2 must be '---'"
	for f in $files; do
		[ -z "${owner[$f]:-}" ] || die "series: $f is in both ${owner[$f]} and $m"
		# A file only a backport changes (lib/Makefile on 6.12) is
		# named all the same.
		[ -n "${fsrc[$f]:-}" ] ||
			compgen -G "$REPO/$f" > /dev/null ||
			compgen -G "$REPO/$f.diff" > /dev/null ||
			compgen -G "$REPO/backport/*/$f" > /dev/null ||
			compgen -G "$REPO/backport/*/$f.diff" > /dev/null ||
			die "series: $m names $f, which is not in the overlay"
		owner[$f]=$m
	done
done
for f in "${overlay[@]}"; do
	[ "$f" = MAINTAINERS ] && continue
	[ -n "${owner[$f]:-}" ] || die "series: overlay file $f is in no patch of $MSGS"
done

# MAINTAINERS as the overlay leaves it, less the entry's F: lines of files
# that do not exist yet in the tree.
maintainers_now() {
	python3 - "$TREE" "$SRC/MAINTAINERS" "$PRISTINE/MAINTAINERS" <<'EOF'
import os, sys
tree, final, base = sys.argv[1:]
new, old = open(final).read().split('\n'), set(open(base).read().split('\n'))
out = []
for line in new:
    if line.startswith('F:\t') and line not in old:
        path = line[3:]
        if not os.path.exists(os.path.join(tree, path)):
            continue
    out.append(line)
sys.stdout.write('\n'.join(out))
EOF
}

step "the series on branch $BRANCH of $TREE"
g checkout -q -f -B "$BRANCH" tpf-base && g clean -q -f -d ||
	die "series: cannot reset $TREE to tpf-base"
for m in "${msgs[@]}"; do
	for f in $(sed -n '1s/^Files: //p' "$MSGS/$m"); do
		r=${fsrc[$f]:-}
		# Not changed on this version (a backport-only file).
		[ -n "$r" ] || continue
		if [[ "$r" == *.diff ]]; then
			if ! out=$(g apply --check "$r" 2>&1); then
				die "series: $m: ${r#"$REPO"/} does not apply to $kver: $(echo "$out" | head -n 2 | paste -sd' ' -)"
			fi
			g apply "$r" || die "series: $m: git apply ${r#"$REPO"/} failed"
		else
			mkdir -p "$TREE/$(dirname "$f")"
			cp "$r" "$TREE/$f"
		fi
		g add -f -- "$f"
	done
	if [ -f "$REPO/MAINTAINERS.diff" ]; then
		maintainers_now > "$TREE/MAINTAINERS.new" && mv "$TREE/MAINTAINERS.new" "$TREE/MAINTAINERS"
		g add MAINTAINERS
	fi
	# A description that ends in trailers (Suggested-by:, Link:) gets the
	# Signed-off-by: in the same block.
	sep='\n'
	tail -n 1 "$MSGS/$m" | grep -qE '^[A-Z][A-Za-z-]*: ' && sep=
	{ sed '1,2d' "$MSGS/$m"; printf "${sep}Signed-off-by: %s\n" "$IDENT"; } > "$SDIR/msg"
	g commit -q -F "$SDIR/msg" || die "series: $m: commit failed"
done
cmp -s "$TREE/MAINTAINERS" "$SRC/MAINTAINERS" ||
	die "series: MAINTAINERS after the last patch differs from the overlay's"

# --- 3. format-patch, To/Cc, the cover letter ------------------------------
step "git format-patch into $OUT"
rm -rf "$OUT"
mkdir -p "$OUT"
g diff tpf-base "$BRANCH" > "$SDIR/all.diff"
to=() cc=()
while IFS= read -r line; do
	addr=$(echo "$line" | sed 's/ (.*)$//')
	# The new entry's maintainer is the sender.
	[ "$addr" != "$IDENT" ] || continue
	case "$line" in
	*"(maintainer:"*) to+=(--to="$addr") ;;
	*) cc+=(--cc="$addr") ;;
	esac
done < <(cd "$TREE" && perl scripts/get_maintainer.pl --no-git --no-git-fallback \
	--m --r --l --no-s "$SDIR/all.diff" 2> "$SDIR/maintainers.err")
[ ${#to[@]} -gt 0 ] ||
	die "series: get_maintainer.pl named no maintainer: $(head -n 2 "$SDIR/maintainers.err")"
base_opt=()
[ -z "$BASE_COMMIT" ] || base_opt=(--base=tpf-base)
g format-patch -q --cover-letter --thread=shallow -o "$OUT" "${to[@]}" "${cc[@]}" \
	"${base_opt[@]}" tpf-base.."$BRANCH" || die "series: git format-patch failed"

bench=$REPO/bench-results/bench-mail.txt
[ -f "$bench" ] || bench=$MSGS/bench.txt
# The base: the tarball has no git history, so name the release and the
# Debian package that carries it.
if [ -n "$BASE_COMMIT" ]; then
	# The tree's own name for the commit (v7.3.4 in a stable tree), not
	# the tag this script put there.
	base="Based on $(g describe --tags --always --exclude tpf-base tpf-base 2>/dev/null) ($kver); base-commit below."
else
	debver=$(sed -n 's/^linux-source-[0-9.]*_\(.*\)_all\.deb$/\1/p' "$PRISTINE/.tpf-extracted")
	[ -n "$debver" ] || debver=$(dpkg-query -W -f='${Version}' "linux-source-$KVER_WANT" 2>/dev/null)
	base="Based on v$kver as Debian's linux-source-$KVER_WANT ${debver:-(version unknown)} packages it; that tarball has no git history, so there is no base-commit line."
fi
python3 - "$OUT"/0000-cover-letter.patch "$MSGS/cover.txt" "$bench" "$base" <<'EOF' ||
import sys, textwrap
path, cover, bench, base = sys.argv[1:]
text = open(cover).read()
subject, body = text.split('\n', 1)
table = open(bench).read().rstrip('\n')
body = body.lstrip('\n').replace('@BENCH@', table)
body = body.replace('@BASE@', textwrap.fill(base, 72))
patch = open(path).read()
assert '*** SUBJECT HERE ***' in patch and '*** BLURB HERE ***' in patch
patch = patch.replace('*** SUBJECT HERE ***', subject)
patch = patch.replace('*** BLURB HERE ***', body.rstrip('\n'))
open(path, 'w').write(patch)
EOF
	die "series: cannot write the cover letter"
echo "series: $base"
echo "series: $(ls "$OUT" | wc -l) files in $OUT ($((${#msgs[@]})) patches and the cover letter)"
echo "series: To/Cc: ${#to[@]} + ${#cc[@]} addresses from get_maintainer.pl"
if [ "${SERIES_CHECKS:-1}" = 0 ]; then
	exit 0
fi

# --- 4. The checks ----------------------------------------------------------
mapfile -t patches < <(ls "$OUT"/[0-9][0-9][0-9][0-9]-*.patch | grep -v '/0000-cover-letter\.patch$')

# git am of the patches on the base gives the overlaid tree.
g checkout -q -f -B series-am tpf-base && g clean -q -f -d
if [ ${#patches[@]} -ne ${#msgs[@]} ]; then
	bad "format-patch wrote ${#patches[@]} patches for ${#msgs[@]} descriptions"
elif g am -q "${patches[@]}" < /dev/null > "$SDIR/am.log" 2>&1; then
	changed=$(g diff --name-only tpf-base series-am | LC_ALL=C sort)
	want=$(printf '%s\n' "${overlay[@]}" | LC_ALL=C sort)
	differ=
	for f in $changed; do
		cmp -s "$TREE/$f" "$SRC/$f" || differ="$differ $f"
	done
	if [ "$changed" != "$want" ]; then
		bad "git am: the series touches other files than the overlay: $(comm -3 <(echo "$changed") <(echo "$want") | paste -sd' ' -)"
	elif [ -n "$differ" ]; then
		bad "git am: files differ from the overlaid tree:$differ"
	else
		ok "git am of ${#msgs[@]} patches on $kver gives the overlaid tree ($(echo "$changed" | wc -l) files)"
	fi
else
	g am --abort > /dev/null 2>&1
	bad "git am of the series failed: $(tail -n 3 "$SDIR/am.log" | paste -sd' ' -)"
fi
g checkout -q -f "$BRANCH"

# The objects the series touches, and the files kernel-doc reads.
objs_all=() docfiles=()
for f in $(g diff --name-only tpf-base "$BRANCH"); do
	case "$f" in
	tools/*) ;;
	*.c) objs_all+=("${f%.c}.o"); docfiles+=("$f") ;;
	*.h) docfiles+=("$f") ;;
	esac
done
KUNIT_OBJ=lib/tests/tlb_pending_filter_kunit.o
FILTER_OBJ=mm/tlb_pending_filter.o

# build DIR y|n LOG OBJS...: the objects that exist at this commit.
build() {
	local dir=$1 filter=$2 log=$3 o objs=()
	shift 3
	for o in "$@"; do
		[ -f "$TREE/${o%.o}.c" ] || continue
		if [ "$filter" = n ]; then
			case "$o" in "$FILTER_OBJ" | "$KUNIT_OBJ") continue ;; esac
		fi
		objs+=("$o")
	done
	if [ "$filter" = y ]; then
		obj_config "$dir" "$TREE" y -e KUNIT -e TLB_PENDING_FILTER_KUNIT_TEST
	else
		obj_config "$dir" "$TREE" n
	fi >> "$log" 2>&1 &&
	make -s -C "$TREE" O="$dir" -j"$JOBS" "${objs[@]}" >> "$log" 2>&1
}

# checkpatch --strict on every patch.  The base is one commit without
# history, so a commit id that the text cites cannot be looked up:
# UNKNOWN_COMMIT_ID is left out and the ids are checked here instead, each
# against the list below (upstream commits this series cites).
KNOWN_COMMITS="6ce64428d620 20841405940e"
cp_bad=0
for p in "${patches[@]}"; do
	for id in $(sed -n '/^---$/q; s/.*commit \([0-9a-f]\{12,40\}\) (".*/\1/p' "$p"); do
		case " $KNOWN_COMMITS " in
		*" ${id:0:12} "*) ;;
		*) echo "$(basename "$p"): commit $id is not one this series knows"
		   cp_bad=$((cp_bad + 1)) ;;
		esac
	done
	res=$(cd "$TREE" && perl scripts/checkpatch.pl --strict --terse --no-summary \
		--ignore UNKNOWN_COMMIT_ID "$p" 2>&1)
	if [ -n "$res" ]; then
		echo "$res" | sed "s|^|$(basename "$p"): |"
		cp_bad=$((cp_bad + $(echo "$res" | wc -l)))
	fi
done
if [ $cp_bad -eq 0 ]; then
	ok "checkpatch --strict: 0 errors, 0 warnings, 0 checks in ${#msgs[@]} patches"
else
	bad "checkpatch --strict: $cp_bad findings"
fi

# kernel-doc -Wall: no warning that the base's file does not give.
kd_new=
for f in "${docfiles[@]}"; do
	now=$(cd "$TREE" && perl scripts/kernel-doc -none -Wall "$f" 2>&1 |
	      sed -E 's/:[0-9]+([: ])/:\1/' | LC_ALL=C sort -u)
	before=
	if [ -f "$PRISTINE/$f" ]; then
		before=$(cd "$PRISTINE" && perl scripts/kernel-doc -none -Wall "$f" 2>&1 |
			 sed -E 's/:[0-9]+([: ])/:\1/' | LC_ALL=C sort -u)
	fi
	extra=$(comm -23 <(echo "$now") <(echo "$before") | grep .)
	[ -z "$extra" ] || { echo "$extra"; kd_new="$kd_new $f"; }
done
if [ -z "$kd_new" ]; then
	ok "kernel-doc -Wall: no new warnings in ${#docfiles[@]} new or touched files"
else
	bad "kernel-doc -Wall: new warnings in$kd_new"
fi

if [ "${SERIES_BUILDS:-1}" = 0 ]; then
	echo "series: SERIES_BUILDS=0: no bisect, sparse or htmldocs builds"
	exit 0
fi

# The builds below depend on the trees of the series' commits, on how the
# objects are configured and on the compiler: a check that passed for all
# of them is not repeated (delete $SDIR/*.ok to force it).
stamp=$({ g rev-list --reverse tpf-base.."$BRANCH" | while read -r c; do
		g rev-parse "$c^{tree}"; done
	  sed -n '/^obj_config()/,/^}/p' "$REPO/tpf/lib.sh"; gcc --version | head -n 1
	  command -v sparse > /dev/null && sparse --version; } | md5sum | cut -c1-32)

# Every prefix builds, filter on and off: one build tree each, walked
# from the first patch to the last, so that make rebuilds what changed.
n=$(g rev-list --count tpf-base.."$BRANCH")
if [ "$(cat "$SDIR/bisect.ok" 2>/dev/null)" = "$stamp" ]; then
	ok "every prefix of the $n patches builds the touched objects, filter on and off (checked before for these trees)"
else
step "bisectability: every prefix of the series, filter on and off (log $LOG)"
: > "$LOG"
n=0 broken=
for c in $(g rev-list --reverse tpf-base.."$BRANCH"); do
	n=$((n + 1))
	g checkout -q -f "$c"
	for filter in y n; do
		echo "== patch $n ($(g log -1 --format=%s "$c")), filter $filter" >> "$LOG"
		build "$SDIR/build-$filter" $filter "$LOG" "${objs_all[@]}" ||
			broken="$broken $n/$filter"
	done
done
g checkout -q -f "$BRANCH"
if [ -z "$broken" ]; then
	ok "every prefix of the $n patches builds the touched objects, filter on and off"
	echo "$stamp" > "$SDIR/bisect.ok"
else
	bad "prefixes that do not build (patch/filter):$broken (log $LOG)"
fi
fi

# sparse and W=1: the warnings of the touched objects, against the same
# objects built at the base (line numbers and build paths left out).
warnings() {
	sed -n -E 's/^([^ :]+):[0-9]+:[0-9]+: (warning|error): /\1: \2: /p; s/^([^ :]+):[0-9]+: (warning|error): /\1: \2: /p' "$1" |
		sed "s|$TREE/||" | LC_ALL=C sort
}
step "sparse (C=2) and W=1 on ${#objs_all[@]} objects, at the base and at the tip"
sparse_check() {
	local dir=$SDIR/check-$1 log=$SDIR/check-$1.log o objs=()
	for o in "${objs_all[@]}"; do
		[ -f "$TREE/${o%.o}.c" ] && objs+=("$o")
	done
	obj_config "$dir" "$TREE" "$2" ${3:+-e KUNIT -e TLB_PENDING_FILTER_KUNIT_TEST} > "$log" 2>&1 || return 1
	for o in "${objs[@]}"; do rm -f "$dir/$o"; done
	make -C "$TREE" O="$dir" -j"$JOBS" C=2 W=1 "${objs[@]}" >> "$log" 2>&1
}
if [ "$(cat "$SDIR/sparse.ok" 2>/dev/null)" = "$stamp" ]; then
	ok "sparse and W=1: no warning that the base does not give (checked before for these trees)"
else
g checkout -q -f tpf-base
sparse_check base n || bad "sparse/W=1: the base objects do not build (log $SDIR/check-base.log)"
g checkout -q -f "$BRANCH"
if sparse_check tip y kunit; then
	extra=$(comm -13 <(warnings "$SDIR/check-base.log") <(warnings "$SDIR/check-tip.log"))
	# Explained, and printed as such: the KUnit helpers that lock a PTE
	# for their callers and unlock it for them, or lock and unlock it
	# after testing the pointer (tpf_pn_decide()).  get_locked_pte()
	# takes the PTL, and pte_offset_map() the RCU read lock, only when
	# they return a PTE, which sparse cannot follow into the test of the
	# pointer.  The base's touched objects give 21 of the same kind
	# (smaps_pte_range(), clear_refs_pte_range(), ...).
	known="lib/tests/tlb_pending_filter_kunit.c: warning: context imbalance in 'tpf_(wp_lock_pte' - wrong count at exit|wp_unlock_pte' - unexpected unlock|pn_decide' - unexpected unlock)"
	if [ -n "$extra" ] && echo "$extra" | grep -qE "$known"; then
		echo "$extra" | grep -E "$known" | sed 's/^/series: explained (sparse, conditional locking in a KUnit helper): /'
		extra=$(echo "$extra" | grep -vE "$known")
	fi
	if [ -z "$extra" ]; then
		ok "sparse and W=1: no warning that the base does not give ($(warnings "$SDIR/check-tip.log" | wc -l) at both)"
		echo "$stamp" > "$SDIR/sparse.ok"
	else
		echo "$extra"
		bad "sparse and W=1: $(echo "$extra" | wc -l) new warnings (log $SDIR/check-tip.log)"
	fi
else
	bad "sparse/W=1: the tip objects do not build (log $SDIR/check-tip.log)"
fi
fi

# The rst, built with the tree's Sphinx setup, Documentation/mm only, at
# the base and at the tip: no warning that the base does not give (the
# base's own, such as references into other directories, stay).
docs() {
	rm -rf "$SDIR/docs-$1"
	make -C "$TREE" O="$SDIR/docs-$1" SPHINXDIRS=mm htmldocs > "$SDIR/docs-$1.log" 2>&1
}
doc_warnings() {
	grep -E 'WARNING|ERROR' "$SDIR/docs-$1.log" | sed -E "s|$TREE/||; s/:[0-9]+:/:/" |
		LC_ALL=C sort -u
}
step "make SPHINXDIRS=mm htmldocs, at the base and at the tip"
g checkout -q -f tpf-base
docs base
base_rc=$?
g checkout -q -f "$BRANCH"
if [ $base_rc -ne 0 ]; then
	tail -n 5 "$SDIR/docs-base.log"
	bad "htmldocs fails at the base (log $SDIR/docs-base.log)"
elif ! docs tip; then
	tail -n 5 "$SDIR/docs-tip.log"
	bad "htmldocs failed (log $SDIR/docs-tip.log)"
else
	doc_new=$(comm -13 <(doc_warnings base) <(doc_warnings tip))
	if [ -n "$doc_new" ]; then
		echo "$doc_new"
		bad "htmldocs: $(echo "$doc_new" | wc -l) new warnings (log $SDIR/docs-tip.log)"
	elif [ ! -s "$SDIR/docs-tip/Documentation/output/mm/tlb_pending_filter.html" ]; then
		bad "htmldocs: no mm/tlb_pending_filter.html (log $SDIR/docs-tip.log)"
	else
		ok "htmldocs: Documentation/mm/tlb_pending_filter.rst builds, no new warnings"
	fi
fi
