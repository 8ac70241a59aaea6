# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers of the Makefile.kunit scripts: the cache layout, package
# checks, the kernel source and the overlay.  Sourced, not run.

: "${REPO:?REPO must be set}"
CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tlb-pending-filter}
JOBS=${JOBS:-$(nproc)}
# The kernel the series is written for, and the backports the overlay
# keeps (backport/VERSION/).  TPF_KVER picks one; with KSRC, the tree's own
# version decides.
KVER_SERIES=7.3
SRC_TARBALL_612=${SRC_TARBALL:-/usr/src/linux-source-6.12.tar.xz}
KVER_SUPPORTED="7.3 6.12"
KVER_SUPPORTED_TEXT="Linux $(echo "$KVER_SUPPORTED" | sed 's/ /.y and /g').y"
# The Debian archive that serves linux-source-7.3 (Debian 12 does not):
# fetched with a sources list and lists directory of our own, never the
# system's.
ARCHIVE_URL=${TPF_ARCHIVE_URL:-http://deb.debian.org/debian}
ARCHIVE_SUITE=${TPF_ARCHIVE_SUITE:-trixie-backports}
ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

if [ -n "${KSRC:-}" ]; then
	# The user's tree: overlaid in place, its originals kept in our cache.
	KSRC_ABS=$(cd "$KSRC" 2>/dev/null && pwd) || {
		echo "error: KSRC=$KSRC: no such directory" >&2
		exit 1
	}
	# The tree's version; overlay.sh refuses a tree that is none of
	# KVER_SUPPORTED, naming it.
	KVER_WANT=$(sed -n 's/^VERSION = //p; s/^PATCHLEVEL = //p' "$KSRC_ABS/Makefile" 2>/dev/null |
		    head -n 2 | paste -sd. -)
	case " $KVER_SUPPORTED " in
	*" $KVER_WANT "*) ;;
	*) KVER_WANT=$KVER_SERIES ;;
	esac
	SRC=$KSRC_ABS
	SRC_STATE=$CACHE/ksrc/$(echo "$KSRC_ABS" | md5sum | cut -c1-12)
	BUILD=$SRC_STATE/build
	LAB_DIR=$SRC_STATE/lab
else
	KVER_WANT=${TPF_KVER:-$KVER_SERIES}
	SRC=$CACHE/work/$KVER_WANT/linux
	SRC_STATE=$CACHE/work/$KVER_WANT/overlay-state
	BUILD=$CACHE/build/$KVER_WANT
	LAB_DIR=$CACHE/work/$KVER_WANT/lab
fi
case " $KVER_SUPPORTED " in
*" $KVER_WANT "*) ;;
*)
	echo "error: Linux ${KVER_WANT:-?}: the overlay supports $KVER_SUPPORTED_TEXT (TPF_KVER=7.3 or 6.12, or KSRC= a tree of one of them)" >&2
	exit 1
	;;
esac
PRISTINE=$CACHE/pristine/$KVER_WANT/linux-source-$KVER_WANT
# The lab tree: the overlay and, on top, the test-only patches of tpf/lab
# (measurement modes, their debugfs file and tracepoints), which no series
# carries.  The guest, the bench's count pass and the KUnit run of the lab's
# cases build from it, in build directories of their own.
LAB_LAYER=tpf/lab
SRC_LAB=$LAB_DIR/linux
SRC_LAB_STATE=$LAB_DIR/overlay-state
BUILD_LAB=$BUILD/lab
# Logs of the series' kernel at the top, of a backport beside them.
LOGS=$CACHE/logs
[ "$KVER_WANT" = "$KVER_SERIES" ] || LOGS=$CACHE/logs/$KVER_WANT

step() {
	echo "==> $*"
}

die() {
	echo "error: $*" >&2
	exit 1
}

# need_packages "CHECK PACKAGE" ...: CHECK is a command name or an absolute
# path that must exist.  Installs what is missing when root, else stops with
# the exact apt-get line.
need_packages() {
	local missing=() item check pkg

	for item in "$@"; do
		check=${item% *}
		pkg=${item#* }
		case "$check" in
		/*) [ -e "$check" ] && continue ;;
		*) command -v "$check" > /dev/null 2>&1 && continue ;;
		esac
		case " ${missing[*]-} " in
		*" $pkg "*) ;;
		*) missing+=("$pkg") ;;
		esac
	done
	[ ${#missing[@]} -eq 0 ] && return 0

	if [ "$(id -u)" -ne 0 ] || [ -n "${TPF_NO_INSTALL:-}" ]; then
		die "missing packages: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}"
	fi
	step "installing ${missing[*]} with apt-get (TPF_NO_INSTALL=1 declines: it prints the apt-get line and stops)"
	if ! { apt-get update -qq &&
	       DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
	       > "$CACHE/apt.log" 2>&1; then
		tail -n 20 "$CACHE/apt.log" >&2
		die "apt-get install ${missing[*]} failed (log: $CACHE/apt.log)"
	fi
}

BUILD_PACKAGES=(
	"gcc gcc" "make make" "flex flex" "bison bison" "bc bc" "perl perl"
	"python3 python3" "patch patch" "xz xz-utils" "cpio cpio"
	"/usr/include/libelf.h libelf-dev" "/usr/include/openssl/ssl.h libssl-dev"
)
QEMU_X86_PACKAGES=(
	"qemu-system-x86_64 qemu-system-x86" "/usr/share/qemu/qboot.rom qemu-system-data"
)

# fetch_source_73: the newest linux-source-7.3 that Debian's archive
# serves, downloaded into $CACHE/apt-7.3 with apt's own machinery but a
# sources list, lists and archives directory of ours.  A package already
# downloaded is kept, and used while the archive cannot be reached or no
# longer offers the package.  Prints the path of the .deb.
fetch_source_73() {
	local dir=$CACHE/apt-7.3 opts cand debs offered reached

	mkdir -p "$dir/lists/partial" "$dir/archives/partial"
	[ -f "$ARCHIVE_KEYRING" ] || need_packages "$ARCHIVE_KEYRING debian-archive-keyring" >&2
	echo "deb [signed-by=$ARCHIVE_KEYRING] $ARCHIVE_URL $ARCHIVE_SUITE main" > "$dir/sources.list"
	opts=(-o Dir::Etc::sourcelist="$dir/sources.list" -o Dir::Etc::sourceparts=-
	      -o Dir::State::Lists="$dir/lists" -o Dir::Cache::archives="$dir/archives"
	      -o APT::Get::List-Cleanup=0 -o Debug::NoDropPrivs=1)
	cand=
	reached=
	# apt-get update exits 0 when a source cannot be fetched.
	if apt-get "${opts[@]}" update > "$dir/update.log" 2>&1 &&
	   ! grep -qE '^(Err:|[WE]: Failed to fetch)' "$dir/update.log"; then
		reached=1
		cand=$(apt-cache "${opts[@]}" policy linux-source-7.3 2>/dev/null |
		       sed -n 's/^  Candidate: //p')
		[ "$cand" != "(none)" ] || cand=
	fi
	if [ -n "$cand" ] && ! ls "$dir"/linux-source-7.3_"${cand//:/%3a}"_all.deb > /dev/null 2>&1; then
		step "downloading linux-source-7.3 $cand from $ARCHIVE_URL $ARCHIVE_SUITE" >&2
		(cd "$dir" && apt-get "${opts[@]}" download "linux-source-7.3=$cand") \
			> "$dir/download.log" 2>&1 ||
			echo "warning: downloading linux-source-7.3 $cand failed (log $dir/download.log)" >&2
	fi
	debs=$(ls "$dir"/linux-source-7.3_*_all.deb 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$debs" ]; then
		echo "$debs"
		return 0
	fi
	# What the archive's index lists (apt-cache would add the packages
	# installed on this machine).
	offered=$(for f in "$dir"/lists/*_Packages*; do
			  [ ! -f "$f" ] || /usr/lib/apt/apt-helper cat-file "$f"
		  done 2>/dev/null |
		  sed -n 's/^Package: \(linux-source-[0-9.]*\)$/\1/p' | sort -uV | paste -sd' ' -)
	if [ -n "$reached" ]; then
		echo "error: $ARCHIVE_URL $ARCHIVE_SUITE no longer offers linux-source-7.3 (it offers: ${offered:-no linux-source}), and none was downloaded before into $dir. The overlay supports $KVER_SUPPORTED_TEXT: set KSRC= to a 7.3 tree, or TPF_KVER=6.12 for the backport." >&2
	else
		echo "error: cannot fetch linux-source-7.3 from $ARCHIVE_URL $ARCHIVE_SUITE (log $dir/update.log), and none was downloaded before into $dir. Set KSRC= to a Linux 7.3 tree, or TPF_ARCHIVE_URL= to a Debian mirror." >&2
	fi
	return 1
}

# The pristine tree, extracted once from Debian's linux-source package
# (re-extracted when a newer one arrives).
ensure_pristine() {
	local deb tarball stamp

	[ -n "${KSRC:-}" ] && return 0
	if [ "$KVER_WANT" = 7.3 ]; then
		need_packages "dpkg-deb dpkg" "apt-get apt" "xz xz-utils"
		deb=$(fetch_source_73) || exit 1
		stamp=$(basename "$deb")
		if [ -f "$PRISTINE/.tpf-extracted" ] &&
		   [ "$(cat "$PRISTINE/.tpf-extracted")" = "$stamp" ]; then
			step "Linux 7.3 source: $stamp"
			return 0
		fi
		step "unpacking $stamp"
		rm -rf "$CACHE/deb-7.3"
		dpkg-deb -x "$deb" "$CACHE/deb-7.3" || die "cannot unpack $deb"
		tarball=$CACHE/deb-7.3/usr/src/linux-source-7.3.tar.xz
	else
		stamp=$SRC_TARBALL_612
		if [ -f "$PRISTINE/.tpf-extracted" ]; then
			return 0
		fi
		need_packages "$SRC_TARBALL_612 linux-source-6.12"
		tarball=$SRC_TARBALL_612
	fi
	step "extracting $tarball into $(dirname "$PRISTINE")"
	rm -rf "$PRISTINE.tmp"
	mkdir -p "$PRISTINE.tmp"
	tar -C "$PRISTINE.tmp" -xf "$tarball" ||
		die "cannot extract $tarball"
	[ -d "$PRISTINE.tmp/linux-source-$KVER_WANT" ] ||
		die "$tarball holds no linux-source-$KVER_WANT/ directory"
	echo "$stamp" > "$PRISTINE.tmp/linux-source-$KVER_WANT/.tpf-extracted"
	rm -rf "$PRISTINE"
	mv "$PRISTINE.tmp/linux-source-$KVER_WANT" "$PRISTINE"
	rm -rf "$PRISTINE.tmp" "$CACHE/deb-7.3"
	# A new pristine tree: the work copy is made again from it.
	rm -f "$SRC/.tpf-copied" "$SRC_LAB/.tpf-copied"
}

# The overlaid tree: a work copy of the pristine tree, or the user's KSRC.
ensure_source() {
	mkdir -p "$CACHE"
	ensure_pristine
	if [ -z "${KSRC:-}" ] && [ ! -f "$SRC/.tpf-copied" ]; then
		step "copying the pristine tree to $SRC"
		rm -rf "$SRC.tmp" "$SRC_STATE"
		mkdir -p "$(dirname "$SRC")"
		cp -a "$PRISTINE" "$SRC.tmp"
		touch "$SRC.tmp/.tpf-copied"
		rm -rf "$SRC"
		mv "$SRC.tmp" "$SRC"
	fi
	step "laying the overlay on $SRC"
	"$REPO/tpf/overlay.sh" "$REPO" "$SRC" "$SRC_STATE"
}

# The lab tree: a copy of the pristine tree (with KSRC, of the user's tree
# with the overlay's originals put back), the overlay and tpf/lab on it.
ensure_lab_source() {
	local path

	ensure_source || return
	if [ ! -f "$SRC_LAB/.tpf-copied" ]; then
		step "copying the pristine tree to $SRC_LAB"
		rm -rf "$SRC_LAB.tmp" "$SRC_LAB_STATE"
		mkdir -p "$(dirname "$SRC_LAB")"
		if [ -z "${KSRC:-}" ]; then
			cp -a "$PRISTINE" "$SRC_LAB.tmp" || return
		else
			cp -a "$SRC" "$SRC_LAB.tmp" || return
			(cd "$SRC_STATE/orig" && find . -type f) | while read -r path; do
				cp -p "$SRC_STATE/orig/$path" "$SRC_LAB.tmp/$path"
			done
			while read -r path; do
				[ -z "$path" ] || rm -f "$SRC_LAB.tmp/$path"
			done < "$SRC_STATE/absent"
		fi
		touch "$SRC_LAB.tmp/.tpf-copied"
		rm -rf "$SRC_LAB"
		mv "$SRC_LAB.tmp" "$SRC_LAB"
	fi
	step "laying the overlay and $LAB_LAYER on $SRC_LAB"
	"$REPO/tpf/overlay.sh" "$REPO" "$SRC_LAB" "$SRC_LAB_STATE" "$LAB_LAYER"
}

# obj_config OUT SRC y|n [SCRIPTS_CONFIG_ARGS...]: defconfig for $ARCH
# (x86_64 or i386) plus the options under which the touched code is compiled
# in (DRM_VMWGFX selects MAPPING_DIRTY_HELPERS), and the filter on or off.
# On i386 the options that x86_64 alone offers (uffd-wp, soft-dirty, NUMA
# balancing) stay off.
obj_config() {
	local out=$1 src=$2 filter=$3 opt
	local REQUIRED="USERFAULTFD KSM TRANSPARENT_HUGEPAGE MAPPING_DIRTY_HELPERS"

	[ "${ARCH:-x86_64}" != x86_64 ] ||
		REQUIRED="$REQUIRED PTE_MARKER_UFFD_WP MEM_SOFT_DIRTY NUMA_BALANCING"

	mkdir -p "$out"
	make -s -C "$src" O="$out" ARCH="${ARCH:-x86_64}" defconfig
	"$src/scripts/config" --file "$out/.config" \
		-e SMP -e USERFAULTFD -e PTE_MARKER_UFFD_WP -e CHECKPOINT_RESTORE -e MEM_SOFT_DIRTY \
		-e KSM -e TRANSPARENT_HUGEPAGE -e NUMA_BALANCING -e PER_VMA_LOCK \
		-e PROC_FS -e DEBUG_KERNEL -e DEBUG_VM -e DRM -e DRM_VMWGFX \
		-d TLB_PENDING_FILTER_KUNIT_TEST "${@:4}"
	if [ "$filter" = y ]; then
		"$src/scripts/config" --file "$out/.config" -e TLB_PENDING_FILTER
	else
		"$src/scripts/config" --file "$out/.config" -d TLB_PENDING_FILTER
	fi
	make -s -C "$src" O="$out" ARCH="${ARCH:-x86_64}" olddefconfig
	for opt in $REQUIRED; do
		grep -q "^CONFIG_$opt=y" "$out/.config" ||
			die "$out/.config: CONFIG_$opt did not stick"
	done
	if [ "$filter" = y ]; then
		grep -q '^CONFIG_TLB_PENDING_FILTER=y' "$out/.config" ||
			die "$out/.config: CONFIG_TLB_PENDING_FILTER=y did not stick"
	elif grep -q '^CONFIG_TLB_PENDING_FILTER=y' "$out/.config"; then
		die "$out/.config still has CONFIG_TLB_PENDING_FILTER=y"
	fi
}
