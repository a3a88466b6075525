#!/usr/bin/env node
// npm run bench:embedded — NativeStore against lru-cache with the same byte budget.
// Each store runs in its own child process so RSS and GC figures are not mixed.
// First the headline: a request-like workload (scripts/bench-request.mjs) at 1M and 100k
// entries of 430 B JSON, in an event loop and in a plain loop, with time, RSS, JS heap and
// the GC pause distribution. Then the micro table: ns/op for get-hit, get-miss and set, RSS
// after loading, total wall time, and the ratio native/lru-cache (below 1.0 means NativeStore
// is faster or smaller). The micro table opens with the per-call floor at 1k keys (every
// key in cache): the empty call `noop(key)` (a string-key N-API call that reads its key and
// returns, the binding's benchmark probe), then has, get and getInto, beside lru-cache's
// has and get. Then invalidateTable. Last, hit ratios of NativeStore (SIEVE) against
// lru-cache (exact LRU) on Zipf traces, with and without scans (scripts/bench-hit-ratio.mjs).
//
// Flags (after `npm run bench:embedded --`):
//   --plot <file.svg>   draw the headline (scripts/bench-plot.mjs)
//   --json <file>       write the headline's summaries and GC pauses as JSON
//   --sizes 1m,100k     headline sizes
//   --requests N        requests per phase (default 30000)
//   --iters N           phases of each setup per process (default 2)
//   --procs N           processes per cache and size (default: 1 at 1M, 2 below)
//   --headline-only, --micro-only, --hit-ratio-only
//   --floor-only        only the 1k-key floor table (a few seconds)
//   --ops N             micro table operations per measurement (default 2M)
//   a | b               micro table datasets only (100k | 1M keys)
import { spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const VALUE_BYTES = 100;
const DATASETS = {
  a: { keys: 100_000, ops: 2_000_000 },
  b: { keys: 1_000_000, ops: 2_000_000 },
};

function makeKeys(n) {
  const keys = new Array(n);
  for (let i = 0; i < n; i++) keys[i] = `bench:items:${i}`;
  return keys;
}

function makeValue(i) {
  const v = Buffer.allocUnsafe(VALUE_BYTES);
  v.fill(i & 0xff);
  return v;
}

function openStore(kind, budget) {
  if (kind === 'native') {
    const { NativeStore } = require('../dist/cjs/index.js');
    const s = new NativeStore({ maxBytes: budget });
    return { get: (k) => s.get(k), set: (k, v) => s.set(k, v), mget: (ks) => s.mget(ks), store: s };
  }
  const { LRUCache } = require('lru-cache');
  const c = new LRUCache({ maxSize: budget, sizeCalculation: (v, k) => v.length + k.length });
  // lru-cache has no batch get: the peer's equivalent is a loop.
  return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), mget: (ks) => ks.map((k) => c.get(k)) };
}

/** `count` key indices below `n` from a seeded xorshift32, so every process sees the same sequence. */
function randomOrder(n, count) {
  const order = new Uint32Array(count);
  let x = 0x9e3779b9;
  for (let i = 0; i < count; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    order[i] = (x >>> 0) % n;
  }
  return order;
}

function child(kind, name, ops) {
  const { keys: n } = DATASETS[name];
  const t0 = process.hrtime.bigint();
  const budget = n * 512; // holds every entry in both stores
  const keys = makeKeys(n);
  const missKeys = makeKeys(n).map((k) => k.replace('items', 'absent'));
  // RSS of the harness alone (node + key arrays), so the store's own share can be shown.
  globalThis.gc();
  const baseRss = process.memoryUsage().rss;
  const store = openStore(kind, budget);
  const ns = (start, count) => Number(process.hrtime.bigint() - start) / count;

  let start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) store.set(keys[i], makeValue(i));
  const loadNs = ns(start, n);
  // Collect garbage first so RSS shows what each store retains, not what loading left behind.
  globalThis.gc();
  const rss = process.memoryUsage().rss;
  const storeRss = rss - baseRss;

  // Keys in a seeded random order, the same for both caches: a fixed stride would repeat one
  // cycle of keys, in which an exact LRU's relink of a hit's neighbour fetches the next key's
  // entry ahead of its get (see docs/benchmarks.md), which no real workload does.
  const order = randomOrder(n, ops);
  let sink = 0;
  for (let w = 0; w < 2; w++) {
    start = process.hrtime.bigint();
    for (let i = 0; i < ops; i++) sink += store.get(keys[order[i]]).length;
  }
  const hitNs = ns(start, ops);
  start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) if (store.get(missKeys[order[i]]) === undefined) sink++;
  const missNs = ns(start, ops);
  const value = makeValue(1);
  start = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) store.set(keys[order[i]], value);
  const setNs = ns(start, ops);
  const batches = ops / 100;
  const batch = new Array(100);
  start = process.hrtime.bigint();
  for (let b = 0, j = 0; b < batches; b++) {
    for (let i = 0; i < 100; i++, j++) batch[i] = keys[order[j]];
    sink += store.mget(batch).length;
  }
  const mgetNs = ns(start, batches);
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  process.stdout.write(JSON.stringify({ loadNs, hitNs, missNs, setNs, mgetNs, rss, storeRss, wallMs, sink }));
}

const FLOOR_KEYS = 1000;
/** What the floor table measures: per row, the NativeStore call and lru-cache's peer. */
const FLOOR_ROWS = [
  ['empty call noop(key)', 'noop', 'get'],
  ['has(key)', 'has', 'has'],
  ['get(key)', 'get', 'get'],
  ['getInto(key, buf, 0)', 'getInto', 'get'],
];

/**
 * One op of the floor table in a process of its own, so each loop's call site sees one
 * function (sharing a loop between ops makes it polymorphic and slows the later ones).
 * The best of three rounds, to keep out time the process spent descheduled.
 */
function floorChild(kind, op, ops) {
  const keys = makeKeys(FLOOR_KEYS);
  const value = makeValue(1);
  let call;
  if (kind === 'native') {
    const { NativeStore } = require('../dist/cjs/index.js');
    const { loadBinding } = require('../dist/cjs/loader.js');
    const s = new NativeStore({ maxBytes: 1 << 26 });
    for (const k of keys) s.set(k, value);
    // The probe: the raw binding's noop, called as NativeStore calls its functions.
    const raw = { ...loadBinding().createStore({ maxBytes: 1 << 20 }, () => {}) };
    const target = Buffer.allocUnsafe(VALUE_BYTES);
    call = {
      noop: (k) => raw.noop(k),
      has: (k) => s.has(k),
      get: (k) => s.get(k),
      getInto: (k) => s.getInto(k, target, 0),
    }[op];
  } else {
    const { LRUCache } = require('lru-cache');
    const c = new LRUCache({ maxSize: 1 << 26, sizeCalculation: (v, k) => v.length + k.length });
    for (const k of keys) c.set(k, value);
    call = { has: (k) => c.has(k), get: (k) => c.get(k) }[op];
  }
  const stride = 7; // coprime with FLOOR_KEYS
  let sink = 0;
  let best = Infinity;
  for (let round = 0; round < 4; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0, j = 0; i < ops; i++, j = (j + stride) % FLOOR_KEYS) if (call(keys[j]) !== undefined) sink++;
    const ns = Number(process.hrtime.bigint() - start) / ops;
    if (round > 0) best = Math.min(best, ns); // round 0 warms up
  }
  process.stdout.write(JSON.stringify({ ns: best, sink }));
}

function runFloor(kind, op, ops) {
  const r = spawnSync(process.execPath, [self, '--floor', kind, op, String(ops)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`floor ${kind}/${op} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout).ns;
}

/** The per-call floor at 1k keys: what any call costs, then has, get and getInto, beside lru-cache. */
function floor(ops) {
  const opsFloor = Math.min(ops, 2_000_000);
  console.log(`Per-call floor, ${FLOOR_KEYS / 1000}k keys (all hits), ${VALUE_BYTES} B values, ns/op, best of 3 rounds of ${opsFloor / 1e6}M calls; ratio to lru-cache's peer`);
  const widths = [28, 14, 14, 8];
  const line = (cols) => cols.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' ');
  console.log(line(['', 'NativeStore', 'lru-cache', 'ratio']));
  const peers = {};
  for (const [label, op, peerOp] of FLOOR_ROWS) {
    const native = runFloor('native', op, opsFloor);
    peers[peerOp] ??= runFloor('lru', peerOp, opsFloor);
    const peer = peers[peerOp];
    console.log(line([`  ${label}`, native.toFixed(1), `${peer.toFixed(1)} ${peerOp}`, (native / peer).toFixed(2)]));
  }
  console.log('');
}

function run(kind, name, ops) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', self, '--child', kind, name, String(ops)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${kind}/${name} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

function lruVersion() {
  const entry = require.resolve('lru-cache');
  const pkg = entry.slice(0, entry.lastIndexOf('node_modules/lru-cache') + 'node_modules/lru-cache'.length) + '/package.json';
  return JSON.parse(readFileSync(pkg, 'utf8')).version;
}

function main(argv, ops) {
  const only = argv.filter((a) => DATASETS[a]);
  const names = only.length ? only : Object.keys(DATASETS);
  console.log(`peer: lru-cache ${lruVersion()} (maxSize + sizeCalculation, same budget), node ${process.version}`);
  console.log(`values: ${VALUE_BYTES} B Buffers; each store in its own process; ${ops / 1e6}M operations per measurement\n`);
  const rows = [];
  const fmt = (x, d = 1) => x.toFixed(d);
  for (const name of names) {
    const native = run('native', name, ops);
    const lru = run('lru', name, ops);
    const { keys } = DATASETS[name];
    rows.push([`${name}) ${keys / 1000}k keys`, '', '', '']);
    for (const [label, field, digits] of [
      ['get hit ns/op', 'hitNs', 1],
      ['get miss ns/op', 'missNs', 1],
      ['set (overwrite) ns/op', 'setNs', 1],
      ['set (load) ns/op', 'loadNs', 1],
      ['mget of 100 keys ns/call', 'mgetNs', 0],
      ['RSS after load MiB', 'rss', 1],
      ['  of which the store MiB', 'storeRss', 1],
      ['total wall ms', 'wallMs', 0],
    ]) {
      const scale = field === 'rss' || field === 'storeRss' ? 1 / 1048576 : 1;
      rows.push([`  ${label}`, fmt(native[field] * scale, digits), fmt(lru[field] * scale, digits), fmt(native[field] / lru[field], 2)]);
    }
  }
  const widths = [28, 14, 14, 8];
  const line = (cols) => cols.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' ');
  console.log(line(['', 'NativeStore', 'lru-cache', 'ratio']));
  for (const r of rows) console.log(line(r));
}

/** invalidateTable of a 100k-entry table, in a store of 100k and in a store of 1M entries. */
function scopeChild(kind, total) {
  const table = 100_000;
  const value = makeValue(1);
  if (kind === 'native') {
    const { NativeStore } = require('../dist/cjs/index.js');
    const s = new NativeStore({ maxBytes: total * 512 });
    for (let i = 0; i < table; i++) s.set(`bench:target:${i}`, value);
    for (let i = 0; i < total - table; i++) s.set(`bench:other:${i}`, value);
    const start = process.hrtime.bigint();
    const { removed } = s.invalidateTable('bench', 'target');
    process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - start) / 1e6, removed }));
  } else {
    // lru-cache's equivalent: walk every key and delete the table's.
    const { LRUCache } = require('lru-cache');
    const c = new LRUCache({ max: total + 1 });
    for (let i = 0; i < table; i++) c.set(`bench:target:${i}`, value);
    for (let i = 0; i < total - table; i++) c.set(`bench:other:${i}`, value);
    const start = process.hrtime.bigint();
    let removed = 0;
    for (const k of [...c.keys()]) if (k.startsWith('bench:target:')) removed += c.delete(k);
    process.stdout.write(JSON.stringify({ ms: Number(process.hrtime.bigint() - start) / 1e6, removed }));
  }
}

function runScope(kind, total) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--max-old-space-size=8192', self, '--scope', kind, String(total)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`scope ${kind}/${total} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

function scopes() {
  console.log('\ninvalidateTable of a 100k-entry table (lru-cache: walk all keys, delete the table\'s)');
  console.log(`${''.padEnd(28)} ${'NativeStore'.padStart(14)} ${'lru-cache'.padStart(14)} ${'ratio'.padStart(8)}`);
  for (const total of [100_000, 1_000_000]) {
    const a = runScope('native', total);
    const b = runScope('lru', total);
    console.log(`${`  in a store of ${total / 1000}k, ms`.padEnd(28)} ${a.ms.toFixed(1).padStart(14)} ${b.ms.toFixed(1).padStart(14)} ${(a.ms / b.ms).toFixed(2).padStart(8)}`);
  }
}

function parseArgs(argv) {
  const opts = { plot: null, json: null, sizes: [1_000_000, 100_000], requests: 30_000, iters: 2, procs: null, headline: true, micro: true, hitRatio: true, floorOnly: false, ops: 2_000_000, rest: [] };
  const count = (v) => { const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(v ?? ''); if (!m) throw new Error(`not a count: ${v}`); return Math.round(Number(m[1]) * { '': 1, k: 1e3, m: 1e6 }[m[2].toLowerCase()]); };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--plot') opts.plot = argv[++i];
    else if (a === '--json') opts.json = argv[++i];
    else if (a === '--sizes') opts.sizes = argv[++i].split(',').map(count);
    else if (a === '--requests') opts.requests = count(argv[++i]);
    else if (a === '--iters') opts.iters = count(argv[++i]);
    else if (a === '--procs') opts.procs = count(argv[++i]);
    else if (a === '--headline-only') Object.assign(opts, { micro: false, hitRatio: false });
    else if (a === '--micro-only') Object.assign(opts, { headline: false, hitRatio: false });
    else if (a === '--floor-only') Object.assign(opts, { headline: false, hitRatio: false, floorOnly: true });
    else if (a === '--hit-ratio-only') Object.assign(opts, { headline: false, micro: false });
    else if (a === '--ops') opts.ops = count(argv[++i]);
    else if (DATASETS[a]) opts.rest.push(a);
    else throw new Error(`unknown argument: ${a}`);
  }
  if ((opts.plot || opts.json) && !opts.headline) throw new Error('--plot and --json are about the headline: drop --micro-only, --floor-only or --hit-ratio-only');
  return opts;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');

async function top(argv) {
  const opts = parseArgs(argv);
  const t0 = Date.now();
  const machine = `${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}`;
  console.log(`${new Date().toISOString()}  ${machine}  load average at start: ${load()}`);
  if (opts.headline) {
    const { runHeadline, VALUE_BYTES } = await import('./bench-request.mjs');
    console.log(`\nRequest-like workload: each request does 5 random gets, JSON.parses one value and overwrites one entry`);
    console.log(`with it re-serialised (${VALUE_BYTES} B JSON values). lru-cache ${lruVersion()} with maxSize and sizeCalculation, the same budget;`);
    console.log('each cache in its own process; the setups alternate within a process and the caches alternate between processes.');
    const results = runHeadline({
      sizes: opts.sizes,
      requestsFor: () => opts.requests,
      procs: (n) => opts.procs ?? (n >= 1_000_000 ? 1 : 2),
      iters: opts.iters,
    });
    if (opts.json) {
      mkdirSync(dirname(resolve(opts.json)), { recursive: true });
      writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), machine, load: loadavg(), results }));
    }
    if (opts.plot) {
      const { writePlot } = await import('./bench-plot.mjs');
      const caption = `${new Date().toISOString().slice(0, 10)}, ${machine}, load average ${loadavg()[0].toFixed(1)} at the end`;
      mkdirSync(dirname(resolve(opts.plot)), { recursive: true });
      await writePlot(opts.plot, results, caption);
      console.log(`\nchart written to ${opts.plot}`);
    }
  }
  if (opts.micro) {
    console.log('\nMicro-operations\n');
    floor(opts.ops);
    if (!opts.floorOnly) {
      main(opts.rest, opts.ops);
      scopes();
    }
  }
  if (opts.hitRatio) {
    const { hitRatios } = await import('./bench-hit-ratio.mjs');
    hitRatios();
  }
  console.log(`\n${new Date().toISOString()}  load average at end: ${load()}  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
}

if (process.argv[2] === '--child') child(process.argv[3], process.argv[4], Number(process.argv[5]));
else if (process.argv[2] === '--floor') floorChild(process.argv[3], process.argv[4], Number(process.argv[5]));
else if (process.argv[2] === '--scope') scopeChild(process.argv[3], Number(process.argv[4]));
else {
  top(process.argv.slice(2)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
