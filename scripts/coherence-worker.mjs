// One process of the coherence checker (see coherence-lib.mjs): a writer or a reader, both
// with near caches, talking to the daemon through an in-process proxy the coordinator can
// tell to drop the connection. Logs go back to the coordinator over IPC when told to stop.
import { createServer, connect } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';

const require = createRequire(import.meta.url);
const { LocalCachedClient } = require(join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cjs', 'index.js'));

const [role, indexText, socket, configText] = process.argv.slice(2);
const index = Number(indexText);
const config = JSON.parse(configText);
// Multi-host runs (coherence-hosts.mjs): the other hosts' daemons, where a writer also stores
// some of its writes (with their version), as a service on each host would after a load.
const replicaSockets = config.replicaSockets?.[role === 'writer' ? index : -1] ?? [];
const now = () => performance.timeOrigin + performance.now();
const keyName = (k) => `coh:t${k % config.tables}:k${k}`;

// A proxy in front of the daemon, so that "drop" breaks this client's connection for real.
const proxyPath = join(tmpdir(), `lc-coh-${process.pid}.sock`);
const pairs = new Set();
const proxy = createServer((downstream) => {
  const upstream = connect(socket);
  const pair = [downstream, upstream];
  pairs.add(pair);
  downstream.pipe(upstream);
  upstream.pipe(downstream);
  const end = () => {
    downstream.destroy();
    upstream.destroy();
    pairs.delete(pair);
  };
  for (const s of pair) s.on('error', end).on('close', end);
});
await new Promise((resolve) => proxy.listen(proxyPath, resolve));

const client = await LocalCachedClient.connect(proxyPath, {
  nearCache: { maxBytes: 8 * 1024 * 1024 },
  reconnect: { initialDelayMs: 5, maxDelayMs: 100 },
  timeoutMs: 3000,
});

const replicas = await Promise.all(replicaSockets.map((path) => LocalCachedClient.connect(path, { reconnect: { initialDelayMs: 5, maxDelayMs: 100 }, timeoutMs: 3000 })));

/** Stores the value on some other hosts too; failures (a stopped host, a newer version there) are expected. */
async function replicate(name, n) {
  for (const replica of replicas) {
    if (Math.random() >= (config.replicaShare ?? 0)) continue;
    try {
      await replica.put(name, String(n), { version: n });
    } catch {}
  }
}

let running = true;
let unblocking = null;
const log = { reads: [], events: [], scopes: [], violations: { readYourWrites: 0, monotonic: 0 }, readYourWritesSamples: [], errors: 0, ops: 0, errorSamples: [] };

/** A read-your-writes violation, with what the analysis needs to place it (times in ms, performance-clock). */
function readYourWritesViolation(key, op, wrote, back, tWrite, tAck, tRead, near) {
  log.violations.readYourWrites++;
  if (log.readYourWritesSamples.length < 8) log.readYourWritesSamples.push({ writer: index, key, op, wrote, read: Number(back.toString()), tWrite, tAck, tRead, tReadEnd: now(), near });
}
const lastSeen = new Map(); // key -> highest value this process has read (monotonic reads)
const counters = new Map(); // key -> last value written (writers)

function record(key, value, tStart, near) {
  if (value === null) return;
  const n = Number(value.toString());
  const prev = lastSeen.get(key) ?? -1;
  if (n < prev) log.violations.monotonic++;
  else lastSeen.set(key, n);
  log.reads.push(key, n, tStart, near ? 1 : 0, now());
}

async function read(key) {
  if (unblocking) {
    await unblocking;
    unblocking = null;
  }
  const tStart = now();
  const hits = client.nearCacheStats().hits;
  const value = await client.get(keyName(key));
  record(key, value, tStart, client.nearCacheStats().hits > hits);
  return value;
}

const ownKeys = [];
for (let k = 0; k < config.keys; k++) if (k % config.writers === index) ownKeys.push(k);

async function writeOne(rand) {
  const key = ownKeys[Math.floor(rand * ownKeys.length)];
  const name = keyName(key);
  const op = Math.random();
  const publish = Math.random() < 0.5;
  const current = counters.get(key) ?? 0;
  if (op < 0.6) {
    const n = current + 1;
    // Versioned in multi-host runs, so that a host's copy of n is not dropped by the news of n itself.
    const version = replicas.length > 0 ? { version: n } : {};
    const upsert = Math.random() >= 0.5;
    const tWrite = now();
    if (!upsert) await client.put(name, String(n), { publish, ...version });
    else await client.tableChangedUpsert('coh', `t${key % config.tables}`, `k${key}`, String(n), { publish, ...version });
    counters.set(key, n);
    const tAck = now();
    log.events.push(key, n, tAck, 1); // a write of n: values below n are stale from here on
    // Read your writes: the writer's own near cache must not answer an older value.
    const tStart = now();
    const hits = client.nearCacheStats().hits;
    const back = await client.get(name);
    const near = client.nearCacheStats().hits > hits;
    if (back !== null && Number(back.toString()) !== n) readYourWritesViolation(key, upsert ? 'upsert' : 'put', n, back, tWrite, tAck, tStart, near);
    record(key, back, tStart, near);
    await replicate(name, n);
  } else if (op < 0.8) {
    const del = Math.random() < 0.5;
    const tWrite = now();
    if (del) await client.del(name, { publish });
    else await client.invalidate(name, { publish });
    const tAck = now();
    log.events.push(key, current + 1, tAck, 0); // a removal: the current value is gone too
    const tStart = now();
    const hits = client.nearCacheStats().hits;
    const back = await client.get(name);
    if (back !== null && Number(back.toString()) <= current) readYourWritesViolation(key, del ? 'del' : 'invalidate', current, back, tWrite, tAck, tStart, client.nearCacheStats().hits > hits);
  } else {
    await read(key);
  }
}

/**
 * The L2 mutation's writer (config.writePairsMs): each of its keys in turn is written twice,
 * writePairsMs apart, then left alone until its next turn. The first write drops the key on the
 * other hosts, whose readers then miss and read it from L2 (replies held back there); the second
 * lands while such a read is in flight, and a fill that ignores the fill rule keeps the value it
 * replaced, unchallenged for a whole round of keys (2 × writePairsMs each): longer than δ.
 */
let pairTurn = 0;
async function writePair() {
  const key = ownKeys[pairTurn++ % ownKeys.length];
  for (let i = 0; i < 2; i++) {
    if (i === 1) await new Promise((r) => setTimeout(r, config.writePairsMs));
    const n = (counters.get(key) ?? 0) + 1;
    await client.put(keyName(key), String(n), { version: n });
    counters.set(key, n);
    log.events.push(key, n, now(), 1);
  }
  await new Promise((r) => setTimeout(r, config.writePairsMs)); // the readers settle on the stale fill
}

/** Until this time, scopedOne clears no more than a table: an eviction burst is filling the store. */
let holdClearsUntil = 0;

async function scopedOne() {
  const sendTime = now();
  // A clear while a burst fills the store would leave too few entries to evict for the
  // removal hand-off to overflow, and the burst's lagged notice would never come.
  const choice = Date.now() < holdClearsUntil ? Math.random() * 0.6 : Math.random();
  let scope;
  if (choice < 0.6) {
    const t = Math.floor(Math.random() * config.tables);
    await client.invalidateTable('coh', `t${t}`, { publish: Math.random() < 0.5 });
    scope = { kind: 'table', table: t };
  } else if (choice < 0.9) {
    const t = Math.floor(Math.random() * config.tables);
    await client.invalidatePrefix(`coh:t${t}:k1`, { publish: false });
    scope = { kind: 'prefix', table: t, prefix: `coh:t${t}:k1` };
  } else {
    await client.clear({ publish: false });
    scope = { kind: 'all' };
  }
  log.scopes.push({ ...scope, sendTime, ackTime: now() });
}

/** Evicts tens of thousands of entries in one write: the store's removal hand-off overflows → lagged. */
async function evictionBurst() {
  for (let i = 0; i < config.fillerKeys; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(i + 1000, config.fillerKeys); j++) batch.push([`cohfill:f:${j}`, 'x'.repeat(16)]);
    await client.mset(batch, { publish: false });
  }
  await client.put('cohfill:big:1', Buffer.alloc(config.bigValueBytes, 1), { publish: false });
  await client.del('cohfill:big:1', { publish: false });
}

process.on('message', async (message) => {
  if (message.cmd === 'stop') running = false;
  else if (message.cmd === 'holdClears') holdClearsUntil = Date.now() + message.ms;
  else if (message.cmd === 'drop') for (const [a, b] of pairs) (a.destroy(), b.destroy());
  else if (message.cmd === 'block') {
    const until = Date.now() + message.ms; // a blocked event loop (a long GC, a CPU-bound task)
    while (Date.now() < until);
    // The staleness bound holds for reads made while the event loop runs: reads resume once
    // it has had a turn to take in what arrived during the block.
    unblocking = new Promise((resolve) => setImmediate(() => setImmediate(resolve)));
  } else if (message.cmd === 'burst') {
    try {
      await evictionBurst();
    } catch (err) {
      log.errors++;
    }
  }
});

process.send({ ready: true });
let i = 0;
while (running) {
  try {
    if (role === 'writer') {
      if (config.writePairsMs) await writePair();
      else if (index === 0 && i % 200 === 199) await scopedOne();
      else await writeOne(Math.random());
    } else {
      await read(Math.floor(Math.random() * config.keys));
    }
    log.ops++;
  } catch (err) {
    // Outages (a stopped daemon, a dropped connection) fail calls with coded errors: counted,
    // and never a correctness problem, since nothing is recorded for a failed call.
    log.errors++;
    if (log.errorSamples.length < 5) log.errorSamples.push(`${err.code}: ${err.message}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  if (++i % 64 === 0) await new Promise((r) => setImmediate(r));
}
log.near = client.nearCacheStats();
await client.close();
for (const replica of replicas) await replica.close();
proxy.close();
process.send({ log }, () => process.exit(0));
