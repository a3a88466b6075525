// The headline workload of `npm run bench:embedded`: a request-like mix against NativeStore
// and lru-cache with the same byte budget. Each request does 5 random gets, JSON.parses the
// first value, and overwrites one random entry with that object re-serialised (a request that
// reads a few cached records and updates one). Values are ~430 B of JSON; the keys are random
// with a seeded generator, so both caches see the same sequence.
//
// Two setups, each cache in its own child process so heaps and RSS never mix:
// - `loop`: requests back to back in a plain loop;
// - `event`: requests in batches of BATCH per setImmediate turn, as a server handles them.
// Measured over the request phase only (loading is not timed): wall time, RSS and JS heap
// used at its end (heap after a forced GC: what the process retains), and every GC pause
// from perf_hooks `gc` entries (count, total, max, p99).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
export const VALUE_BYTES = 430;
export const BATCH = 64;
const GC_KINDS = { 1: 'minor', 4: 'major', 8: 'incremental', 16: 'weakcb' };

export function makeKey(i) {
  return `app:user:${i}`;
}

/**
 * A 430-byte JSON record for entry i; the bio, its last field, pads every value to the same
 * size. The value is what JSON.stringify returns (in V8, a cons string of the serialiser's
 * parts), as in a service that caches JSON.stringify output; a hand-concatenated template
 * would be a deeper rope and cost lru-cache more heap.
 */
export function makeValue(i) {
  const rec = {
    id: i,
    type: 'user',
    name: `User ${String(i).padStart(7, '0')}`,
    email: `user${i}@example.com`,
    active: (i & 1) === 0,
    score: ((i * 7919) % 1000) / 10,
    tags: ['alpha', 'beta', `group-${i % 97}`],
    address: { street: `${i % 1000} Main Street`, city: 'Springfield', zip: String(10000 + (i % 90000)) },
    createdAt: '2026-01-01T00:00:00.000Z',
    visits: 0,
    bio: '',
  };
  // The length without the bio, computed instead of serialising twice.
  const bare = 229 + digits(i) * 2 + (rec.active ? 4 : 5) + String(rec.score).length + rec.tags[2].length +
    rec.address.street.length + rec.address.zip.length;
  rec.bio = PAD.slice(0, Math.max(0, VALUE_BYTES - bare));
  return JSON.stringify(rec);
}
const PAD = 'x'.repeat(VALUE_BYTES);
const digits = (i) => String(i).length;

function openCache(kind, budget) {
  if (kind === 'native') {
    const { NativeStore } = require('../dist/cjs/index.js');
    const s = new NativeStore({ maxBytes: budget });
    return { get: (k) => s.get(k), set: (k, v) => s.set(k, v), text: (v) => v.toString('utf8'), size: () => s.stats().itemsCurrent };
  }
  const { LRUCache } = require('lru-cache');
  const c = new LRUCache({ maxSize: budget, sizeCalculation: (v, k) => v.length + k.length });
  return { get: (k) => c.get(k), set: (k, v) => c.set(k, v), text: (v) => v, size: () => c.size };
}

/**
 * Child process: load n entries once, then run `iters` rounds of both setups (`requests`
 * requests each, the setups' order alternating per round) and print one JSON line.
 */
export async function requestChild(kind, n, requests, iters, seed) {
  const budget = n * 640; // every entry fits in both caches: the workload measures hits
  // Keys are built per call, as a request would, so the harness holds no key array on the heap.
  let t = process.hrtime.bigint();
  const cache = openCache(kind, budget);
  for (let i = 0; i < n; i++) cache.set(makeKey(i), makeValue(i));
  const loadMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (cache.size() !== n) throw new Error(`${kind}: ${cache.size()} of ${n} entries after loading`);

  let x = seed >>> 0 || 1; // xorshift32: the same key sequence in both children
  const rnd = () => {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    return x % n;
  };
  let sink = 0;
  let misses = 0;
  const request = () => {
    let first;
    for (let g = 0; g < 5; g++) {
      const v = cache.get(makeKey(rnd()));
      if (v === undefined) { misses++; continue; }
      if (first === undefined) first = v;
      sink += v.length;
    }
    const rec = JSON.parse(cache.text(first));
    rec.visits++;
    cache.set(makeKey(rnd()), JSON.stringify(rec));
  };
  const runLoop = () => { for (let r = 0; r < requests; r++) request(); };
  const runEvent = () => new Promise((resolve) => {
    let done = 0;
    const turn = () => {
      const end = Math.min(requests, done + BATCH);
      for (; done < end; done++) request();
      if (done < requests) setImmediate(turn);
      else resolve();
    };
    setImmediate(turn);
  });

  const phases = [];
  for (let it = 0; it < iters; it++) {
    const order = it % 2 === 0 ? ['loop', 'event'] : ['event', 'loop'];
    for (const setup of order) {
      globalThis.gc(); // every phase starts from the same retained heap, outside the observer
      const pauses = [];
      const kinds = {};
      const obs = new PerformanceObserver((list) => {
        for (const e of list.getEntries()) {
          pauses.push(e.duration);
          const k = GC_KINDS[e.detail?.kind ?? e.kind] ?? 'other';
          kinds[k] = (kinds[k] ?? 0) + 1;
        }
      });
      obs.observe({ entryTypes: ['gc'] });
      t = process.hrtime.bigint();
      if (setup === 'loop') runLoop();
      else await runEvent();
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      const mem = process.memoryUsage();
      // gc entries are delivered asynchronously: let them arrive before stopping the observer.
      await new Promise((r) => setTimeout(r, 20));
      for (const e of obs.takeRecords()) pauses.push(e.duration);
      obs.disconnect();
      globalThis.gc();
      const heapAfterGc = process.memoryUsage().heapUsed;
      phases.push({ setup, ms, rss: mem.rss, heapUsed: mem.heapUsed, heapAfterGc, pauses, kinds });
    }
  }
  const peakRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ kind, n, requests, loadMs, peakRss, phases, misses, sink }));
}

function runChild(kind, n, requests, iters, seed) {
  const args = ['--expose-gc', '--max-old-space-size=8192', self, '--req-child', kind, String(n), String(requests), String(iters), String(seed)];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`request workload ${kind}/${n} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout);
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const quantile = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : 0);

/** Pools the phases of one cache in one configuration (all its processes and iterations). */
function summarise(children, setup) {
  const phases = children.flatMap((c) => c.phases.filter((p) => p.setup === setup));
  const pauses = phases.flatMap((p) => p.pauses).sort((a, b) => a - b);
  const total = pauses.reduce((a, b) => a + b, 0);
  const ms = median(phases.map((p) => p.ms));
  return {
    phases: phases.length,
    ms,
    msMin: Math.min(...phases.map((p) => p.ms)),
    msMax: Math.max(...phases.map((p) => p.ms)),
    usPerReq: (ms * 1000) / children[0].requests,
    loadMs: median(children.map((c) => c.loadMs)),
    rss: median(phases.map((p) => p.rss)),
    peakRss: Math.max(...children.map((c) => c.peakRss)),
    heapUsed: median(phases.map((p) => p.heapUsed)),
    heapAfterGc: median(phases.map((p) => p.heapAfterGc)),
    gcCount: pauses.length / phases.length,
    gcTotal: total / phases.length,
    gcMax: pauses.length ? pauses[pauses.length - 1] : 0,
    gcP99: quantile(pauses, 0.99),
    gcP50: quantile(pauses, 0.5),
    misses: children.reduce((a, c) => a + c.misses, 0),
    pauses,
  };
}

const SETUP_TITLE = { loop: 'plain loop', event: `event loop, ${BATCH} requests per setImmediate turn` };

/**
 * For each size, starts `procs` child processes per cache, alternating which cache goes first;
 * each child runs `iters` phases of each setup. Prints one table per size and setup and
 * returns the summaries for the plot.
 */
export function runHeadline({ sizes, requestsFor, procs, iters }) {
  const mib = (b) => (b / 1048576).toFixed(0);
  const ratio = (a, b) => (b ? (a / b).toFixed(2) : '');
  const results = [];
  for (const n of sizes) {
    const requests = requestsFor(n);
    const children = { native: [], lru: [] };
    for (let p = 0; p < procs(n); p++) {
      const order = p % 2 === 0 ? ['native', 'lru'] : ['lru', 'native'];
      const seed = 0x9e3779b9 + p * 7919;
      for (const kind of order) children[kind].push(runChild(kind, n, requests, iters, seed));
    }
    for (const setup of ['event', 'loop']) {
      const native = summarise(children.native, setup);
      const lru = summarise(children.lru, setup);
      results.push({ n, setup, requests, native, lru });
      const size = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
      console.log(`\n${size} entries × ${VALUE_BYTES} B JSON, ${SETUP_TITLE[setup]}: ${native.phases} phases of ${requests / 1000}k requests per cache (${procs(n)} processes each)`);
      const rows = [
        ['time ms (median phase)', native.ms.toFixed(0), lru.ms.toFixed(0), ratio(native.ms, lru.ms)],
        ['  range over phases', `${native.msMin.toFixed(0)}–${native.msMax.toFixed(0)}`, `${lru.msMin.toFixed(0)}–${lru.msMax.toFixed(0)}`, ''],
        ['  µs per request', native.usPerReq.toFixed(2), lru.usPerReq.toFixed(2), ratio(native.usPerReq, lru.usPerReq)],
        ['RSS at phase end MiB', mib(native.rss), mib(lru.rss), ratio(native.rss, lru.rss)],
        ['peak RSS of the process MiB', mib(native.peakRss), mib(lru.peakRss), ratio(native.peakRss, lru.peakRss)],
        ['JS heap used at phase end MiB', mib(native.heapUsed), mib(lru.heapUsed), ratio(native.heapUsed, lru.heapUsed)],
        ['JS heap used after GC MiB', mib(native.heapAfterGc), mib(lru.heapAfterGc), ratio(native.heapAfterGc, lru.heapAfterGc)],
        ['GC pauses per phase', native.gcCount.toFixed(1), lru.gcCount.toFixed(1), ratio(native.gcCount, lru.gcCount)],
        ['GC total ms per phase', native.gcTotal.toFixed(1), lru.gcTotal.toFixed(1), ratio(native.gcTotal, lru.gcTotal)],
        ['GC p50 pause ms', native.gcP50.toFixed(2), lru.gcP50.toFixed(2), ratio(native.gcP50, lru.gcP50)],
        ['GC p99 pause ms', native.gcP99.toFixed(2), lru.gcP99.toFixed(2), ratio(native.gcP99, lru.gcP99)],
        ['GC max pause ms', native.gcMax.toFixed(2), lru.gcMax.toFixed(2), ratio(native.gcMax, lru.gcMax)],
      ];
      console.log(line(['', 'NativeStore', 'lru-cache', 'ratio']));
      for (const r of rows) console.log(line([`  ${r[0]}`, r[1], r[2], r[3]]));
      if (native.misses || lru.misses) console.log(`  misses: NativeStore ${native.misses}, lru-cache ${lru.misses} (expected 0)`);
    }
    const c = (k) => median(children[k].map((x) => x.loadMs)).toFixed(0);
    console.log(`  (loading, not timed above: NativeStore ${c('native')} ms, lru-cache ${c('lru')} ms, median per process)`);
  }
  return results;
}

function line(cols) {
  const widths = [32, 14, 14, 8];
  return cols.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' ');
}

if (process.argv[2] === '--req-child') {
  const [kind, n, requests, iters, seed] = process.argv.slice(3);
  requestChild(kind, Number(n), Number(requests), Number(iters), Number(seed)).catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
