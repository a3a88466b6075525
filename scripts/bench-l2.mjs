#!/usr/bin/env node
// npm run bench:l2 -- [--keys N] [--puts N] [--in-flight N] [--procs-per-host N] [--load-ms N]
// docs/tiers.md's benchmarks, each peer measured in the same run on the same Redis:
// 1. latency: a local miss that hits L2, against a daemon GET that hits locally and an ioredis
//    GET straight to Redis. Target: L2 hit ≤ 1.2 × (daemon GET + ioredis GET).
// 2. throughput of puts with --l2-write through and behind, against the same daemon without L2.
// 3. a stampede: 1000 concurrent misses of one key across 3 hosts, counting loader calls (the
//    database loads) with L2's fleet-wide lease, with host leases only, and with bentocache
//    (L1 memory + Redis L2 + Redis bus) in as many processes. bentocache is not a dependency:
//    install it apart (npm install --prefix /tmp/bento bentocache@1.6.1) and give BENTO_DIR;
//    without it, its row is reasoned from its documented behaviour and labelled so.
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import Redis from 'ioredis';
import { percentile, root, spawnDaemon, startEngine, tempSocket } from './engines-lib.mjs';

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

// --- 2. throughput of puts --------------------------------------------------------------------
const PUTS = arg('--puts', 20_000);
const IN_FLIGHT = arg('--in-flight', 16);
// A connection's replies stay in request order, so under `through` one connection's puts wait
// for each other's L2 step: the in-flight puts are spread over CLIENTS connections.
const CLIENTS = arg('--clients', 4);
const ROUNDS = 3;

/** Puts per second from one client keeping IN_FLIGHT puts in flight on a daemon of its own. */
async function putThroughput(mode, round) {
  const extra = mode === 'local-only' ? [] : ['--l2', engine.url(), '--l2-write', mode];
  const daemon = await spawnDaemon({ url: engine.url(), name: `benchl2put${round}${mode}`, hostId: 'P', extra });
  const clients = await Promise.all(Array.from({ length: CLIENTS }, () => LocalCachedClient.connect(daemon.socket)));
  let next = 0;
  const worker = async (client) => {
    while (next < PUTS) {
      const i = next++;
      await client.put(`bench:put:${i % 1000}`, VALUE);
    }
  };
  const t = process.hrtime.bigint();
  await Promise.all(Array.from({ length: IN_FLIGHT }, (_, i) => worker(clients[i % CLIENTS])));
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  const stats = await clients[0].stats();
  for (const client of clients) await client.close();
  daemon.child.kill('SIGTERM');
  await new Promise((r) => daemon.child.once('exit', r));
  return { perSecond: PUTS / seconds, l2Fallbacks: stats.l2Fallbacks };
}

const modes = ['local-only', 'through', 'behind'];
const best = Object.fromEntries(modes.map((m) => [m, { perSecond: 0, l2Fallbacks: 0 }]));
// Rounds interleave the modes, so that a noisy neighbour hurts each about as much; the best round counts.
for (let round = 0; round < ROUNDS; round++) {
  for (const mode of modes) {
    const r = await putThroughput(mode, round);
    if (r.perSecond > best[mode].perSecond) best[mode] = r;
  }
}
console.log(`\nput throughput, ${PUTS} puts of ${VALUE.length} bytes over 1000 keys, ${IN_FLIGHT} in flight on ${CLIENTS} connections, best of ${ROUNDS} rounds`);
console.log('| daemon                          | puts/s | vs local-only | l2Fallbacks |');
console.log('|---|---:|---:|---:|');
for (const mode of modes) {
  const name = mode === 'local-only' ? 'bridge, no L2 (local-only)' : `--l2-write ${mode}`;
  console.log(`| ${name.padEnd(31)} | ${best[mode].perSecond.toFixed(0).padStart(6)} | ${(best[mode].perSecond / best['local-only'].perSecond).toFixed(2).padStart(13)} | ${String(best[mode].l2Fallbacks).padStart(11)} |`);
}

// --- 3. a stampede across 3 hosts -------------------------------------------------------------
const PROCS_PER_HOST = arg('--procs-per-host', 1);
const LOAD_MS = arg('--load-ms', 200);
const MISSES = 1000;
const BENTO_DIR = process.env.BENTO_DIR ?? '/tmp/bento';
const bentoInstalled = existsSync(join(BENTO_DIR, 'node_modules', 'bentocache', 'build', 'index.js'));

/** MISSES concurrent misses of one key, split over `targets` (one process each); the loader calls summed. */
async function stampede(kind, targets, key) {
  const children = targets.map((target, i) => {
    const calls = Math.floor(MISSES / targets.length) + (i < MISSES % targets.length ? 1 : 0);
    const child = fork(join(root, 'scripts', 'bench-l2-stampede-child.mjs'), [kind, target, key, String(calls), String(LOAD_MS)], { env: { ...process.env, BENTO_DIR } });
    return { child, ready: new Promise((r) => child.once('message', r)), done: new Promise((r) => child.on('message', (m) => m.loads !== undefined && r(m))) };
  });
  await Promise.all(children.map((c) => c.ready));
  for (const c of children) c.child.send('go');
  const results = await Promise.all(children.map((c) => c.done));
  const sum = (f) => results.reduce((s, r) => s + f(r), 0);
  return { loads: sum((r) => r.loads), answered: sum((r) => r.answered), errors: sum((r) => r.errorCount), ms: Math.max(...results.map((r) => r.ms)), processes: targets.length };
}

async function fleet(name, extra) {
  const daemons = [];
  for (const hostId of ['A', 'B', 'C']) daemons.push(await spawnDaemon({ url: engine.url(), name, hostId, extra }));
  return {
    targets: daemons.flatMap((d) => Array.from({ length: PROCS_PER_HOST }, () => d.socket)),
    async close() {
      for (const d of daemons) d.child.kill('SIGTERM');
      await Promise.all(daemons.map((d) => new Promise((r) => (d.child.exitCode !== null ? r() : d.child.once('exit', r)))));
    },
  };
}

const rows = [];
const withL2 = await fleet('benchl2stampede', ['--l2', engine.url()]);
rows.push(['localcached, --l2 (fleet-wide lease)', await stampede('localcached', withL2.targets, 'bench:row:l2')]);
await withL2.close();
const hostOnly = await fleet('benchl2stampedehost', []);
rows.push(['localcached, bridge only (host leases)', await stampede('localcached', hostOnly.targets, 'bench:row:host')]);
await hostOnly.close();
const processes = 3 * PROCS_PER_HOST;
if (bentoInstalled) {
  rows.push(['bentocache 1.6.1, L1 + Redis L2 + bus', await stampede('bentocache', Array.from({ length: processes }, () => String(engine.port)), `bench-row-bento-${process.pid}`)]);
} else {
  console.log(`\nbentocache not found in ${BENTO_DIR}/node_modules (npm install --prefix ${BENTO_DIR} bentocache@1.6.1): its row is reasoned, not measured`);
  // Its documented stampede protection is a lock per key inside one process: one factory call
  // per process that misses (https://bentocache.dev/docs/stampede-protection).
  rows.push(['bentocache (reasoned: one per process)', { loads: processes, answered: NaN, errors: NaN, ms: NaN, processes }]);
}
const base = rows[0][1].loads;
console.log(`\nstampede: ${MISSES} concurrent misses of one key, 3 hosts × ${PROCS_PER_HOST} process${PROCS_PER_HOST === 1 ? '' : 'es'}, loader ${LOAD_MS} ms`);
console.log('| cache                                   | processes | loads | vs --l2 | answered | errors | burst ms |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const [name, r] of rows) {
  console.log(`| ${name.padEnd(39)} | ${String(r.processes).padStart(9)} | ${String(r.loads).padStart(5)} | ${(r.loads / base).toFixed(1).padStart(7)} | ${String(r.answered).padStart(8)} | ${String(r.errors).padStart(6)} | ${Number.isNaN(r.ms) ? '       –' : r.ms.toFixed(0).padStart(8)} |`);
}
await engine.close();
