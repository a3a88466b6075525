#!/usr/bin/env node
// npm run bench:bridge — cross-host invalidation over Redis Streams and NATS JetStream, with
// its floors measured in the same run:
// - propagation: from the ack of a put on daemon A to the key dropped in a near cache on
//   daemon B (both daemons are child processes; the clients live here, so one clock times it);
// - the floor: the engine's one-way delivery between two processes (XADD → XREAD BLOCK;
//   JetStream publish → ordered-consumer delivery) plus a near-cache push on one daemon;
// - sustained invalidations/s from one host with no gap on the receiver, against raw
//   pipelined XADD and async JetStream publish.
// BRIDGE_ROUNDS (default 300), BRIDGE_SECONDS (default 3) and BRIDGE_ENGINES (redis,nats) vary it.
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { hasTool, percentile, root, sleep, spawnDaemon, startEngine } from './engines-lib.mjs';

const require = createRequire(import.meta.url);
const { LocalCachedClient } = require(join(root, 'dist/cjs/index.js'));
const Redis = require('ioredis').default ?? require('ioredis');
const ROUNDS = Number(process.env.BRIDGE_ROUNDS ?? 300);
const SECONDS = Number(process.env.BRIDGE_SECONDS ?? 3);
const now = () => performance.timeOrigin + performance.now();
const BODY = JSON.stringify({ v: 1, hostId: 'bench-host', epoch: '0123456789abcdef', seq: 123456, start: Date.now(), ts: Date.now(), kind: 'invalidate', key: 'svc:table:000000', published: false });

// --- the floor's reader: a process of its own --------------------------------------------------
if (process.argv[2] === 'floor-reader') {
  const [kind, url, where] = process.argv.slice(3);
  const seen = {};
  if (kind === 'redis') {
    const r = new Redis(url, { protocol: 2 });
    let id = '$';
    process.send({ ready: true });
    process.on('message', () => process.send({ seen }));
    for (;;) {
      const reply = await r.call('XREAD', 'BLOCK', 0, 'STREAMS', where, id);
      const t = now();
      for (const [entryId, fields] of reply[0][1]) {
        seen[fields[1]] = t;
        id = entryId;
      }
    }
  } else {
    const { connect } = require('@nats-io/transport-node');
    const { jetstream, DeliverPolicy } = require('@nats-io/jetstream');
    const nc = await connect({ servers: url.replace('nats://', '') });
    const js = jetstream(nc);
    const consumer = await js.consumers.get(where, { deliver_policy: DeliverPolicy.New });
    const messages = await consumer.consume();
    process.send({ ready: true });
    process.on('message', () => process.send({ seen }));
    for await (const m of messages) seen[m.string()] = now();
  }
}

function summary(samples) {
  const s = [...samples].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), n: s.length };
}
const ms = (x) => `${x.toFixed(3)} ms`;

/** The engine's one-way delivery between two processes. */
async function engineOneWay(engine) {
  const where = engine.kind === 'redis' ? `bench:floor:${randomBytes(4).toString('hex')}` : `floor-${randomBytes(4).toString('hex')}`;
  let publish;
  let cleanup;
  if (engine.kind === 'redis') {
    const w = new Redis(engine.url(), { protocol: 2 });
    publish = (i) => w.xadd(where, '*', 'i', String(i));
    cleanup = () => w.disconnect();
  } else {
    const { connect } = require('@nats-io/transport-node');
    const { jetstream, jetstreamManager } = require('@nats-io/jetstream');
    const nc = await connect({ servers: `127.0.0.1:${engine.port}` });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: where, subjects: [`${where}.>`] });
    const js = jetstream(nc);
    publish = (i) => js.publish(`${where}.m`, String(i));
    cleanup = () => nc.close();
  }
  const reader = fork(new URL(import.meta.url).pathname, ['floor-reader', engine.kind, engine.url(), where], { stdio: 'inherit' });
  await new Promise((resolve) => reader.once('message', resolve));
  await sleep(100);
  const sent = [];
  for (let i = 0; i < ROUNDS; i++) {
    sent[i] = now();
    await publish(i);
    await sleep(3);
  }
  await sleep(200);
  reader.send('report');
  const { seen } = await new Promise((resolve) => reader.once('message', resolve));
  reader.kill();
  await cleanup();
  return summary(sent.map((t, i) => seen[i] - t).filter((x) => Number.isFinite(x)));
}

/** A near-cache client whose drops are timed, and the keys it is waiting on. */
async function nearClient(socket) {
  const dropped = new Map();
  const client = await LocalCachedClient.connect(socket, { nearCache: { maxBytes: 16 << 20, onInvalidated: (p) => p.keys?.forEach((k) => dropped.set(k, now())) } });
  return { client, dropped };
}

/** From a put's ack on `writer` to the key dropped near on `readerSocket`'s daemon. */
async function propagation(writer, owner, near, label) {
  const samples = [];
  for (let i = 0; i < ROUNDS; i++) {
    const key = `bench:${label}:${i}`;
    await owner.put(key, 'v');
    await near.client.get(key);
    await near.client.get(key);
    await sleep(2);
    await writer.put(key, 'w');
    const acked = now();
    const deadline = Date.now() + 5000;
    while (!near.dropped.has(key)) {
      if (Date.now() > deadline) throw new Error(`${key} was never dropped near`);
      await new Promise((r) => setImmediate(r));
    }
    samples.push(near.dropped.get(key) - acked);
  }
  return summary(samples);
}

/**
 * Changes from one host for SECONDS, then until the receiver applied them all. `perRequest`
 * keys per request: 1 is one invalidate per request (256 in flight); more is an mdel of that
 * many keys, each key one change and one bridge message, which takes the client's own request
 * rate out of the measure.
 */
async function sustained(a, b, perRequest) {
  const sender = await LocalCachedClient.connect(a.socket);
  const watcher = await LocalCachedClient.connect(b.socket);
  const before = await watcher.stats();
  const started = now();
  let sent = 0;
  const until = Date.now() + SECONDS * 1000;
  // Back-pressure from A's outbox: the sustained rate is what the bridge carries with no
  // overflow (an overflow would be a gap, by design), not what a client can offer.
  let paused = null;
  let resume = () => {};
  const monitor = setInterval(async () => {
    const outbox = (await sender.stats()).bridgeOutboxCurrent;
    if (outbox > 20_000 && !paused) paused = new Promise((r) => (resume = r));
    else if (outbox < 5_000 && paused) (paused = null), resume();
  }, 10);
  await Promise.all(
    Array.from({ length: perRequest === 1 ? 256 : 8 }, async (_, w) => {
      while (Date.now() < until) {
        if (paused) await paused;
        if (perRequest === 1) await sender.invalidate(`load:t:${w}-${sent++}`);
        else {
          const keys = Array.from({ length: perRequest }, () => `load:t:${w}-${sent++}`);
          await sender.mdel(keys);
        }
      }
    }),
  );
  clearInterval(monitor);
  resume();
  for (;;) {
    const s = await watcher.stats();
    if (s.bridgeApplied - before.bridgeApplied >= sent) break;
    if (now() - started > SECONDS * 1000 + 60_000) {
      const a = await sender.stats();
      throw new Error(`the receiver never caught up: sent ${sent}, applied ${s.bridgeApplied - before.bridgeApplied}; A published ${a.bridgePublished}, outbox ${a.bridgeOutboxCurrent}; B gaps ${s.bridgeGaps - before.bridgeGaps}, rejected ${s.bridgeRejected}`);
    }
    await sleep(5);
  }
  const elapsed = (now() - started) / 1000;
  const ackedPerSecond = sent / SECONDS;
  const after = await watcher.stats();
  await sender.close();
  await watcher.close();
  return { perSecond: sent / elapsed, ackedPerSecond, sent, gaps: after.bridgeGaps - before.bridgeGaps, flushes: after.bridgeFlushes - before.bridgeFlushes };
}

/** The engine alone: pipelined XADD, or async JetStream publish, of bridge-sized bodies. */
async function rawThroughput(engine) {
  let count = 0;
  const until = Date.now() + SECONDS * 1000;
  const started = now();
  if (engine.kind === 'redis') {
    const r = new Redis(engine.url(), { protocol: 2 });
    while (Date.now() < until) {
      const p = r.pipeline();
      for (let i = 0; i < 2000; i++) p.xadd('bench:raw', 'MAXLEN', '~', '1000000', '*', 'h', 'bench-host', 'm', BODY);
      await p.exec();
      count += 2000;
    }
    r.disconnect();
  } else {
    const { connect } = require('@nats-io/transport-node');
    const { jetstream, jetstreamManager } = require('@nats-io/jetstream');
    const nc = await connect({ servers: `127.0.0.1:${engine.port}` });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'bench-raw', subjects: ['benchraw.>'], max_msgs: 1_000_000 });
    const js = jetstream(nc);
    while (Date.now() < until) {
      await Promise.all(Array.from({ length: 2000 }, () => js.publish('benchraw.m', BODY)));
      count += 2000;
    }
    await nc.close();
  }
  return count / ((now() - started) / 1000);
}

const results = [];
for (const kind of (process.env.BRIDGE_ENGINES ?? 'redis,nats').split(',')) {
  if (!hasTool(kind === 'redis' ? 'redis-server' : 'nats-server')) {
    console.log(`${kind}: skipped (${kind === 'redis' ? 'redis-server' : 'nats-server'} not installed)`);
    continue;
  }
  const engine = await startEngine(kind);
  const name = `bench${randomBytes(3).toString('hex')}`;
  const a = await spawnDaemon({ url: engine.url(), name, hostId: 'A' });
  const b = await spawnDaemon({ url: engine.url(), name, hostId: 'B' });
  try {
    await sleep(1500);
    const writer = await LocalCachedClient.connect(a.socket);
    const ownerB = await LocalCachedClient.connect(b.socket);
    const nearB = await nearClient(b.socket);
    const cross = await propagation(writer, ownerB, nearB, `${kind}-x`);
    const local = await propagation(ownerB, ownerB, nearB, `${kind}-l`);
    const oneWay = await engineOneWay(engine);
    const load = await sustained(a, b, 1);
    const batched = await sustained(a, b, 100);
    const raw = await rawThroughput(engine);
    // A push on the writer's own daemon can beat the writer's ack (it is written first): it then adds nothing.
    const floor = { p50: oneWay.p50 + Math.max(0, local.p50), p99: oneWay.p99 + Math.max(0, local.p99) };
    results.push({ kind, cross, local, oneWay, floor, load, batched, raw });
    console.log(`\n${kind === 'redis' ? 'Redis Streams' : 'NATS JetStream'} (${ROUNDS} rounds; ${SECONDS} s of load)`);
    console.log(`  propagation, ack on A → dropped near on B   p50 ${ms(cross.p50)}  p99 ${ms(cross.p99)}`);
    console.log(`  floor: engine one-way between processes      p50 ${ms(oneWay.p50)}  p99 ${ms(oneWay.p99)}`);
    console.log(`       + near-cache push on one daemon         p50 ${ms(local.p50)}  p99 ${ms(local.p99)}`);
    console.log(`       = floor                                 p50 ${ms(floor.p50)}  p99 ${ms(floor.p99)}`);
    console.log(`  ratio p99 propagation / floor: ${(cross.p99 / floor.p99).toFixed(2)}×; target p99 ≤ floor + 1 ms: ${cross.p99 <= floor.p99 + 1 ? 'met' : `missed by ${ms(cross.p99 - floor.p99 - 1)}`}`);
    console.log(`  sustained from one host: ${Math.round(load.perSecond).toLocaleString('en')} invalidations/s (${load.sent.toLocaleString('en')} acked on A at ${Math.round(load.ackedPerSecond).toLocaleString('en')}/s, all applied on B), gaps ${load.gaps}, flushes ${load.flushes}`);
    console.log(`  sustained, mdel of 100 keys per request: ${Math.round(batched.perSecond).toLocaleString('en')} changes/s (${batched.sent.toLocaleString('en')} acked on A at ${Math.round(batched.ackedPerSecond).toLocaleString('en')}/s, all applied on B), gaps ${batched.gaps}, flushes ${batched.flushes}`);
    console.log(`  raw ${kind === 'redis' ? 'pipelined XADD' : 'async JetStream publish'}: ${Math.round(raw).toLocaleString('en')} messages/s; ratios ${(load.perSecond / raw).toFixed(2)}× (invalidate) and ${(batched.perSecond / raw).toFixed(2)}× (mdel)`);
    const best = Math.max(load.perSecond, batched.perSecond);
    if (kind === 'redis') console.log(`  target ≥ 50,000 invalidations/s with no gap: ${best >= 50_000 && load.gaps + batched.gaps === 0 ? 'met' : 'missed'} (best ${Math.round(best).toLocaleString('en')}/s)`);
    await writer.close();
    await ownerB.close();
    await nearB.client.close();
  } finally {
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    await sleep(300);
    await engine.close();
  }
}
if (process.argv.includes('--json')) console.log(JSON.stringify(results));
process.exit(0);
