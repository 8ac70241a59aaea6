#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# In the benchmark's NUMA guest: run one real program, unmodified, from
# Debian's archive (tpf/real-stage.sh put it in the guest), with
# "tpf-bench push" moving its pages to node 1 every PUSH_S seconds so that
# NUMA balancing migrates them back on hinting faults (the guest's vCPUs
# are all on node 0), and print its own figure as a JSON line for
# bench-report.py.  perf-run real PROGRAM counts around it.
#
#   real-run redis  redis-server as Debian ships it (jemalloc, whose
#                   background thread purges freed pages with madvise;
#                   and its lazy-free and other background threads; here
#                   on a Unix socket, without persistence), driven by
#                   redis-benchmark (16 clients): SET, GET,
#                   LPUSH and LPOP of 1 KiB values over REDIS_N keys,
#                   REDIS_N requests each, twice, with a FLUSHALL ASYNC
#                   (freed by the server's lazy-free thread) after each
#                   pass.  Figure: requests per second, the mean of the
#                   tests.
#   real-run node   Node.js running churn.js (NODE_ROUNDS batches of
#                   objects, four kept): V8 frees and gives back pages on
#                   its worker threads while the main thread allocates.
#                   Figure: batches per second.
#
# Under TCG these figures are not a machine's: they only show that the
# program ran its course in every mode.
export PATH=/usr/bin:/bin
PUSH_S=2
REDIS_N=${REDIS_N:-2000}
SOCK=/tmp/redis.sock
NODE_ROUNDS=${NODE_ROUNDS:-150}
prog=$1

now() {
	cut -d' ' -f1 /proc/uptime
}

# The migrations and NUMA hinting of the run: the vmstat counters' deltas,
# as JSON members.
COUNTERS="pgmigrate_success numa_pages_migrated numa_hint_faults numa_pte_updates"
counters() {
	for c in $COUNTERS; do
		grep "^$c " /proc/vmstat
	done
}
counters > /tmp/real.vm0

case $prog in
redis)
	redis-server --port 0 --unixsocket $SOCK --save '' --appendonly no \
		--daemonize no > /tmp/redis.log 2>&1 &
	pid=$!
	i=0
	until redis-cli -s $SOCK ping > /dev/null 2>&1; do
		i=$((i + 1))
		if [ $i -gt 150 ]; then
			echo "real-run: redis-server does not answer"
			cat /tmp/redis.log
			exit 1
		fi
		sleep 0.2
	done
	/tests/tpf-bench push $pid $PUSH_S > /tmp/push.out &
	push=$!
	start=$(now)
	rc=0
	: > /tmp/rb.csv
	for pass in 1 2; do
		redis-benchmark -s $SOCK --csv -c 16 -n $REDIS_N -d 1024 \
			-r $REDIS_N -t set,get,lpush,lpop >> /tmp/rb.csv || rc=1
		redis-cli -s $SOCK flushall async > /dev/null || rc=1
		echo "real-run: redis pass $pass done at $(now) s"
	done
	end=$(now)
	redis-cli -s $SOCK shutdown nosave > /dev/null 2>&1
	wait $pid
	# "SET","6764.53",...: the tests' requests per second.
	figure=$(awk -F, '$1 ~ /^"[A-Z]/ { gsub(/"/, "", $2); s += $2; n++ }
		END { if (n) printf "%.1f", s / n }' /tmp/rb.csv)
	unit=requests/s
	;;
node)
	start=$(now)
	node /tests/churn.js $NODE_ROUNDS > /tmp/node.out 2>/tmp/node.err &
	pid=$!
	/tests/tpf-bench push $pid $PUSH_S > /tmp/push.out &
	push=$!
	wait $pid
	rc=$?
	end=$(now)
	figure=$(sed -n 's/.* per_second \([0-9.]*\)$/\1/p' /tmp/node.out)
	unit=batches/s
	[ $rc -eq 0 ] || cat /tmp/node.err
	;;
*)
	echo "usage: real-run redis|node" >&2
	exit 2
	;;
esac
wait $push
counters > /tmp/real.vm1
counts=$(paste -d' ' /tmp/real.vm0 /tmp/real.vm1 |
	awk '{ printf ", \"%s\": %d", $1, $4 - $2 }')
pushes=$(sed -n 's/^pushes \([0-9]*\) .*/\1/p' /tmp/push.out)
if [ -z "$figure" ] || [ -z "$pushes" ] || [ "$pushes" = 0 ]; then
	echo "real-run: $prog gave no figure ('$figure') or was never pushed ('$pushes')"
	exit 1
fi
echo "{\"shape\": \"real\", \"program\": \"$prog\", \"figure\": $figure, \"unit\": \"$unit\", \"seconds\": $(awk "BEGIN { print $end - $start }"), \"pushes\": $pushes$counts}"
exit $rc
