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
import { fork, spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { analyse } from './coherence-lib.mjs';
import { root, sleep, startEngine, tempSocket } from './engines-lib.mjs';

const HEARTBEAT_MS = 100;
const OUTAGE_MS = 1000;

/** A TCP proxy to the engine that can be cut (every connection broken, new ones refused). */
async function cuttableProxy(port) {
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
    upstream.pipe(client);
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
    if (/gap|lost|overflow/.test(String(d)) && process.env.COHERENCE_VERBOSE) process.stderr.write(d);
  });
  const deadline = Date.now() + 15_000;
  while (!stderr.includes('localcached listening')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`daemon did not start: ${stderr}`);
    await sleep(20);
  }
  return child;
}

export async function checkMultiHostCoherence({ seconds = 10, hosts = 3, bridge = 'redis', ignoreGaps = false, writers = 2, readers = 3, seed = Date.now(), log = console.log } = {}) {
  const engine = await startEngine(bridge);
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
    heartbeatMs: HEARTBEAT_MS,
    maxBytes: '64mb',
  });
  const daemons = [];
  for (let h = 0; h < hosts; h++) daemons.push(await startDaemon(daemonOptions(h)));
  await sleep(3 * HEARTBEAT_MS);

  // Writers live on host 0 .. writers-1 (mod hosts); readers on every host.
  const config = { keys: 200, tables: 3, writers, fillerKeys: 0, bigValueBytes: 0, replicaShare: 0.5, replicaSockets: [] };
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
  for (const p of proxies) p.close();
  await engine.close();
  const deltaMs = Math.max(OUTAGE_MS, longestOutageMs) + 3 * HEARTBEAT_MS + 100;
  const result = analyse(logs, workers, config, deltaMs, { ...disturbances, longestOutageMs }, log);
  return { ...result, hosts, bridge, ignoreGaps };
}
