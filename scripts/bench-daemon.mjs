#!/usr/bin/env node
// npm run bench:daemon — our client against our daemon, and ioredis against redis-server,
// both over Unix sockets, measured in the same run with 100-byte values: sequential get
// latency (p50, p99) and get throughput with 1, 16 and 256 requests in flight.
// Each server runs in its own process; the clients run here, one at a time.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { LocalCachedClient } = require(join(root, 'dist/cjs/index.js'));
const KEYS = 10_000;
const VALUE = Buffer.alloc(100, 0x61);
const SEQUENTIAL = 20_000;
const THROUGHPUT_OPS = 200_000;
const INFLIGHT = [1, 16, 256];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function waitFor(path) {
  for (let i = 0; i < 200 && !existsSync(path); i++) await sleep(25);
  if (!existsSync(path)) throw new Error(`nothing listening on ${path}`);
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** `mget(keys)` returns a promise: batches of 100 keys, 16 in flight; returns batches/s. */
async function measureMget(mget) {
  const batches = 5000;
  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: 16 }, async () => {
    for (let b = next++; b < batches; b = next++) {
      const keys = Array.from({ length: 100 }, (_, i) => `bench:items:${(b * 100 + i) * 7919 % KEYS}`);
      const values = await mget(keys);
      if (values.length !== 100) throw new Error('short mget');
    }
  }));
  return batches / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** `get(key)` returns a promise; runs the latency and throughput phases. */
async function measure(get) {
  const key = (i) => `bench:items:${i % KEYS}`;
  for (let i = 0; i < 2000; i++) await get(key(i)); // warm-up
  const lat = new Float64Array(SEQUENTIAL);
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = process.hrtime.bigint();
    await get(key(i * 7919));
    lat[i] = Number(process.hrtime.bigint() - t) / 1000;
  }
  lat.sort();
  const result = { p50: percentile(lat, 50), p99: percentile(lat, 99), throughput: {}, p99At: {} };
  for (const inflight of INFLIGHT) {
    const ops = inflight === 1 ? THROUGHPUT_OPS / 4 : THROUGHPUT_OPS;
    const latencies = new Float64Array(ops);
    let next = 0;
    const started = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: inflight }, async () => {
        for (let i = next++; i < ops; i = next++) {
          const t = process.hrtime.bigint();
          await get(key(i * 7919));
          latencies[i] = Number(process.hrtime.bigint() - t) / 1000;
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort();
    result.throughput[inflight] = ops / seconds;
    result.p99At[inflight] = percentile(latencies, 99);
  }
  return result;
}

async function benchOurs(dir) {
  const socket = join(dir, 'lc.sock');
  const child = spawn(process.execPath, [join(root, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--log-level', 'warn', '--max-bytes', '256mb'], { stdio: 'inherit' });
  try {
    await waitFor(socket);
    const client = await LocalCachedClient.connect(socket);
    await Promise.all(Array.from({ length: KEYS }, (_, i) => client.put(`bench:items:${i}`, VALUE)));
    const r = await measure((k) => client.get(k));
    r.mget = await measureMget((keys) => client.mget(keys));
    await client.close();
    return r;
  } finally {
    child.kill('SIGTERM');
  }
}

async function benchRedis(dir) {
  if (spawnSync('redis-server', ['--version']).status !== 0) return null;
  let Redis;
  try {
    Redis = require('ioredis');
  } catch {
    return null;
  }
  const socket = join(dir, 'redis.sock');
  const child = spawn('redis-server', ['--port', '0', '--unixsocket', socket, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await waitFor(socket);
    const redis = new Redis({ path: socket, lazyConnect: true, enableAutoPipelining: false });
    await redis.connect();
    await Promise.all(Array.from({ length: KEYS }, (_, i) => redis.set(`bench:items:${i}`, VALUE)));
    const r = await measure((k) => redis.getBuffer(k));
    r.mget = await measureMget((keys) => redis.mgetBuffer(keys));
    const info = await redis.info('server');
    r.version = /redis_version:(\S+)/.exec(info)?.[1];
    redis.disconnect();
    return r;
  } finally {
    child.kill('SIGTERM');
  }
}

const dir = join(tmpdir(), `lc-bench-${process.pid}`);
rmSync(dir, { recursive: true, force: true });
require('node:fs').mkdirSync(dir);
try {
  const ours = await benchOurs(dir);
  const redis = await benchRedis(dir);
  console.log(`node ${process.version}; 100 B values, ${KEYS} keys; Unix sockets; servers in their own processes`);
  console.log(redis ? `peer: redis-server ${redis.version} with ioredis ${require('ioredis/package.json').version}` : 'peer: redis-server or ioredis not installed (apt-get install redis-server; npm i -D ioredis): our figures alone');
  const rows = [
    ['sequential get p50 (µs)', ours.p50, redis?.p50, 'lower'],
    ['sequential get p99 (µs)', ours.p99, redis?.p99, 'lower'],
    ...INFLIGHT.map((n) => [`get throughput, ${n} in flight (ops/s)`, ours.throughput[n], redis?.throughput[n], 'higher']),
    ...INFLIGHT.map((n) => [`get p99 at ${n} in flight (µs)`, ours.p99At[n], redis?.p99At[n], 'lower']),
    ['mget of 100 keys, 16 in flight (calls/s)', ours.mget, redis?.mget, 'higher'],
  ];
  const fmt = (x) => (x === undefined ? '-' : x >= 1000 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1));
  console.log(`${''.padEnd(40)} ${'localcached'.padStart(12)} ${'redis'.padStart(12)} ${'ratio'.padStart(7)}`);
  for (const [label, a, b] of rows) {
    console.log(`${label.padEnd(40)} ${fmt(a).padStart(12)} ${fmt(b).padStart(12)} ${(b ? (a / b).toFixed(2) : '-').padStart(7)}`);
  }
  console.log('ratio = localcached / redis (for latency lower is better, for throughput higher is better)');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
