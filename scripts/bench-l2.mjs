#!/usr/bin/env node
// npm run bench:l2 -- [--keys N]
// Phase 2 of docs/tiers.md, first part: the latency of a local miss that hits L2, against its
// peers measured in the same run on the same Redis: a daemon GET that hits locally, and an
// ioredis GET straight to Redis. Target: L2 hit ≤ 1.2 × (daemon GET + ioredis GET).
// Not yet here: the 1000-miss stampede across 3 hosts and the through/behind throughput.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Redis from 'ioredis';
import { percentile, root, startEngine, tempSocket } from './engines-lib.mjs';

const require = createRequire(import.meta.url);
const { serve, LocalCachedClient } = require(join(root, 'dist', 'cjs', 'index.js'));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const KEYS = arg('--keys', 3000);
const VALUE = 'x'.repeat(100);

const engine = await startEngine('redis');
const hosts = [];
for (const hostId of ['A', 'B']) {
  const socket = tempSocket();
  const server = await serve({ socket, logLevel: 'silent', bridge: engine.url(), bridgeName: 'benchl2', hostId, l2: engine.url(), publishDefault: false });
  hosts.push({ server, client: await LocalCachedClient.connect(socket) });
}
const redis = new Redis(engine.port, '127.0.0.1');
const [a, b] = hosts;
const key = (i) => `bench:item:${i}`;
for (let i = 0; i < KEYS; i++) await a.client.put(key(i), VALUE);
for (let i = 0; i < KEYS; i++) await redis.set(`raw:${i}`, VALUE);

async function time(run) {
  const samples = [];
  for (let i = 0; i < KEYS; i++) {
    const t = process.hrtime.bigint();
    await run(i);
    samples.push(Number(process.hrtime.bigint() - t) / 1000);
  }
  samples.sort((x, y) => x - y);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

// Warm up the connections and scripts.
for (let i = 0; i < 200; i++) await redis.get(`raw:${i}`);
const l2Hit = await time((i) => b.client.get(key(i))); // B never had them: each is an L2 hit
const local = await time((i) => b.client.get(key(i))); // now filled on B: local hits
const direct = await time((i) => redis.get(`raw:${i}`));
const stats = await b.client.stats();

const row = (name, r) => `| ${name.padEnd(32)} | ${r.p50.toFixed(1).padStart(8)} | ${r.p99.toFixed(1).padStart(8)} |`;
console.log(`L2 hit latency, ${KEYS} keys of ${VALUE.length} bytes, sequential (µs); B's l2Hits = ${stats.l2Hits}`);
console.log('| read                             |      p50 |      p99 |');
console.log('|---|---:|---:|');
console.log(row('daemon GET, local miss → L2 hit', l2Hit));
console.log(row('daemon GET, local hit', local));
console.log(row('ioredis GET, same Redis', direct));
const target = 1.2 * (local.p50 + direct.p50);
console.log(`\nratio (p50): L2 hit / (daemon GET + ioredis GET) = ${(l2Hit.p50 / (local.p50 + direct.p50)).toFixed(2)} (target ≤ 1.2, i.e. ≤ ${target.toFixed(1)} µs)`);

for (const h of hosts) {
  await h.client.close();
  await h.server.close();
}
redis.disconnect();
await engine.close();
