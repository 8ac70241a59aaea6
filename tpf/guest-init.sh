#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test guest.  Runs every line "name|command[|modes[|flag]]" of
# /tests.list in each mode of the TLB pending filter (tpf_modes= on the
# command line, default "0 1 2 3": pending, filter, moved and never; 4 is
# count; the values of enum tlb_pending_filter_mode, set through
# /sys/kernel/debug/tlb_pending_filter/mode), between TPF-BEGIN and TPF-END
# markers that tpf/guest-parse.py reads, then reboots (QEMU runs with
# -no-reboot, so it exits).  A line with a third field runs only in the
# modes it lists (comma-separated); one without runs in every mode but 3,
# the debug mode that never flushes before a copy.  A line whose fourth
# field is "retry" runs once more when it fails (not when it skips), after
# a TPF-RETRY marker: tpf/guest-parse.py judges the second run and lists
# the first.  One whose fourth field is "once" runs only the first time
# its mode comes in tpf_modes.

/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
# Selftests that need hugetlb pages get a few; the rest skip those cases.
echo 64 > /proc/sys/vm/nr_hugepages 2>/dev/null
# Swap on zram: MADV_PAGEOUT of anonymous memory, and the cow selftest's
# swap cases, need some.
if echo 256M > /sys/block/zram0/disksize 2>/dev/null &&
   mkswap /dev/zram0 > /dev/null 2>&1 && swapon /dev/zram0 2>/dev/null; then
	echo "TPF-SWAP zram0 $(grep zram0 /proc/swaps | awk '{print $3}') KiB"
else
	echo "TPF-SWAP none"
fi

modes=${TPF_MODES:-0 1 2 3}
mode_test=1
booted=1
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	tpf_modes=*) modes=$(echo "${arg#tpf_modes=}" | tr , ' ') ;;
	tpf_no_mode_test) mode_test= ;;
	tlb_pending_filter=off|tlb_pending_filter=0|tlb_pending_filter=n) booted=0 ;;
	esac
done

MODE_FILE=/sys/kernel/debug/tlb_pending_filter/mode
mode_name() {
	case $1 in
	0) echo pending ;; 1) echo filter ;; 2) echo moved ;; 3) echo never ;;
	4) echo count ;;
	*) return 1 ;;
	esac
}
# The current mode, "[filter]" in the file's "pending [filter] moved count".
mode_now() {
	sed -n 's/.*\[\([a-z]*\)\].*/\1/p' $MODE_FILE
}
# Put the kernel in mode $1 (0 to 4).  Without the debugfs modes (a
# production configuration) only the mode it was booted in is possible.
set_mode() {
	if [ -f $MODE_FILE ]; then
		echo "$(mode_name "$1")" > $MODE_FILE &&
			[ "$(mode_now)" = "$(mode_name "$1")" ]
	else
		[ "$1" = $booted ]
	fi
}

cs=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
echo "TPF-GUEST-UP cpus=$(grep -c ^processor /proc/cpuinfo) kernel=$(uname -r) clocksource=$cs"

# The debugfs switch itself: root-only, the names of the modes built in,
# nothing else changes it.
mode_check() {
	f=$MODE_FILE
	[ -f $f ] || { echo "no $f"; return 1; }
	ls -l $f | grep -q '^-rw-r--r--' || { echo "$f is not 0644"; return 1; }
	before=$(mode_now)
	[ -n "$before" ] || { echo "no current mode in '$(cat $f)'"; return 1; }
	for bad in 4 -1 1 on x filterx ""; do
		if echo "$bad" > $f 2>/dev/null; then
			echo "writing '$bad' to $f succeeded"
			return 1
		fi
		[ "$(mode_now)" = "$before" ] || { echo "'$bad' changed the mode"; return 1; }
	done
	for m in 0 1 2; do
		set_mode $m || { echo "cannot set $(mode_name $m): $(cat $f)"; return 1; }
	done
	echo "$before" > $f
	echo "mode file ok: $(cat $f)"
}
if [ -n "$mode_test" ]; then
	echo "TPF-BEGIN - mode-file"
	mode_check
	echo "TPF-END - mode-file rc=$?"
fi

cd /tests
seen=" "
for mode in $modes; do
	first=
	case "$seen" in
	*" $mode "*) ;;
	*) first=1; seen="$seen$mode " ;;
	esac
	# Modes other than 0 to 4 name runs on a kernel without the filter.
	case $mode in
	[0-4])
		if ! set_mode $mode; then
			echo "TPF-BEGIN $mode set-mode"
			echo "cannot put the filter in mode $mode ($(mode_name $mode))"
			echo "TPF-END $mode set-mode rc=1"
			continue
		fi
		;;
	esac
	while IFS='|' read -r name cmd only flags; do
		[ -n "$name" ] || continue
		case ",${only:-0,1,2,4,n,y}," in
		*,$mode,*) ;;
		*) continue ;;
		esac
		[ "$flags" = once ] && [ -z "$first" ] && continue
		tries=1
		[ "$flags" = retry ] && tries=2
		while :; do
			echo "TPF-BEGIN $mode $name"
			start=$(cut -d' ' -f1 /proc/uptime)
			timeout -s KILL ${TPF_TEST_TIMEOUT:-900} sh -c "$cmd" < /dev/null 2>&1
			rc=$?
			end=$(cut -d' ' -f1 /proc/uptime)
			echo "TPF-END $mode $name rc=$rc start=$start end=$end"
			tries=$((tries - 1))
			[ $rc -ne 0 ] && [ $rc -ne 4 ] && [ $tries -gt 0 ] || break
			echo "TPF-RETRY $mode $name rc=$rc"
		done
	done < /tests.list
done

# The clocksource may have changed since boot (an unstable TSC).
echo "TPF-DONE clocksource=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
sync
reboot -f
