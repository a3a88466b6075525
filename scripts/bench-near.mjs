#!/usr/bin/env node
// npm run bench:near — hot-key reads through the near cache, through the plain client, and
// with ioredis against redis-server (Unix sockets, 100-byte values), measured in the same run;
// then invalidation propagation: from a write's acknowledgement to every one of 10 reader
// processes' near caches having dropped the key. NEAR_READERS (default 10) and
// NEAR_SETTLE_MS (default 20: the pause between priming the readers and the write) vary it.
import { fork, spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { LocalCachedClient } = require(join(root, 'dist/cjs/index.js'));
const VALUE = Buffer.alloc(100, 0x61);
const READERS = Number(process.env.NEAR_READERS ?? 10);
const ROUNDS = 300;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- propagation reader (a child process) ---------------------------------------------------
if (process.argv[2] === 'reader') {
  const dropped = new Map();
  const client = await LocalCachedClient.connect(process.argv[3], {
    nearCache: { maxBytes: 16 * 1024 * 1024, onInvalidated: (push) => push.keys?.forEach((k) => dropped.set(k, now())) },
  });
  process.on('message', async (m) => {
    if (m.cmd === 'prime') {
      await client.get(m.key);
      await client.get(m.key);
      if (client.nearCacheStats().entries < 1) throw new Error('not primed');
      process.send({ primed: m.key });
    } else if (m.cmd === 'report') {
      process.send({ dropped: Object.fromEntries(dropped) });
    } else if (m.cmd === 'exit') {
      await client.close();
      process.exit(0);
    }
  });
  process.send({ ready: true });
  await new Promise(() => {});
}

// --- baseline: a bare one-byte fan-out over Unix sockets to idle Node processes ---------------
if (process.argv[2] === 'fanout-child') {
  const s = (await import('node:net')).connect(process.argv[3]);
  const times = [];
  s.on('data', (d) => {
    for (let i = 0; i < d.length; i++) times.push(now());
  });
  process.on('message', () => process.send(times));
  s.on('connect', () => process.send('ready'));
  await new Promise(() => {});
}

/** What the platform allows: the time for one byte written to READERS idle processes to reach the last. */
async function fanoutBaseline(rounds) {
  const { createServer } = await import('node:net');
  const path = join(tmpdir(), `lc-bench-fanout-${process.pid}.sock`);
  rmSync(path, { force: true });
  const sockets = [];
  const server = createServer((s) => sockets.push(s)).listen(path);
  const kids = Array.from({ length: READERS }, () => fork(fileURLToPath(import.meta.url), ['fanout-child', path], { stdio: 'inherit' }));
  await Promise.all(kids.map((k) => new Promise((r) => k.once('message', r))));
  while (sockets.length < READERS) await sleep(5);
  const sent = [];
  for (let i = 0; i < rounds; i++) {
    await sleep(Number(process.env.NEAR_SETTLE_MS ?? 20));
    sent.push(now());
    for (const s of sockets) s.write('x');
  }
  await sleep(200);
  const reports = await Promise.all(kids.map((k) => new Promise((r) => (k.once('message', r), k.send('report')))));
  const last = sent.map((t, i) => Math.max(...reports.map((times) => times[i] - t))).sort((a, b) => a - b);
  for (const k of kids) k.kill();
  server.close();
  return last;
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function waitFor(path) {
  for (let i = 0; i < 200 && !existsSync(path); i++) await sleep(25);
  if (!existsSync(path)) throw new Error(`nothing listening on ${path}`);
}

/** p50/p99 of one hot-key read (µs), and sequential ops/s. */
async function hotKey(get, ops) {
  for (let i = 0; i < Math.min(ops, 20_000); i++) await get(); // warm-up
  const lat = new Float64Array(ops);
  for (let i = 0; i < ops; i++) {
    const t = process.hrtime.bigint();
    await get();
    lat[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  lat.sort();
  const started = process.hrtime.bigint();
  for (let i = 0; i < ops; i++) await get();
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), opsPerSec: ops / seconds };
}

const socket = join(tmpdir(), `lc-bench-near-${process.pid}.sock`);
const redisSocket = join(tmpdir(), `lc-bench-near-redis-${process.pid}.sock`);
const daemon = spawn(process.execPath, [join(root, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--log-level', 'silent'], { stdio: 'inherit' });
await waitFor(socket);

const near = await LocalCachedClient.connect(socket, { nearCache: { maxBytes: 16 * 1024 * 1024 } });
const plain = await LocalCachedClient.connect(socket);
await plain.put('bench:hot:1', VALUE);
const rows = [];
const nearResult = await hotKey(() => near.get('bench:hot:1'), 1_000_000);
const plainResult = await hotKey(() => plain.get('bench:hot:1'), 20_000);

let redisResult = null;
let redisVersion = 'redis-server not installed';
if (spawnSync('redis-server', ['--version']).status === 0) {
  redisVersion = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim();
  rmSync(redisSocket, { force: true });
  const redis = spawn('redis-server', ['--port', '0', '--unixsocket', redisSocket, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  await waitFor(redisSocket);
  const { default: Redis } = await import('ioredis');
  const io = new Redis({ path: redisSocket });
  await io.set('bench:hot:1', VALUE);
  redisResult = await hotKey(() => io.getBuffer('bench:hot:1'), 20_000);
  io.disconnect();
  redis.kill('SIGTERM');
}

console.log(`peer: ioredis ${require('ioredis/package.json').version} against ${redisVersion}; Node ${process.version}; 100-byte value, one hot key, sequential awaits`);
console.log('hot-key read            p50 (µs)   p99 (µs)        ops/s');
const line = (name, r) => console.log(`${name.padEnd(22)} ${r.p50.toFixed(2).padStart(9)} ${r.p99.toFixed(2).padStart(10)} ${Math.round(r.opsPerSec).toLocaleString('en-US').padStart(12)}`);
line('near cache hit', nearResult);
line('plain client', plainResult);
if (redisResult) line('ioredis GET', redisResult);
if (redisResult) {
  console.log(`near vs ioredis: p50 ${(redisResult.p50 / nearResult.p50).toFixed(1)}x faster, ops/s ${(nearResult.opsPerSec / redisResult.opsPerSec).toFixed(1)}x`);
}
console.log(`near vs plain client: p50 ${(plainResult.p50 / nearResult.p50).toFixed(1)}x faster`);

// --- propagation ------------------------------------------------------------------------------
const readers = [];
for (let i = 0; i < READERS; i++) {
  const child = fork(fileURLToPath(import.meta.url), ['reader', socket], { stdio: 'inherit' });
  const inbox = [];
  const waiters = [];
  child.on('message', (m) => (waiters.length ? waiters.shift()(m) : inbox.push(m)));
  const next = () => (inbox.length ? Promise.resolve(inbox.shift()) : new Promise((r) => waiters.push(r)));
  readers.push({ child, next });
}
await Promise.all(readers.map((r) => r.next()));
const writer = await LocalCachedClient.connect(socket);
const acks = new Map();
for (let round = 0; round < ROUNDS; round++) {
  const key = `bench:prop:${round}`;
  await writer.put(key, VALUE);
  for (const r of readers) r.child.send({ cmd: 'prime', key });
  await Promise.all(readers.map((r) => r.next()));
  await sleep(Number(process.env.NEAR_SETTLE_MS ?? 20)); // let every reader go idle before the write
  await writer.put(key, 'changed');
  acks.set(key, now());
}
await sleep(200);
for (const r of readers) r.child.send({ cmd: 'report' });
const reports = await Promise.all(readers.map((r) => r.next()));
const perReader = [];
const allReaders = [];
let missing = 0;
for (const [key, ack] of acks) {
  let worst = -Infinity;
  for (const report of reports) {
    const at = report.dropped[key];
    if (at === undefined) {
      missing++;
      continue;
    }
    perReader.push(at - ack);
    worst = Math.max(worst, at - ack);
  }
  allReaders.push(worst);
}
perReader.sort((a, b) => a - b);
allReaders.sort((a, b) => a - b);
console.log(`\npropagation, ${READERS} reader processes, ${ROUNDS} writes: from the writer's ack to the key dropped (ms; negative: dropped before the writer saw its ack)`);
console.log(`  each reader:      p50 ${percentile(perReader, 50).toFixed(3)}  p99 ${percentile(perReader, 99).toFixed(3)}  max ${perReader.at(-1).toFixed(3)}`);
console.log(`  every reader:     p50 ${percentile(allReaders, 50).toFixed(3)}  p99 ${percentile(allReaders, 99).toFixed(3)}  max ${allReaders.at(-1).toFixed(3)}`);
console.log(`  drops missing: ${missing}`);
const baseline = await fanoutBaseline(ROUNDS);
console.log(`  baseline, one byte written to ${READERS} idle processes, to the last receiver: p50 ${percentile(baseline, 50).toFixed(3)}  p99 ${percentile(baseline, 99).toFixed(3)}  max ${baseline.at(-1).toFixed(3)}`);
for (const r of readers) r.child.send({ cmd: 'exit' });
await writer.close();
await near.close();
await plain.close();
daemon.kill('SIGTERM');
