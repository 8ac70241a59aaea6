#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# real-stage.sh DEBS ROOT: the real programs of the benchmark's NUMA boot,
# unmodified, from the system's Debian archive: redis-server and
# redis-benchmark (redis-tools, with Debian's jemalloc) and Node.js
# (nodejs, libnode108 and the JavaScript modules libnode loads at start).
# apt-get download keeps the packages in DEBS (a cache: what is there is
# not fetched again); dpkg-deb -x unpacks them into a staging tree, and
# their files and every library they load (theirs, or this machine's,
# found by ldd) are copied into ROOT at the paths the guest's dynamic
# loader looks in.  The guest's /usr/bin/redis-server is the symlink the
# redis-server package makes.
set -uo pipefail

PACKAGES=(redis-tools libjemalloc2 liblzf1
	  nodejs libnode108 libicu72 libuv1 libc-ares2 libbrotli1 libnghttp2-14
	  node-cjs-module-lexer node-acorn node-undici)
PROGRAMS=(/usr/bin/redis-check-rdb /usr/bin/redis-benchmark /usr/bin/redis-cli
	  /usr/bin/nodejs)

die() {
	echo "error: $*" >&2
	exit 1
}

[ $# -eq 2 ] || die "usage: real-stage.sh DEBS ROOT"
for tool in "apt-get apt" "apt-cache apt" "dpkg-deb dpkg" "ldd libc-bin"; do
	command -v "${tool% *}" > /dev/null ||
		die "real-stage.sh needs ${tool% *}: install it with apt-get install -y ${tool#* }"
done
debs=$1
root=$2
stage=$debs/stage
mkdir -p "$debs" "$root" || die "cannot create $debs or $root"

# The newest version the Debian archive has (apt-cache madison lists
# repositories only, newest first): not one a third-party repository or
# this machine installed.
want=()
for p in "${PACKAGES[@]}"; do
	compgen -G "$debs/${p}_*.deb" > /dev/null && continue
	v=$(apt-cache madison "$p" 2>/dev/null |
		awk -F' [|] ' '$3 ~ /debian/ { gsub(/ /, "", $2); print $2; exit }')
	[ -n "$v" ] || die "the Debian archive that apt knows offers no $p (apt-get update?): the real programs need the Debian 12 packages ${PACKAGES[*]}; BENCH_REAL=0 skips them"
	want+=("$p=$v")
done
if [ ${#want[@]} -gt 0 ]; then
	if ! (cd "$debs" && apt-get download "${want[@]}") > "$debs/download.log" 2>&1; then
		tail -n 5 "$debs/download.log" >&2
		die "apt-get download ${want[*]} failed (log $debs/download.log): the real programs need these Debian 12 packages; BENCH_REAL=0 skips them"
	fi
fi

rm -rf "$stage"
for deb in "$debs"/*.deb; do
	dpkg-deb -x "$deb" "$stage" || die "cannot unpack $deb"
done

libdir=$stage/usr/lib/x86_64-linux-gnu
for prog in "${PROGRAMS[@]}"; do
	[ -x "$stage$prog" ] || die "$prog is not in the packages ${PACKAGES[*]}"
	mkdir -p "$root$(dirname "$prog")"
	cp "$stage$prog" "$root$prog"
	# The libraries: a staged one goes where its package puts it, one of
	# this machine's where ldd found it.
	out=$(LD_LIBRARY_PATH=$libdir ldd "$stage$prog") || die "ldd $prog failed"
	if grep -q 'not found' <<< "$out"; then
		die "$prog: $(grep 'not found' <<< "$out" | tr -s '\t\n' '  ')"
	fi
	for lib in $(awk '/=> \//{ print $3 } /^\t\/lib/{ print $1 }' <<< "$out"); do
		dest=${lib#"$stage"}
		mkdir -p "$root$(dirname "$dest")"
		cp -L "$lib" "$root$dest"
	done
done
ln -sf redis-check-rdb "$root/usr/bin/redis-server"
ln -sf nodejs "$root/usr/bin/node"
# libnode's externalized builtins (Debian loads them from here at start).
mkdir -p "$root/usr/share"
cp -a "$stage/usr/share/nodejs" "$root/usr/share/"
