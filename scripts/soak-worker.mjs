// One soak writer process: mixed operations on its own key space for a given time, checking
// every read against what it last wrote, then printing its final state as JSON.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { LocalCachedClient } = require(join(root, 'dist/cjs/index.js'));
const [socket, id, seconds] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const KEYS = 1500;
const INFLIGHT = 8;

let seed = 0x9e3779b9 ^ (id * 7919);
const random = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const client = await LocalCachedClient.connect(socket, { timeoutMs: 10_000 });
/** Per key: the last acknowledged write, as { op, value }. */
const last = new Map();
const busy = new Set();
const counts = { ops: 0, upserts: 0, gets: 0, dels: 0, invalidates: 0, stale: 0, errors: 0 };
const errors = [];
const deadline = Date.now() + seconds * 1000;
let seq = 0;

async function one() {
  let pk = Math.floor(random() * KEYS);
  while (busy.has(pk)) pk = (pk + 1) % KEYS; // at most one operation per key in flight
  busy.add(pk);
  const key = `soak:w${id}:${pk}`;
  try {
    const r = random();
    if (r < 0.4) {
      const value = `${key}#${seq++}:${'x'.repeat(Math.floor(random() * 3000))}`;
      const ttlMs = random() < 0.2 ? 1 + Math.floor(random() * 200) : undefined;
      await client.tableChangedUpsert('soak', `w${id}`, String(pk), value, { ttlMs });
      last.set(key, { op: 'upsert', value: value.slice(0, value.indexOf(':', key.length + 1)) });
      counts.upserts++;
    } else if (r < 0.85) {
      const got = await client.get(key);
      counts.gets++;
      const expected = last.get(key);
      if (got !== null) {
        const text = got.toString();
        const tag = text.slice(0, text.indexOf(':', key.length + 1));
        // A read may find nothing (evicted, expired, deleted) but never an older write.
        if (!expected || expected.op !== 'upsert' || expected.value !== tag) counts.stale++;
      }
    } else if (r < 0.92) {
      await client.del(key);
      last.set(key, { op: 'del' });
      counts.dels++;
    } else {
      await client.invalidate(key);
      last.set(key, { op: 'invalidate' });
      counts.invalidates++;
    }
    counts.ops++;
  } catch (err) {
    counts.errors++;
    if (errors.length < 5) errors.push(`${err.code ?? ''} ${err.message}`);
  } finally {
    busy.delete(pk);
  }
}

await Promise.all(Array.from({ length: INFLIGHT }, async () => {
  while (Date.now() < deadline) await one();
}));
await client.close();
process.stdout.write(JSON.stringify({ id, counts, errors, last: [...last] }));
