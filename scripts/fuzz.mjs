#!/usr/bin/env node
// npm run fuzz -- --seconds N [--seed S] [--resp]: fuzzes a daemon in its own process (its
// native socket, or with --resp its RESP socket), then checks it is still serving and that its
// memory stayed bounded. Exits 1 on any problem.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fuzz } from './fuzz-lib.mjs';
import { makeRespCase, runRespCase } from './fuzz-resp-lib.mjs';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { LocalCachedClient } = require(join(root, 'dist/cjs/index.js'));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const seconds = arg('--seconds', 30);
const seed = arg('--seed', Date.now() % 1e9);
const resp = process.argv.includes('--resp');
const socket = join(tmpdir(), `lc-fuzz-${process.pid}.sock`);
const respSocket = join(tmpdir(), `lc-fuzz-resp-${process.pid}.sock`);
const limits = { maxValueBytes: 4096, maxFrameBytes: 64 * 1024 };
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const daemon = spawn(process.execPath, [join(root, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--log-level', 'silent', '--max-value-bytes', String(limits.maxValueBytes), '--max-frame-bytes', String(limits.maxFrameBytes), '--max-bytes', '16mb', ...(resp ? ['--resp-socket', respSocket] : [])], { stdio: 'inherit' });
let crashed = false;
daemon.on('exit', (code, signal) => {
  crashed = true;
  console.error(`daemon exited during the fuzz run: code ${code} signal ${signal}`);
});
for (let i = 0; i < 200 && !(existsSync(socket) && (!resp || existsSync(respSocket))); i++) await new Promise((r) => setTimeout(r, 25));
const control = await LocalCachedClient.connect(socket, { reconnect: { enabled: false } });
const rssStart = rssMiB(daemon.pid);
let peakRss = rssStart;
console.log(`fuzzing the ${resp ? 'RESP' : 'native'} protocol for ${seconds} s with seed ${seed}`);
const stats = await fuzz({
  path: resp ? respSocket : socket,
  ...(resp ? { makeCase: makeRespCase, runCase: runRespCase } : {}),
  seconds,
  seed,
  limits,
  control: async () => {
    await control.ping();
    peakRss = Math.max(peakRss, rssMiB(daemon.pid));
  },
  onProblem: (c, o) => console.error(`PROBLEM in case "${c.name}": ${o.problem}`),
});
const after = await control.stats();
await control.close();
daemon.kill('SIGTERM');
console.log(`cases: ${stats.cases} (answered ${stats.answered}, connection closed ${stats.closed}), problems: ${stats.problems}`);
for (const [kind, n] of Object.entries(stats.byKind)) console.log(`  ${String(n).padStart(7)}  ${kind}`);
console.log(`daemon RSS: ${rssStart.toFixed(1)} MiB at start, ${peakRss.toFixed(1)} MiB peak; store bytes ${after.bytesCurrent} <= ${after.bytesMax}`);
const failed = crashed || stats.problems > 0 || peakRss > rssStart + 200 || after.bytesCurrent > after.bytesMax;
console.log(failed ? 'fuzz: FAILED' : 'fuzz: passed');
process.exit(failed ? 1 : 0);
