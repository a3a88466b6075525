#!/usr/bin/env node
// npm run bench:snapshot [-- --mib 1024] — warm restart of the daemon against memcached's
// (`-e`, a memory file on tmpfs), measured in the same run on the same data: N MiB of 1 KiB
// values (default 1 GiB).
//  - save time (a Snapshot request until the file is in place) and the daemon's peak extra RSS
//    while saving;
//  - load time (start until the daemon answers, the snapshot loaded) and its RSS after;
//  - the daemon's GET throughput during a save, against its throughput without one;
//  - memcached: SIGUSR1 (its graceful stop that keeps the memory file) and the restart until
//    it answers with the items back, where memcached is installed.
// Files live in /dev/shm (tmpfs), as the targets say: this measures our work, not a disk.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { LocalCachedClient } = require(join(root, 'dist/cjs/index.js'));
const CLI = join(root, 'dist/cjs/cli.js');

const args = process.argv.slice(2);
const mib = Number(args[args.indexOf('--mib') + 1] ?? 0) || 1024;
const VALUE_BYTES = 1024;
const entries = Math.floor((mib * 1048576) / VALUE_BYTES);
const TMP = existsSync('/dev/shm') ? '/dev/shm' : '/tmp';
const tag = `${process.pid}`;
const SNAP = join(TMP, `lc-bench-${tag}.snap`);
const SOCK = join(TMP, `lc-bench-${tag}.sock`);
// Room for every entry with its per-entry overhead (docs/stats-format.md), so none is evicted.
const MAX_BYTES = `${Math.ceil(mib * 1.25) + 64}mb`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssMiB = (pid) => {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
};
const value = (i) => {
  const v = Buffer.alloc(VALUE_BYTES, 0x61 + (i % 26));
  v.writeUInt32LE(i, 0);
  return v;
};
const key = (i) => `bench:snap:${i}`;

function startDaemon() {
  const child = spawn(process.execPath, [CLI, 'serve', '--socket', SOCK, '--max-bytes', MAX_BYTES, '--snapshot', SNAP, '--log-level', 'info', '--log-format', 'json'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  return { child, log: () => log };
}

async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

async function connectWhenUp() {
  let client;
  await until(async () => {
    try {
      client = await LocalCachedClient.connect(SOCK, { timeoutMs: 600_000 });
      return true;
    } catch {
      return false;
    }
  }, 120_000, 'daemon up');
  return client;
}

/** GETs from `workers` clients for `ms`: ops/s. */
async function getThroughput(clients, ms, stop) {
  let ops = 0;
  const deadline = Date.now() + ms;
  const running = () => (stop ? !stop.done : Date.now() < deadline);
  const started = performance.now();
  await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, async () => {
    while (running()) {
      await c.get(key((Math.random() * entries) | 0));
      ops++;
    }
  })));
  return ops / ((performance.now() - started) / 1000);
}

async function benchDaemon() {
  rmSync(SNAP, { force: true });
  let d = startDaemon();
  let client = await connectWhenUp();
  const fillStarted = performance.now();
  for (let i = 0; i < entries; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(entries, i + 1000); j++) batch.push([key(j), value(j)]);
    await client.mset(batch);
  }
  const stats = await client.stats();
  console.log(`daemon: filled ${stats.itemsCurrent.toLocaleString()} entries (${(stats.bytesCurrent / 1048576).toFixed(0)} MiB charged) in ${((performance.now() - fillStarted) / 1000).toFixed(1)} s`);
  const readers = await Promise.all([0, 1].map(() => LocalCachedClient.connect(SOCK)));
  const idle = await getThroughput(readers, 3000);

  // A save, with the daemon's RSS sampled and GETs running until it is answered.
  const rssBefore = rssMiB(d.child.pid);
  let rssPeak = rssBefore;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssMiB(d.child.pid))), 10);
  const stop = { done: false };
  const saveStarted = performance.now();
  const during = getThroughput(readers, 0, stop);
  const written = await client.snapshot();
  const saveMs = performance.now() - saveStarted;
  stop.done = true;
  const duringSave = await during;
  clearInterval(sampler);
  const fileMiB = statSync(SNAP).size / 1048576;
  // The same save without readers: the time the save itself needs.
  const quietStarted = performance.now();
  await client.snapshot();
  const quietSaveMs = performance.now() - quietStarted;

  for (const r of readers) await r.close();
  await client.close();
  // SIGTERM saves once more, then a fresh daemon loads it.
  d.child.kill('SIGTERM');
  await new Promise((r) => d.child.once('exit', r));
  const loadStarted = performance.now();
  d = startDaemon();
  client = await connectWhenUp();
  const loadMs = performance.now() - loadStarted;
  const back = await client.stats();
  const sampleOk = (await client.get(key(12345 % entries)))?.equals(value(12345 % entries));
  const rssLoaded = rssMiB(d.child.pid);
  const loadLine = d.log().split('\n').find((l) => l.includes('snapshot loaded'));
  await client.close();
  d.child.kill('SIGTERM');
  await new Promise((r) => d.child.once('exit', r));
  rmSync(SNAP, { force: true });
  return { written, saveMs, quietSaveMs, fileMiB, rssBefore, rssPeak, idle, duringSave, loadMs, loadedMs: loadLine ? JSON.parse(loadLine).ms : NaN, loaded: back.itemsCurrent, sampleOk, rssLoaded };
}

/** memcached's text protocol, pipelined: set with noreply, then a `version` round trip as a barrier. */
async function benchMemcached() {
  const which = ['/usr/bin/memcached', '/usr/local/bin/memcached'].find(existsSync);
  if (!which) return { skipped: 'memcached is not installed (apt-get install memcached)' };
  const file = join(TMP, `lc-bench-${tag}.memcached`);
  const port = 20000 + (process.pid % 20000);
  const memoryMiB = Math.ceil(mib * 1.35) + 64;
  // memcached refuses to run as root unless told which user to be.
  const asUser = process.getuid?.() === 0 ? ['-u', 'root'] : [];
  let mcLog = '';
  const start = () => {
    const child = spawn(which, ['-e', file, '-m', String(memoryMiB), '-p', String(port), '-U', '0', '-l', '127.0.0.1', '-I', '2m', ...asUser], { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.on('data', (d) => (mcLog += d));
    return child;
  };
  const talk = async () => {
    for (let i = 0; i < 2000; i++) {
      try {
        const s = await new Promise((resolve, reject) => {
          const sock = connect(port, '127.0.0.1', () => resolve(sock));
          sock.once('error', reject);
        });
        return s;
      } catch {
        await sleep(5);
      }
    }
    throw new Error(`memcached did not answer: ${mcLog.trim()}`);
  };
  const request = (sock, text, endsWith) => new Promise((resolve) => {
    let got = '';
    const onData = (d) => {
      got += d.toString('latin1');
      if (got.endsWith(endsWith)) {
        sock.off('data', onData);
        resolve(got);
      }
    };
    sock.on('data', onData);
    sock.write(text);
  });
  let mc = start();
  let sock = await talk();
  const fillStarted = performance.now();
  for (let i = 0; i < entries; i += 1000) {
    const parts = [];
    for (let j = i; j < Math.min(entries, i + 1000); j++) parts.push(Buffer.from(`set ${key(j)} 0 0 ${VALUE_BYTES} noreply\r\n`), value(j), Buffer.from('\r\n'));
    sock.write(Buffer.concat(parts));
    if ((i / 1000) % 50 === 0) await request(sock, 'version\r\n', '\r\n');
  }
  await request(sock, 'version\r\n', '\r\n');
  const itemsOf = async (s) => Number(/STAT curr_items (\d+)/.exec(await request(s, 'stats\r\n', 'END\r\n'))[1]);
  const filled = await itemsOf(sock);
  const fillS = (performance.now() - fillStarted) / 1000;
  sock.destroy();
  // SIGUSR1: memcached's graceful stop for a restartable cache (it writes its metadata file).
  const stopStarted = performance.now();
  mc.kill('SIGUSR1');
  await new Promise((r) => mc.once('exit', r));
  const stopMs = performance.now() - stopStarted;
  // memcached refuses a restart within the second it stopped ("restart incompatible due to
  // setting for [stop_time]"): wait for the next second, outside the timing.
  await sleep(1100);
  const restartStarted = performance.now();
  mc = start();
  sock = await talk();
  const restartMs = performance.now() - restartStarted;
  const restored = await itemsOf(sock);
  if (restored === 0) console.log(`memcached's restart log:\n${mcLog.trim()}`);
  sock.destroy();
  mc.kill('SIGTERM');
  await new Promise((r) => mc.once('exit', r));
  rmSync(file, { force: true });
  rmSync(`${file}.meta`, { force: true });
  return { filled, fillS, stopMs, restartMs, restored };
}

const fmtS = (ms) => `${(ms / 1000).toFixed(2)} s`;
console.log(`bench:snapshot — ${mib} MiB of ${VALUE_BYTES}-byte values (${entries.toLocaleString()} entries), files on ${TMP}, Node ${process.version}`);
const ours = await benchDaemon();
const mc = await benchMemcached();
const perGiB = (ms) => ms / (mib / 1024);
console.log('');
console.log('| measure | localcached-native | target | memcached -e (same run) |');
console.log('|---|---|---|---|');
console.log(`| save (Snapshot request → file in place), under GET load | ${fmtS(ours.saveMs)} (${fmtS(perGiB(ours.saveMs))}/GiB) | ≤ 2 s/GiB | SIGUSR1 stop: ${mc.skipped ? '–' : fmtS(mc.stopMs)} |`);
console.log(`| save, no other load | ${fmtS(ours.quietSaveMs)} (${fmtS(perGiB(ours.quietSaveMs))}/GiB) | ≤ 2 s/GiB | |`);
console.log(`| load (start → answering, all loaded) | ${fmtS(ours.loadMs)} (${fmtS(perGiB(ours.loadMs))}/GiB; the load itself ${fmtS(ours.loadedMs)}) | ≤ 3 s/GiB | restart → answering: ${mc.skipped ? '–' : fmtS(mc.restartMs)} |`);
console.log(`| entries back after restart | ${ours.loaded.toLocaleString()} of ${ours.written.toLocaleString()} (value check: ${ours.sampleOk ? 'ok' : 'WRONG'}) | all | ${mc.skipped ? '–' : `${mc.restored.toLocaleString()} of ${mc.filled.toLocaleString()}`} |`);
console.log(`| peak extra RSS while saving | ${(ours.rssPeak - ours.rssBefore).toFixed(1)} MiB (RSS ${ours.rssBefore.toFixed(0)} → peak ${ours.rssPeak.toFixed(0)} MiB) | bounded, not by data | |`);
console.log(`| GET throughput during a save / without | ${Math.round(ours.duringSave).toLocaleString()} / ${Math.round(ours.idle).toLocaleString()} ops/s = ${(ours.duringSave / ours.idle).toFixed(2)}× | ≥ 0.8× | |`);
console.log(`| snapshot file | ${ours.fileMiB.toFixed(0)} MiB | | |`);
console.log(`| RSS after load | ${ours.rssLoaded.toFixed(0)} MiB | | |`);
if (mc.skipped) console.log(`\nmemcached: skipped — ${mc.skipped}`);
else {
  console.log(`\nmemcached ${'1.6'}: filled ${mc.filled.toLocaleString()} items in ${mc.fillS.toFixed(1)} s; its warm restart keeps the item memory in the mmap'd file, so its "load" is remapping, not reading; it has no checksum (a TODO in its source) and aborts on a malformed meta file.`);
  console.log(`ratio (our load / memcached restart): ${(ours.loadMs / mc.restartMs).toFixed(2)}×`);
}
