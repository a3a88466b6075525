// One process of bench:l2's stampede (bench-l2.mjs): a service instance that, on "go" (IPC),
// asks for one missing key `calls` times at once and reports how often its loader ran (the
// "database loads"), how many calls got the loaded value, and how long the whole burst took.
//   localcached: getOrLoad through the host's daemon (argv: socket)
//   bentocache:  getOrSet on a BentoCache with an in-memory L1, a Redis L2 and a Redis bus,
//                required from BENTO_DIR (argv: redis port)
// argv: kind, target, key, calls, loadMs
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from './engines-lib.mjs';

const [kind, target, key, callsText, loadMsText] = process.argv.slice(2);
const calls = Number(callsText);
const loadMs = Number(loadMsText);
let loads = 0;
const loader = async () => {
  loads++;
  await new Promise((r) => setTimeout(r, loadMs));
  return `row of ${key}, loaded by ${process.pid}`;
};

async function localcached() {
  const { LocalCachedClient } = createRequire(import.meta.url)(join(root, 'dist', 'cjs', 'index.js'));
  const client = await LocalCachedClient.connect(target);
  return {
    get: async () => (await client.getOrLoad(key, loader, { ttlMs: 60_000, lockTimeoutMs: 10_000 })).toString(),
    close: () => client.close(),
  };
}

async function bentocache() {
  const dir = process.env.BENTO_DIR;
  const from = (path) => import(pathToFileURL(join(dir, 'node_modules', 'bentocache', 'build', ...path)).href);
  const { BentoCache, bentostore } = await from(['index.js']);
  const { redisDriver, redisBusDriver } = await from(['src', 'drivers', 'redis.js']);
  const { memoryDriver } = await from(['src', 'drivers', 'memory.js']);
  const connection = { host: '127.0.0.1', port: Number(target) };
  const bento = new BentoCache({
    default: 'tiered',
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxSize: '10mb' }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  });
  return {
    get: () => bento.getOrSet({ key, ttl: '1m', factory: loader }),
    close: () => bento.disconnect(),
  };
}

const cache = kind === 'bentocache' ? await bentocache() : await localcached();
process.send({ ready: true });
await new Promise((resolve) => process.once('message', resolve));
const started = performance.now();
const results = await Promise.allSettled(Array.from({ length: calls }, () => cache.get()));
const ms = performance.now() - started;
const answered = results.filter((r) => r.status === 'fulfilled' && String(r.value).startsWith('row of')).length;
const errors = results.filter((r) => r.status === 'rejected').map((r) => r.reason?.code ?? r.reason?.message);
await cache.close();
process.send({ loads, answered, errors: errors.slice(0, 3), errorCount: errors.length, ms }, () => process.exit(0));
