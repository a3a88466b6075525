// The multi-host coherence checker: three (or --hosts N) daemons joined by a bridge over a
// real redis-server or nats-server, each daemon reaching the engine through a TCP proxy the
// coordinator can cut. Writers write on their home host (and store some of their writes on
// other hosts too, versioned, as a service filling its local cache would); readers on every
// host read with near caches. Disturbances, round robin: a cut link, a SIGSTOPped daemon, the
// engine restarted empty, a daemon killed with -9 and restarted.
//
// The same violations as the single-host checker (coherence-lib.mjs), with the δ the
// flush-on-reconnect policy promises: the longest injected outage (as measured: a cut, a
// stop, or an engine restart from kill to listening again) + 3 × heartbeat + 100 ms.
// The mutation (`ignoreGaps`) runs receivers that never flush on a gap: it must show violations.
//
// With `l2`, the daemons share a second tier (docs/tiers.md) on a redis-server of its own. Every
// host but host 0 gets L2's replies `l2DelayMs` late (through a proxy), so a reader's L2 read is
// often still in flight when host 0's write of its key arrives over the bridge: the case the
// fill rule is for. The L2 mutation (`l2NoDiscard`) keeps such fills: it must show violations.
import { fork, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { analyse } from './coherence-lib.mjs';
import { root, sleep, startEngine, tempSocket } from './engines-lib.mjs';

const HEARTBEAT_MS = 100;
const OUTAGE_MS = 1000;

/** A TCP proxy to the engine that can be cut (every connection broken, new ones refused); `delayMs` holds each reply back that long. */
async function cuttableProxy(port, delayMs = 0) {
  const sockets = new Set();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return client.destroy();
    const upstream = connect(port, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s)).on('error', () => {});
    }
    client.pipe(upstream);
    // Timers of one delay fire in the order they were set: the replies keep their order.
    if (delayMs > 0) upstream.on('data', (d) => setTimeout(() => client.destroyed || client.write(d), delayMs));
    else upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: server.address().port,
    cut() {
      cut = true;
      for (const s of sockets) s.destroy();
    },
    restore() {
      cut = false;
    },
    close() {
      this.cut();
      server.close();
    },
  };
}

async function startDaemon(options) {
  const child = spawn(process.execPath, [join(root, 'scripts/coherence-daemon.mjs'), JSON.stringify(options)], { stdio: ['ignore', 'inherit', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
    if (/gap|lost|overflow|L2/.test(String(d)) && process.env.COHERENCE_VERBOSE) process.stderr.write(`[${options.hostId}] ${d}`);
  });
  const deadline = Date.now() + 15_000;
  while (!stderr.includes('localcached listening')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`daemon did not start: ${stderr}`);
    await sleep(20);
  }
  return child;
}

export async function checkMultiHostCoherence({ seconds = 10, hosts = 3, bridge = 'redis', ignoreGaps = false, l2 = false, l2NoDiscard = false, l2DelayMs = 150, writers = 2, readers = 3, keys, replicaShare, writePairsMs, disturb = true, seed = Date.now(), log = console.log } = {}) {
  const engine = await startEngine(bridge);
  const l2Engine = l2 ? await startEngine('redis') : undefined;
  const l2Proxies = l2Engine ? await Promise.all(Array.from({ length: hosts }, (_, h) => cuttableProxy(l2Engine.port, h === 0 ? 0 : l2DelayMs))) : [];
  const name = `coh${process.pid}`;
  const sockets = Array.from({ length: hosts }, () => tempSocket());
  const proxies = await Promise.all(sockets.map(() => cuttableProxy(engine.port)));
  const daemonOptions = (h) => ({
    socket: sockets[h],
    bridge: engine.url(proxies[h].port),
    bridgeName: name,
    hostId: `host${h}`,
    bridgeHeartbeatMs: HEARTBEAT_MS,
    // Small, so that a cut link loses messages to trimming: a gap the receiver must notice.
    bridgeRetention: 20,
    bridgeIgnoreGaps: ignoreGaps,
    ...(l2Engine ? { l2: l2Engine.url(l2Proxies[h].port), l2TimeoutMs: 1000, l2BreakerMs: 300, l2NoDiscard } : {}),
    heartbeatMs: HEARTBEAT_MS,
    maxBytes: '64mb',
  });
  const daemons = [];
  for (let h = 0; h < hosts; h++) daemons.push(await startDaemon(daemonOptions(h)));
  await sleep(3 * HEARTBEAT_MS);

  // Writers live on host 0 .. writers-1 (mod hosts); readers on every host.
  // With L2, fewer keys: a write then often meets a reader's L2 read of its key in flight.
  const config = { keys: keys ?? (l2 ? 48 : 200), tables: 3, writers, fillerKeys: 0, bigValueBytes: 0, replicaShare: replicaShare ?? (l2 ? 0.1 : 0.5), writePairsMs, replicaSockets: [] };
  for (let w = 0; w < writers; w++) config.replicaSockets[w] = sockets.filter((_, h) => h !== w % hosts);
  const workers = [];
  const start = (role, index, socket) => {
    const child = fork(join(root, 'scripts/coherence-worker.mjs'), [role, String(index), socket, JSON.stringify(config)], { stdio: 'inherit' });
    const worker = { role, index, child, ready: new Promise((r) => child.once('message', r)), done: new Promise((r) => child.on('message', (m) => m.log && r(m.log))) };
    workers.push(worker);
    return worker;
  };
  for (let w = 0; w < writers; w++) start('writer', w, sockets[w % hosts]);
  for (let r = 0; r < readers; r++) start('reader', r, sockets[(r + 1) % hosts]);
  await Promise.all(workers.map((w) => w.ready));

  const disturbances = { cut: 0, stopped: 0, engineRestarted: 0, killed: 0 };
  // δ is measured, not assumed: an engine restart lasts as long as it takes on this machine.
  let longestOutageMs = 0;
  const outage = async (run) => {
    const from = Date.now();
    await run();
    longestOutageMs = Math.max(longestOutageMs, Date.now() - from);
  };
  const deadline = Date.now() + seconds * 1000;
  let turn = seed % 4;
  while (Date.now() < deadline) {
    await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
    if (Date.now() >= deadline) break;
    if (!disturb) continue;
    // Host 0 is a writer's home; the others are disturbed in turn.
    const h = 1 + (turn % (hosts - 1));
    switch (turn++ % 4) {
      case 0:
        await outage(async () => {
          proxies[h].cut();
          await sleep(OUTAGE_MS);
          proxies[h].restore();
        });
        disturbances.cut++;
        break;
      case 1:
        await outage(async () => {
          daemons[h].kill('SIGSTOP');
          await sleep(OUTAGE_MS / 2);
          daemons[h].kill('SIGCONT');
        });
        disturbances.stopped++;
        break;
      case 2:
        await outage(() => engine.restart(true));
        disturbances.engineRestarted++;
        break;
      default: {
        const victim = hosts - 1;
        daemons[victim].kill('SIGKILL');
        await new Promise((r) => (daemons[victim].exitCode !== null || daemons[victim].signalCode !== null ? r() : daemons[victim].once('exit', r)));
        daemons[victim] = await startDaemon(daemonOptions(victim));
        disturbances.killed++;
      }
    }
    await sleep(3 * HEARTBEAT_MS);
  }
  for (const w of workers) w.child.send({ cmd: 'stop' });
  const logs = await Promise.all(workers.map((w) => w.done));
  for (const d of daemons) d.kill('SIGTERM');
  await Promise.all(daemons.map((d) => new Promise((r) => (d.exitCode !== null ? r() : d.once('exit', r)))));
  for (const p of [...proxies, ...l2Proxies]) p.close();
  await engine.close();
  await l2Engine?.close();
  // Undisturbed (the L2 mutation's run), no outage widens δ.
  const deltaMs = (disturb ? Math.max(OUTAGE_MS, longestOutageMs) : 0) + 3 * HEARTBEAT_MS + 100;
  const result = analyse(logs, workers, config, deltaMs, { ...disturbances, longestOutageMs }, log);
  return { ...result, hosts, bridge, ignoreGaps, l2, l2NoDiscard };
}
