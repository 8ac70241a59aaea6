// SPDX-License-Identifier: GPL-2.0
//
// The Node.js workload of the benchmark's real programs (real-run.sh):
// node churn.js ROUNDS builds ROUNDS batches of 20000 small objects and
// strings, keeps the last four and drops the rest, so that V8's collector
// (its scavenges and its concurrent marking on worker threads) frees and
// gives back pages while the main thread allocates.  Prints the rounds
// per second.
'use strict';

const rounds = Number(process.argv[2] || 100);
const keep = [];
const t0 = process.hrtime.bigint();
for (let r = 0; r < rounds; r++) {
	const batch = [];
	for (let i = 0; i < 20000; i++)
		batch.push({ k: i, v: 'x'.repeat(i % 200) + r });
	keep.push(batch);
	if (keep.length > 4)
		keep.shift();
}
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(`rounds ${rounds} seconds ${secs.toFixed(3)} per_second ${(rounds / secs).toFixed(3)}`);
