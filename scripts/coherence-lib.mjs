// The randomized near-cache coherence checker. A daemon in its own process; writers and
// readers in theirs, all with near caches; random puts, upserts, deletes, invalidations and
// scoped invalidations, values being a per-key counter (one writer per key, so counters only
// grow). Disturbances: eviction bursts that overflow the removal hand-off (lagged), readers
// whose event loop blocks (their socket backs up), dropped connections (reset), and the
// daemon paused with SIGSTOP past the heartbeat window.
//
// Counted violations:
// - read-your-writes: a writer reads back something other than what it just wrote;
// - monotonic reads: a process reads a key's counter lower than one it read before;
// - bounded staleness: a read that started more than δ after a change was acknowledged
//   returns a value that change made stale.
// Used by `npm run check:coherence -- --seconds N` and tests/coherence.test.ts.
import { fork, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function checkCoherence({ seconds = 10, writers = 2, readers = 3, deltaMs = 100, seed = Date.now(), log = console.log } = {}) {
  const config = { keys: 48, tables: 3, writers, fillerKeys: 70_000, bigValueBytes: 3 * 1024 * 1024 };
  const socket = join(tmpdir(), `lc-coh-daemon-${process.pid}.sock`);
  const heartbeatMs = 100;
  const daemon = spawn(process.execPath, [
    join(root, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--log-level', 'silent',
    '--heartbeat-ms', String(heartbeatMs), '--max-bytes', '6mb', '--max-value-bytes', '4mb',
    '--max-pending-reply-bytes', '64kb', '--sweep-interval-ms', '50',
  ], { stdio: 'inherit' });
  for (let i = 0; i < 400 && !existsSync(socket); i++) await sleep(25);

  const workers = [];
  const start = (role, index) => {
    const child = fork(join(root, 'scripts/coherence-worker.mjs'), [role, String(index), socket, JSON.stringify(config)], { stdio: 'inherit' });
    const worker = { role, index, child, ready: new Promise((r) => child.once('message', r)), done: new Promise((r) => child.on('message', (m) => m.log && r(m.log))) };
    workers.push(worker);
    return worker;
  };
  for (let i = 0; i < writers; i++) start('writer', i);
  for (let i = 0; i < readers; i++) start('reader', i);
  await Promise.all(workers.map((w) => w.ready));

  // Disturbances, one at a time, round robin, from a seeded order.
  const disturbances = { lagged: 0, blocked: 0, dropped: 0, stopped: 0 };
  const deadline = Date.now() + seconds * 1000;
  const readerWorkers = workers.filter((w) => w.role === 'reader');
  let turn = seed % 4;
  while (Date.now() < deadline) {
    await sleep(Math.min(700, Math.max(0, deadline - Date.now())));
    if (Date.now() >= deadline) break;
    const target = readerWorkers[turn % readerWorkers.length];
    switch (turn++ % 4) {
      case 0:
        for (const w of workers) if (w.role === 'writer') w.child.send({ cmd: 'holdClears', ms: 3000 });
        workers.find((w) => w.role === 'writer' && w.index === (writers > 1 ? 1 : 0)).child.send({ cmd: 'burst' });
        disturbances.lagged++;
        break;
      case 1:
        target.child.send({ cmd: 'block', ms: 250 });
        disturbances.blocked++;
        break;
      case 2:
        target.child.send({ cmd: 'drop' });
        disturbances.dropped++;
        break;
      default:
        daemon.kill('SIGSTOP');
        await sleep(heartbeatMs * 5);
        daemon.kill('SIGCONT');
        disturbances.stopped++;
    }
  }
  for (const w of workers) w.child.send({ cmd: 'stop' });
  const logs = await Promise.all(workers.map((w) => w.done));
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));

  return analyse(logs, workers, config, deltaMs, disturbances, log);
}

/** Counts violations in the workers' logs (shared with the multi-host checker, coherence-hosts.mjs). */
export function analyse(logs, workers, config, deltaMs, disturbances, log) {
  // Per key: changes as (time, floor): from `time` on, values below `floor` are stale.
  const changes = Array.from({ length: config.keys }, () => []);
  const writesByKey = Array.from({ length: config.keys }, () => []); // (ackTime, value written), for scopes
  for (const l of logs) {
    for (let i = 0; i < l.events.length; i += 4) {
      const [key, floor, time, isWrite] = [l.events[i], l.events[i + 1], l.events[i + 2], l.events[i + 3]];
      changes[key].push([time, floor, isWrite ? 'write' : 'delete']);
      if (isWrite) writesByKey[key].push([time, floor])
    }
  }
  for (const l of logs) {
    for (const scope of l.scopes) {
      for (let key = 0; key < config.keys; key++) {
        const name = `coh:t${key % config.tables}:k${key}`;
        const hit = scope.kind === 'all' || (scope.kind === 'table' && key % config.tables === scope.table) || (scope.kind === 'prefix' && name.startsWith(scope.prefix));
        if (!hit) continue;
        // Values written (and acknowledged) before the scope was sent were certainly removed by it.
        let before = 0;
        for (const [time, floor] of writesByKey[key]) if (time < scope.sendTime) before = Math.max(before, floor);
        changes[key].push([scope.ackTime, before + 1, scope.kind]);
      }
    }
  }
  const timeline = changes.map((list) => {
    list.sort((a, b) => a[0] - b[0]);
    const times = list.map((c) => c[0]);
    const maxFloor = [];
    let m = 0;
    for (const c of list) maxFloor.push((m = Math.max(m, c[1])));
    return { times, maxFloor, list };
  });
  /** The highest floor of changes acknowledged at or before `t`. */
  const floorAt = (key, t) => {
    const { times, maxFloor } = timeline[key];
    let lo = 0;
    let hi = times.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo === 0 ? 0 : maxFloor[lo - 1];
  };
  let reads = 0;
  let stale = 0;
  let staleWithinDelta = 0;
  let maxStalenessMs = 0;
  const samples = [];
  for (const l of logs) {
    for (let i = 0; i < l.reads.length; i += 5) {
      const [key, n, tStart, near, tEnd] = [l.reads[i], l.reads[i + 1], l.reads[i + 2], l.reads[i + 3], l.reads[i + 4]];
      reads++;
      if (n >= floorAt(key, tStart)) continue;
      // Stale at tStart: by how long? From the first change that made n stale.
      const first = timeline[key].list.find((c) => c[1] > n && c[0] <= tStart);
      const staleness = tStart - first[0];
      maxStalenessMs = Math.max(maxStalenessMs, staleness);
      if (n < floorAt(key, tStart - deltaMs)) {
        stale++;
        if (samples.length < 8) samples.push({ key, read: n, near: near === 1, tookMs: +(tEnd - tStart).toFixed(3), stalenessMs: +staleness.toFixed(3), madeStaleBy: first[1], changesAround: timeline[key].list.filter((c) => Math.abs(c[0] - tStart) < 1500).map((c) => [+(c[0] - tStart).toFixed(1), c[1], c[2]]) })
      }
      else staleWithinDelta++;
    }
  }
  const sum = (f) => logs.reduce((s, l) => s + f(l), 0);
  const result = {
    operations: sum((l) => l.ops),
    readsChecked: reads,
    writes: sum((l) => l.events.length / 4),
    scopedInvalidations: sum((l) => l.scopes.length),
    errorsDuringOutages: sum((l) => l.errors),
    errorSamples: logs.flatMap((l, i) => (l.errorSamples ?? []).map((e) => `${workers[i].role}${workers[i].index}: ${e}`)).slice(0, 10),
    violations: {
      readYourWrites: sum((l) => l.violations.readYourWrites),
      monotonicReads: sum((l) => l.violations.monotonic),
      boundedStaleness: stale,
    },
    staleReadsWithinDelta: staleWithinDelta,
    violationSamples: samples,
    readYourWritesSamples: logs.flatMap((l) => l.readYourWritesSamples ?? []).map((v) => ({ ...v, changesAround: timeline[v.key].list.filter((c) => Math.abs(c[0] - v.tRead) < 1500).map((c) => [+(c[0] - v.tRead).toFixed(1), c[1], c[2]]) })),
    maxObservedStalenessMs: Number(maxStalenessMs.toFixed(3)),
    deltaMs,
    disturbances,
    near: {
      hits: sum((l) => l.near.hits),
      misses: sum((l) => l.near.misses),
      invalidations: sum((l) => l.near.invalidations),
      flushes: sum((l) => l.near.flushes),
      flushReasons: Object.fromEntries(['clear', 'lagged', 'reset', 'silence', 'bridge_gap', 'bridge_offline'].map((r) => [r, sum((l) => l.near.flushReasons[r])])),
      discardedFills: sum((l) => l.near.discardedFills),
    },
    processes: workers.map((w) => `${w.role}${w.index}`),
  };
  result.totalViolations = result.violations.readYourWrites + result.violations.monotonicReads + result.violations.boundedStaleness;
  log(JSON.stringify(result, null, 2));
  return result;
}
