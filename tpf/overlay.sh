#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Lay the overlay (new files and PATH.diff patches kept at kernel paths in
# the repository) on a kernel tree.
#
#   overlay.sh REPO TARGET STATE [LAYER...]
#
# REPO    the repository root; overlay files live under $OVERLAY_DIRS,
#         and in $OVERLAY_TOP at the top (MAINTAINERS.diff).  They are
#         written for the newest supported kernel; a file under
#         backport/VERSION/ at the same path (a new file or a .diff) takes
#         the place of both PATH and PATH.diff on that version.
# LAYER   a directory of REPO laid on top, in order (tpf/lab: the test-only
#         patches): a new file there replaces the file, a PATH.diff applies
#         to what the layers below made of PATH; LAYER/backport/VERSION/
#         takes the place of LAYER's own file on that version.
# TARGET  the kernel tree to update: Makefile.kunit's work copy, or KSRC.
# STATE   a directory of ours that remembers what the overlay changed in
#         TARGET: orig/ (TARGET's files before we first touched them),
#         absent (files we created), manifest (files we wrote last time)
#         and sources (the repository file behind each of them).
#
# Every diff is applied with no fuzz to a staged copy of its file's original
# content.  TARGET is only written once every diff has applied, and then
# only the files whose content differs, so make rebuilds what changed and
# nothing else.  A run interrupted while writing TARGET is completed by the
# next one, since originals are saved before a file is first overwritten.

set -euo pipefail

OVERLAY_DIRS="Documentation arch fs include kernel lib mm tools"
OVERLAY_TOP="MAINTAINERS.diff"
# The kernels the overlay supports: the first is the one the series is
# written for, the others have a backport/VERSION/ tree.
SUPPORTED="7.3 6.12"

die() {
	echo "overlay: error: $*" >&2
	exit 1
}

[ $# -ge 3 ] || die "usage: overlay.sh REPO TARGET STATE [LAYER...]"
repo=$(cd "$1" && pwd) || die "no repository at $1"
target=$2
state=$3
shift 3
layers=("$@")
for layer in "${layers[@]}"; do
	[ -d "$repo/$layer" ] || die "$repo/$layer: no such layer directory"
done

# --- Is TARGET a kernel tree of a supported version? ---------------------
supported_list="Linux $(echo "$SUPPORTED" | sed 's/ /.y or /g').y"
[ -d "$target" ] || die "$target: no such directory; set KSRC to a $supported_list source tree"
target=$(cd "$target" && pwd)
if [ ! -f "$target/Makefile" ] || [ ! -f "$target/mm/memory.c" ] ||
   [ ! -f "$target/include/linux/mm_types.h" ]; then
	die "$target is not a Linux kernel source tree (no Makefile, mm/memory.c or include/linux/mm_types.h); set KSRC to a $supported_list tree, or unset it to use Debian's linux-source package"
fi
version=$(sed -n 's/^VERSION = //p' "$target/Makefile" | head -n 1)
patchlevel=$(sed -n 's/^PATCHLEVEL = //p' "$target/Makefile" | head -n 1)
sublevel=$(sed -n 's/^SUBLEVEL = //p' "$target/Makefile" | head -n 1)
kver="${version:-?}.${patchlevel:-?}.${sublevel:-?}"
case " $SUPPORTED " in
*" $version.$patchlevel "*) ;;
*) die "$target is Linux $kver; the overlay supports $supported_list: set KSRC to such a tree, or unset it to use Debian's linux-source package" ;;
esac
series_ver="$version.$patchlevel"
backport=""
[ "$series_ver" = "${SUPPORTED%% *}" ] || backport="backport/$series_ver"

mkdir -p "$state/orig"
touch "$state/absent" "$state/manifest"
if [ -e "$state/in-progress" ]; then
	echo "overlay: a previous run on $target was interrupted; completing it from $state"
fi

# --- Collect the overlay --------------------------------------------------
cd "$repo"
declare -A src=()	# kernel path -> the repository file that makes it
declare -A kind=()	# kernel path -> "diff" or "new"
declare -A level=()	# kernel path -> "top" or the backport directory
add_file() {
	local f=$1 rel=$2 lvl=$3 path

	case "$rel" in
	*.orig | *.rej | *~)
		die "$repo/$f: stray patch leftover in the overlay; remove it"
		;;
	*.diff) path=${rel%.diff} ;;
	*) path=$rel ;;
	esac
	[ "${level[$path]:-}" != "$lvl" ] ||
		die "$path is both a new file and a diff in the overlay${lvl#top}"
	src[$path]=$f
	level[$path]=$lvl
	if [ "$path" = "$rel" ]; then kind[$path]=new; else kind[$path]=diff; fi
}
while IFS= read -r f; do
	add_file "$f" "$f" top
done < <({ find $OVERLAY_DIRS -type f 2>/dev/null || true
	   for f in $OVERLAY_TOP; do [ ! -f "$f" ] || echo "$f"; done; } | LC_ALL=C sort)
# A backport file replaces the newest kernel's file and diff at its path.
if [ -n "$backport" ] && [ -d "$backport" ]; then
	while IFS= read -r f; do
		add_file "$f" "${f#"$backport"/}" " ($backport)"
	done < <(find "$backport" -type f | LC_ALL=C sort)
fi
# Layers: their files apply after everything below them.
declare -A above=()	# kernel path -> the layers' repository files, in order
for layer in "${layers[@]}"; do
	declare -A lsrc=()
	while IFS= read -r f; do
		lsrc[${f#"$layer"/}]=$f
	done < <(find "$layer" -type f ! -path "$layer/backport/*" | LC_ALL=C sort)
	if [ -n "$backport" ] && [ -d "$layer/$backport" ]; then
		while IFS= read -r f; do
			rel=${f#"$layer/$backport"/}
			unset "lsrc[$rel]" "lsrc[$rel.diff]" "lsrc[${rel%.diff}]"
			lsrc[$rel]=$f
		done < <(find "$layer/$backport" -type f | LC_ALL=C sort)
	fi
	for rel in "${!lsrc[@]}"; do
		f=${lsrc[$rel]}
		case "$rel" in
		*.orig | *.rej | *~) die "$repo/$f: stray patch leftover in the layer; remove it" ;;
		*.diff) path=${rel%.diff} ;;
		*) path=$rel ;;
		esac
		if [ -z "${src[$path]:-}" ]; then
			# Nothing below: the layer's file is the first step.
			src[$path]=$f
			level[$path]=" ($layer)"
			if [ "$path" = "$rel" ]; then kind[$path]=new; else kind[$path]=diff; fi
		else
			above[$path]+="$f"$'\n'
		fi
	done
	unset lsrc
done
mapfile -t outputs < <(printf '%s\n' "${!src[@]}" | LC_ALL=C sort)
[ ${#outputs[@]} -gt 0 ] || die "$repo has no overlay files under: $OVERLAY_DIRS"
ndiffs=0
nnew=0
for path in "${outputs[@]}"; do
	if [ "${kind[$path]}" = diff ]; then
		ndiffs=$((ndiffs + 1))
	else
		nnew=$((nnew + 1))
	fi
done

# Where the original content of a kernel file is: orig/ if we saved it,
# nowhere if we created it, TARGET otherwise.
base_of() {
	if [ -f "$state/orig/$1" ]; then
		echo "$state/orig/$1"
	elif grep -qxF -- "$1" "$state/absent"; then
		echo ""
	elif [ -f "$target/$1" ]; then
		echo "$target/$1"
	else
		echo ""
	fi
}

stage=$(mktemp -d "$state/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

# apply_diff F PATH: apply repository diff F to the staged PATH, or die
# naming F, the hunks that failed and the version.
apply_diff() {
	local f=$1 path=$2 out hunks extra

	if ! out=$(patch -p1 -d "$stage" --batch --forward --fuzz=0 \
		     --no-backup-if-mismatch --reject-file=- -i "$repo/$f" 2>&1); then
		hunks=$(echo "$out" | sed -n 's/^Hunk #\([0-9]*\) FAILED at \([0-9]*\).*/#\1 (at line \2)/p' |
			paste -sd, - | sed 's/,/, /g')
		if [ -n "$hunks" ]; then
			die "$f does not apply to $path of Linux $kver: hunk $hunks FAILED; rebase the diff for $series_ver (nothing was changed in $target)"
		fi
		die "$f does not apply to $path of Linux $kver: $(echo "$out" | grep -v '^patching file' | head -n 1) (nothing was changed in $target)"
	fi
	# A diff may only touch its own file.
	extra=$(cd "$stage" && find . -type f ! -path "./$path" | head -n 1)
	[ -z "$extra" ] || die "$f patched ${extra#./} as well as $path; one diff per file"
}

# build PATH: make the overlaid PATH in $stage/PATH, from its base (a new
# file, or the original patched), then the layers' files in order.
build() {
	local path=$1 f base

	mkdir -p "$stage/$(dirname "$path")"
	f=${src[$path]}
	if [ "${kind[$path]}" = new ]; then
		cp "$repo/$f" "$stage/$path"
	else
		base=$(base_of "$path")
		[ -n "$base" ] || die "$f: $path does not exist in $target (Linux $kver); the diff has nothing to apply to"
		cp "$base" "$stage/$path"
		apply_diff "$f" "$path"
	fi
	while IFS= read -r f; do
		[ -n "$f" ] || continue
		case "$f" in
		*.diff) apply_diff "$f" "$path" ;;
		*) cp "$repo/$f" "$stage/$path" ;;
		esac
	done <<< "${above[$path]:-}"
}

for path in "${outputs[@]}"; do
	build "$path"
	rm -rf "${stage:?}"/*
done
rm -rf "${stage:?}"/*

# --- Every diff applies: now write TARGET --------------------------------
if [ -e "$state/in-progress" ]; then
	# Copies the interrupted run had not yet renamed into place.
	for path in "${outputs[@]}"; do
		rm -f "$target/$path.tpf-tmp"
	done
fi
touch "$state/in-progress"
changed=0

# Save the original of a TARGET file before we overwrite it for the first time.
save_orig() {
	local path=$1

	if [ -f "$state/orig/$path" ] || grep -qxF -- "$path" "$state/absent"; then
		return
	fi
	if [ -f "$target/$path" ]; then
		mkdir -p "$state/orig/$(dirname "$path")"
		cp -p "$target/$path" "$state/orig/$path.tmp"
		mv "$state/orig/$path.tmp" "$state/orig/$path"
	else
		echo "$path" >> "$state/absent"
	fi
}

# Replace a TARGET file only if its content changes.
install_file() {
	local src=$1 path=$2

	if [ -f "$target/$path" ] && cmp -s "$src" "$target/$path"; then
		return
	fi
	mkdir -p "$target/$(dirname "$path")"
	cp "$src" "$target/$path.tpf-tmp"
	mv "$target/$path.tpf-tmp" "$target/$path"
	changed=$((changed + 1))
}

for path in "${outputs[@]}"; do
	save_orig "$path"
	build "$path"
	install_file "$stage/$path" "$path"
	rm -rf "${stage:?}"/*
done

# Files the overlay wrote last time and no longer does: put them back.
while IFS= read -r path; do
	[ -n "$path" ] && [ -z "${src[$path]:-}" ] || continue
	if [ -f "$state/orig/$path" ]; then
		install_file "$state/orig/$path" "$path"
	elif [ -f "$target/$path" ]; then
		rm -f "$target/$path"
		changed=$((changed + 1))
	fi
done < "$state/manifest"

printf '%s\n' "${outputs[@]}" > "$state/manifest.tmp"
mv "$state/manifest.tmp" "$state/manifest"
# Which repository file made each path (backport or top level), for
# series.sh.
for path in "${outputs[@]}"; do
	printf '%s\t%s\n' "$path" "${src[$path]}"
done > "$state/sources.tmp"
# And the layers' files on top, for the record.
for path in "${outputs[@]}"; do
	while IFS= read -r f; do
		[ -z "$f" ] || printf '%s\t%s\n' "$path" "$f"
	done <<< "${above[$path]:-}"
done > "$state/layered.tmp"
mv "$state/layered.tmp" "$state/layered"
mv "$state/sources.tmp" "$state/sources"
rm -f "$state/in-progress"
nlayered=0
for path in "${outputs[@]}"; do
	[ -z "${above[$path]:-}" ] || nlayered=$((nlayered + 1))
done
echo "overlay: $nnew new files, $ndiffs diffs${backport:+ (with $backport)}${layers[*]:+, $nlayered files changed by ${layers[*]}} on Linux $kver at $target ($changed files written)"
