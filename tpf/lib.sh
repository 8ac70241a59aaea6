# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers of the Makefile.kunit scripts: the cache layout, package
# checks, the kernel source and the overlay.  Sourced, not run.

: "${REPO:?REPO must be set}"
CACHE=${CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tlb-pending-filter}
KVER_WANT=6.12
SRC_TARBALL=${SRC_TARBALL:-/usr/src/linux-source-$KVER_WANT.tar.xz}
PRISTINE=$CACHE/pristine/linux-source-$KVER_WANT
JOBS=${JOBS:-$(nproc)}

if [ -n "${KSRC:-}" ]; then
	# The user's tree: overlaid in place, its originals kept in our cache.
	KSRC_ABS=$(cd "$KSRC" 2>/dev/null && pwd) || {
		echo "error: KSRC=$KSRC: no such directory" >&2
		exit 1
	}
	SRC=$KSRC_ABS
	SRC_STATE=$CACHE/ksrc/$(echo "$KSRC_ABS" | md5sum | cut -c1-12)
	BUILD=$SRC_STATE/build
else
	SRC=$CACHE/work/linux
	SRC_STATE=$CACHE/work/overlay-state
	BUILD=$CACHE/build
fi

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

# The pristine tree, extracted once from Debian's linux-source package.
ensure_pristine() {
	[ -n "${KSRC:-}" ] && return 0
	if [ -f "$PRISTINE/.tpf-extracted" ]; then
		return 0
	fi
	need_packages "$SRC_TARBALL linux-source-$KVER_WANT"
	step "extracting $SRC_TARBALL into $CACHE/pristine"
	rm -rf "$CACHE/pristine.tmp"
	mkdir -p "$CACHE/pristine.tmp"
	tar -C "$CACHE/pristine.tmp" -xf "$SRC_TARBALL" ||
		die "cannot extract $SRC_TARBALL"
	[ -d "$CACHE/pristine.tmp/linux-source-$KVER_WANT" ] ||
		die "$SRC_TARBALL holds no linux-source-$KVER_WANT/ directory"
	touch "$CACHE/pristine.tmp/linux-source-$KVER_WANT/.tpf-extracted"
	rm -rf "$CACHE/pristine"
	mv "$CACHE/pristine.tmp" "$CACHE/pristine"
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
		mv "$SRC.tmp" "$SRC"
	fi
	step "laying the overlay on $SRC"
	"$REPO/tpf/overlay.sh" "$REPO" "$SRC" "$SRC_STATE"
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
