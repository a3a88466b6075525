// The memory-budget flood: several clients write 10 x maxBytes of mixed-size values into a
// daemon running in its own process, while a sampler reads its stats and RSS. Shared by
// tests/flood.test.ts (small budget) and scripts/flood.mjs (npm run flood, 1 GiB budget).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { LocalCachedClient } = require(join(root, 'dist/cjs/index.js'));

export const rssBytes = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) * 1024;

/**
 * The RSS the daemon may reach under a flood: what the idle daemon's Node runtime already
 * holds (measured, since it differs by Node major: 59 MiB on Node 20, 67 on 22, 70 on 24),
 * plus the budget and 15 %, plus 32 MiB for what load adds to the runtime itself (socket
 * buffers, young-generation garbage: measured at 12 MiB on Node 20, 20 on 22 and 28 on 24,
 * whose V8 keeps a larger young generation).
 */
export const rssLimit = (maxBytes, idleRss) => idleRss + maxBytes * 1.15 + 32 * 1024 * 1024;

export async function flood({ maxBytes, clients = 4, inflight = 16, factor = 10, log = () => {} }) {
  const socket = join(tmpdir(), `lc-flood-${process.pid}-${Date.now() % 1e6}.sock`);
  const daemon = spawn(process.execPath, [join(root, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--log-level', 'warn', '--max-bytes', String(maxBytes), '--max-value-bytes', '256kb'], { stdio: 'inherit' });
  try {
    for (let i = 0; i < 400 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 25));
    await new Promise((r) => setTimeout(r, 200)); // let start-up settle before the baseline
    const idleRss = rssBytes(daemon.pid);
    const sampler = await LocalCachedClient.connect(socket);
    const writers = await Promise.all(Array.from({ length: clients }, () => LocalCachedClient.connect(socket)));
    const samples = [];
    let sampling = true;
    const sampleLoop = (async () => {
      while (sampling) {
        const s = await sampler.stats();
        samples.push({ bytes: s.bytesCurrent, max: s.bytesMax, items: s.itemsCurrent, rss: rssBytes(daemon.pid) });
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const target = factor * maxBytes;
    let written = 0;
    let seq = 0;
    // Value sizes spread log-uniformly from 64 B to 256 KiB; one shared buffer per size class.
    const sizes = Array.from({ length: 13 }, (_, i) => 64 * 2 ** i);
    const values = sizes.map((n) => Buffer.alloc(n, 0x5a));
    const started = Date.now();
    await Promise.all(
      writers.flatMap((client) =>
        Array.from({ length: inflight }, async () => {
          while (written < target) {
            const n = seq++;
            const value = values[(n * 7919) % values.length];
            written += value.length;
            await client.put(`flood:c${n % clients}:${n}`, value);
          }
        }),
      ),
    );
    const seconds = (Date.now() - started) / 1000;
    sampling = false;
    await sampleLoop;
    const final = await sampler.stats();
    samples.push({ bytes: final.bytesCurrent, max: final.bytesMax, items: final.itemsCurrent, rss: rssBytes(daemon.pid) });
    await Promise.all([sampler, ...writers].map((c) => c.close()));
    const peakRss = Math.max(...samples.map((s) => s.rss));
    const maxSeen = Math.max(...samples.map((s) => s.bytes));
    const result = { written, seconds, samples: samples.length, maxSeen, peakRss, idleRss, evictions: final.evictions, overBudget: samples.filter((s) => s.bytes > s.max).length };
    log(result);
    return result;
  } finally {
    daemon.kill('SIGTERM');
  }
}
