// The hit-ratio section of `npm run bench:embedded` (alone: `--hit-ratio-only`): NativeStore,
// whose shards evict by SIEVE, against lru-cache 11, which is exact LRU, on the same traces.
//
// Every cache holds the same number of entries: NativeStore's capacity is measured at its byte
// budget with fixed-size entries (keys of one length, 100 B values: every entry is charged
// the same), and lru-cache gets `max` = that count. Each request is a get, and on a miss a
// set of the key (a read-through cache). Traces come from a seeded generator, so every run
// and every cache sees the same requests:
// - Zipf 0.8 and Zipf 1.0 over a key space 10 times the capacity;
// - Zipf 0.8 with scans: every SCAN_EVERY requests, a sequential scan of SCAN_KEYS keys
//   never requested before or after (one-time keys, as a batch job or a crawler sends).
// The first WARMUP requests fill the caches and are not counted. NativeStore runs with its
// default shard count (each shard its own SIEVE queue under one global budget) and with one
// shard (exact SIEVE over the whole store).
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const VALUE_BYTES = 100;
const BUDGET = 4 * 1024 * 1024;
const REQUESTS = 2_000_000;
const WARMUP = 200_000;
const SCAN_EVERY = 100_000;
const SCAN_KEYS = 10_000;

/** Keys of one length, in one table, so every entry is charged the same. */
const keyOf = (i) => `hr:k:${String(i).padStart(9, '0')}`;

/** mulberry32: a small seeded 32-bit generator, so traces repeat exactly. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `n` requests over keys 0..space-1 with Zipf(`s`) popularity, the ranks shuffled over the
 * key ids; with `scans`, a scan of SCAN_KEYS new key ids (from `space` up) every SCAN_EVERY.
 */
function zipfTrace(space, s, seed, scans) {
  const cdf = new Float64Array(space);
  let sum = 0;
  for (let r = 0; r < space; r++) cdf[r] = sum += 1 / (r + 1) ** s;
  for (let r = 0; r < space; r++) cdf[r] /= sum;
  const random = rng(seed);
  const idOfRank = new Uint32Array(space);
  for (let i = 0; i < space; i++) idOfRank[i] = i;
  for (let i = space - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [idOfRank[i], idOfRank[j]] = [idOfRank[j], idOfRank[i]];
  }
  const trace = new Uint32Array(REQUESTS);
  let nextOneTime = space;
  for (let i = 0; i < REQUESTS; ) {
    if (scans && i > 0 && i % SCAN_EVERY === 0) {
      for (let k = 0; k < SCAN_KEYS && i < REQUESTS; k++) trace[i++] = nextOneTime++;
      if (i >= REQUESTS) break;
    }
    const u = random();
    let lo = 0;
    let hi = space - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < u) lo = mid + 1;
      else hi = mid;
    }
    trace[i++] = idOfRank[lo];
  }
  return trace;
}

function nativeCache(shards) {
  const { NativeStore } = require('../dist/cjs/index.js');
  const store = new NativeStore({ maxBytes: BUDGET, sweepIntervalMs: 0, ...(shards ? { shards } : {}) });
  return { get: (k) => store.get(k), set: (k, v) => store.set(k, v), close: () => store.close(), store };
}

/** How many fixed-size entries NativeStore holds at BUDGET: fill well past it and count. */
function measureCapacity() {
  const c = nativeCache();
  const value = Buffer.alloc(VALUE_BYTES);
  const fill = Math.ceil(BUDGET / VALUE_BYTES) * 2;
  for (let i = 0; i < fill; i++) c.set(keyOf(i), value);
  const { itemsCurrent, evictions, shards } = c.store.stats();
  c.close();
  if (evictions === 0) throw new Error('the capacity fill did not reach the budget');
  return { capacity: itemsCurrent, shards };
}

function hitRatio(cache, trace) {
  const value = Buffer.alloc(VALUE_BYTES);
  let hits = 0;
  for (let i = 0; i < trace.length; i++) {
    const key = keyOf(trace[i]);
    if (cache.get(key) !== undefined) {
      if (i >= WARMUP) hits++;
    } else {
      cache.set(key, value);
    }
  }
  cache.close?.();
  return hits / (trace.length - WARMUP);
}

export function hitRatios() {
  const { LRUCache } = require('lru-cache');
  const { capacity, shards } = measureCapacity();
  const space = capacity * 10;
  console.log(`\nHit ratio: SIEVE (NativeStore) against exact LRU (lru-cache, max = NativeStore's capacity)`);
  console.log(`${capacity} entries held (${BUDGET / 2 ** 20} MiB budget, ${keyOf(0).length} B keys, ${VALUE_BYTES} B values), key space ${space},`);
  console.log(`${REQUESTS / 1e6}M requests per trace (get, set on a miss), the first ${WARMUP / 1000}k not counted; seeded traces.`);
  const cols = ['trace', `SIEVE ${shards} shards`, 'SIEVE 1 shard', 'exact LRU', 'SIEVE - LRU'];
  const line = (cells) => cells.map((c, i) => (i === 0 ? String(c).padEnd(30) : String(c).padStart(16))).join('');
  console.log(line(cols));
  const traces = [
    ['Zipf 0.8', 0.8, 1, false],
    ['Zipf 1.0', 1.0, 2, false],
    [`Zipf 0.8 + scans`, 0.8, 3, true],
  ];
  const pct = (x) => `${(x * 100).toFixed(3)}%`;
  const results = [];
  for (const [name, s, seed, scans] of traces) {
    const trace = zipfTrace(space, s, seed, scans);
    const sharded = hitRatio(nativeCache(), trace);
    const single = hitRatio(nativeCache(1), trace);
    const lru = hitRatio(new LRUCache({ max: capacity }), trace);
    const diff = `${sharded >= lru ? '+' : ''}${((sharded - lru) * 100).toFixed(2)} pts`;
    console.log(line([name, pct(sharded), pct(single), pct(lru), diff]));
    results.push({ name, sharded, single, lru });
  }
  console.log(`(scans: every ${SCAN_EVERY / 1000}k requests, ${SCAN_KEYS / 1000}k keys requested once; the difference is SIEVE ${shards} shards minus LRU)`);
  return results;
}
