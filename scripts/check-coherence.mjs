#!/usr/bin/env node
// npm run check:coherence -- --seconds N [--delta-ms D] [--readers R] [--writers W]
// Runs the randomized near-cache coherence checker (coherence-lib.mjs) and exits 1 on any
// violation.
import { checkCoherence } from './coherence-lib.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const result = await checkCoherence({
  seconds: arg('--seconds', 10),
  deltaMs: arg('--delta-ms', 100),
  readers: arg('--readers', 3),
  writers: arg('--writers', 2),
  seed: arg('--seed', Date.now() % 1e9),
});
console.log(`coherence: ${result.readsChecked} reads and ${result.writes} writes checked, ${result.totalViolations} violations, max observed staleness ${result.maxObservedStalenessMs} ms (δ = ${result.deltaMs} ms)`);
process.exit(result.totalViolations === 0 ? 0 : 1);
