#!/usr/bin/env node
// npm run check:coherence -- --seconds N [--delta-ms D] [--readers R] [--writers W]
//   [--hosts H --bridge redis|nats [--ignore-gaps] [--l2 [--l2-no-discard]]]
// Runs the randomized near-cache coherence checker (coherence-lib.mjs), or with --hosts the
// multi-host one over a bridge (coherence-hosts.mjs), and exits 1 on any violation.
// --ignore-gaps is the mutation run: receivers that never flush must show violations.
// --l2 shares a second tier between the hosts; --l2-no-discard, its mutation (fills that ignore
// the fill rule), must show violations.
import { checkCoherence } from './coherence-lib.mjs';
import { checkMultiHostCoherence } from './coherence-hosts.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const text = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const hosts = arg('--hosts', 1);
const result = hosts > 1 ? await checkMultiHostCoherence({
  seconds: arg('--seconds', 10),
  hosts,
  bridge: text('--bridge', 'redis'),
  ignoreGaps: process.argv.includes('--ignore-gaps'),
  l2: process.argv.includes('--l2') || process.argv.includes('--l2-no-discard'),
  l2NoDiscard: process.argv.includes('--l2-no-discard'),
  readers: arg('--readers', 3),
  writers: arg('--writers', 2),
  seed: arg('--seed', Date.now() % 1e9),
}) : await checkCoherence({
  seconds: arg('--seconds', 10),
  deltaMs: arg('--delta-ms', 100),
  readers: arg('--readers', 3),
  writers: arg('--writers', 2),
  seed: arg('--seed', Date.now() % 1e9),
});
console.log(`coherence: ${result.readsChecked} reads and ${result.writes} writes checked, ${result.totalViolations} violations, max observed staleness ${result.maxObservedStalenessMs} ms (δ = ${result.deltaMs} ms)`);
process.exit(result.totalViolations === 0 ? 0 : 1);
