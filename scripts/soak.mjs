#!/usr/bin/env node
// npm run soak -- --seconds N: several writer processes doing mixed operations and several
// subscribers, against one daemon, for N seconds. Then it checks, and exits 1 if any fails:
// - no unexpected errors, and no read ever returned an older value than the last write;
// - stats add up (getHits + getMisses = getCalls) and bytesCurrent <= bytesMax;
// - the daemon's RSS shows no growth trend;
// - lossless accounting: every acknowledged upsert is still readable with its value, was
//   overwritten or deleted by a later acknowledged request, or has a removal event
//   (evicted, invalidate) published for it after its table_changed.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const { LocalCachedClient } = require(join(root, 'dist/cjs/index.js'));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('--seconds', 60);
const writers = arg('--writers', 3);
const socket = join(tmpdir(), `lc-soak-${process.pid}.sock`);
const maxBytes = 3 * 1024 * 1024;
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

const daemon = spawn(process.execPath, [join(root, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--log-level', 'warn', '--max-bytes', String(maxBytes), '--sweep-interval-ms', '50', '--subscriber-queue', '20000'], { stdio: 'inherit' });
let daemonDied = false;
daemon.on('exit', () => (daemonDied = true));
for (let i = 0; i < 400 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));

// The checker: one subscriber that records every event in daemon order.
const checker = await LocalCachedClient.connect(socket, { reconnect: { enabled: false } });
const events = await checker.subscribe({ bufferEvents: 1_000_000 });
const byKey = new Map();
let eventCount = 0;
let checkerLagged = false;
const recording = (async () => {
  for await (const ev of events) {
    eventCount++;
    if (ev.type === 'lagged' || ev.type === 'reset') checkerLagged = true;
    if ('key' in ev) {
      let log = byKey.get(ev.key);
      if (!log) byKey.set(ev.key, (log = []));
      log.push(ev.type === 'evicted' ? `evicted:${ev.reason}` : ev.type);
    }
  }
})().catch(() => {});

// Other subscribers with filters, one of them deliberately slow (it may get lagged).
const extra = await Promise.all([{ svc: 'soak' }, { svc: 'soak', table: 'w0' }, {}].map(async (filter, i) => {
  const c = await LocalCachedClient.connect(socket);
  const sub = await c.subscribe({ ...filter, bufferEvents: 64 });
  let n = 0;
  const done = (async () => {
    for await (const _ of sub) {
      n++;
      if (i === 2 && n % 100 === 0) await new Promise((r) => setTimeout(r, 50));
    }
  })().catch(() => {});
  return { c, sub, done, count: () => n };
}));

const rss = [];
const sampler = setInterval(() => rss.push(rssMiB(daemon.pid)), 500);
console.log(`soak: ${writers} writers + ${extra.length + 1} subscribers for ${seconds} s against a ${maxBytes / 1048576} MiB daemon`);
const results = await Promise.all(Array.from({ length: writers }, (_, id) => new Promise((resolve) => {
  const child = spawn(process.execPath, [join(here, 'soak-worker.mjs'), socket, String(id), String(seconds)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.on('exit', (code) => resolve(code === 0 ? JSON.parse(out) : { id, crashed: code, counts: { errors: 1 }, last: [], errors: [`exit ${code}`] }));
})));
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 300)); // let the last events arrive

const totals = results.reduce((t, r) => {
  for (const [k, v] of Object.entries(r.counts)) t[k] = (t[k] ?? 0) + v;
  return t;
}, {});
const stats = await checker.stats();
console.log(`operations: ${totals.ops} (${totals.upserts} upserts, ${totals.gets} gets, ${totals.dels} dels, ${totals.invalidates} invalidates); events seen by the checker: ${eventCount}`);
console.log(`daemon: ${stats.itemsCurrent} items, ${stats.bytesCurrent}/${stats.bytesMax} bytes, ${stats.evictions} evictions, ${stats.expiredRemovals} expired, ${stats.eventsPublished} events published, ${stats.eventsDropped} dropped, ${stats.laggedNotices} lagged notices`);
check(!daemonDied, 'the daemon stayed up');
check(totals.errors === 0, `no unexpected errors (${totals.errors}${results.flatMap((r) => r.errors).slice(0, 3).map((e) => `; ${e}`).join('')})`);
check(totals.stale === 0, `no read returned an older value than the last acknowledged write (${totals.stale} stale)`);
check(stats.getHits + stats.getMisses === stats.getCalls, `stats add up: hits ${stats.getHits} + misses ${stats.getMisses} = gets ${stats.getCalls}`);
check(stats.bytesCurrent <= stats.bytesMax, `bytes ${stats.bytesCurrent} <= max ${stats.bytesMax}`);
console.log(`daemon RSS samples (MiB, every 0.5 s): ${rss.map((x) => x.toFixed(0)).join(' ')}`)
const third = Math.max(1, Math.floor(rss.length / 3));
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const middle = mean(rss.slice(third, 2 * third));
const end = mean(rss.slice(-third));
// V8 and malloc grow in steps while warming up (one ~20 MiB step was seen ~12 s in, then flat
// for 30 s); a leak of even 50 bytes per operation would add ~50 MiB over a 20 s run.
check(end <= middle * 1.25 + 10, `RSS has no growth trend: middle third ${middle.toFixed(1)} MiB, last third ${end.toFixed(1)} MiB (limit middle x 1.25 + 10)`);
check(!checkerLagged, 'the checker subscriber saw every event (no lagged/reset)');

// Lossless accounting for every key's last acknowledged write.
let present = 0, removedWithEvent = 0, deleted = 0, lost = 0, resurrected = 0;
const lostExamples = [];
for (const r of results) {
  for (const [key, last] of r.last) {
    const got = await checker.get(key);
    const log = byKey.get(key) ?? [];
    if (last.op === 'upsert') {
      if (got !== null && got.toString().startsWith(last.value + ':')) present++;
      else if (got === null && log.slice(log.lastIndexOf('table_changed') + 1).some((e) => e.startsWith('evicted') || e === 'invalidate')) removedWithEvent++;
      else {
        lost++;
        if (lostExamples.length < 3) lostExamples.push(`${key}: ${got === null ? 'missing' : 'other value'}, events ${log.slice(-4).join(',')}`);
      }
    } else if (got === null) deleted++;
    else resurrected++;
  }
}
check(lost === 0 && resurrected === 0, `lossless: ${present} present, ${removedWithEvent} removed with an event, ${deleted} deleted, ${lost} lost, ${resurrected} resurrected${lostExamples.map((e) => `; ${e}`).join('')}`);

events.close();
for (const e of extra) {
  e.sub.close();
  await e.c.close();
}
await checker.close();
await recording;
daemon.kill('SIGTERM');
console.log(failures.length === 0 ? `soak: passed (${totals.ops} operations in ${seconds} s)` : `soak: FAILED (${failures.length} checks)`);
process.exit(failures.length === 0 ? 0 : 1);
