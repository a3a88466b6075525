#!/usr/bin/env node
// npm run bench:resp — redis-benchmark against localcached's RESP socket and against
// redis-server on a Unix socket, in the same run: 50 clients, 100 B values, keys shaped
// svc:bench:__rand_int__, SET and GET, at -P 1 and -P 16. Prints requests/s and the ratio.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(tmpdir(), `lc-bench-resp-${process.pid}`);
const REQUESTS = 200_000;
const value = 'x'.repeat(100);

if (spawnSync('redis-benchmark', ['--version']).status !== 0) {
  console.log('redis-benchmark is not installed (apt-get install redis-tools): nothing to measure');
  process.exit(0);
}

const wait = async (path) => {
  for (let i = 0; i < 200 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 25));
};

function bench(socket, command, pipeline) {
  const args = ['-s', socket, '-c', '50', '-n', String(REQUESTS), '-r', '100000', '-P', String(pipeline), '--csv', ...command];
  const r = spawnSync('redis-benchmark', args, { encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').filter((l) => !l.startsWith('"test"')).pop() ?? '';
  return Number(line.split('","')[1]?.replace(/"/g, '')) || NaN;
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);
const ours = join(dir, 'lc-resp.sock');
const redisSock = join(dir, 'redis.sock');
const daemon = spawn(process.execPath, [join(root, 'dist/cjs/cli.js'), 'serve', '--socket', join(dir, 'lc.sock'), '--resp-socket', ours, '--log-level', 'warn', '--max-bytes', '512mb'], { stdio: 'inherit' });
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
const redis = hasRedis ? spawn('redis-server', ['--port', '0', '--unixsocket', redisSock, '--save', '', '--appendonly', 'no'], { stdio: 'ignore' }) : null;
try {
  await wait(ours);
  if (redis) await wait(redisSock);
  const version = spawnSync('redis-benchmark', ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`${version}; 50 clients, ${REQUESTS} requests, 100 B values, keys svc:bench:__rand_int__ (100k), Unix sockets`);
  console.log(`peer: ${hasRedis ? spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ').slice(0, 3).join(' ') : 'redis-server not installed (apt-get install redis-server): our figures alone'}`);
  console.log(`${''.padEnd(12)} ${'localcached'.padStart(12)} ${'redis'.padStart(12)} ${'ratio'.padStart(7)}`);
  for (const pipeline of [1, 16]) {
    for (const [name, command] of [['SET', ['SET', 'svc:bench:__rand_int__', value]], ['GET', ['GET', 'svc:bench:__rand_int__']]]) {
      const a = bench(ours, command, pipeline);
      const b = redis ? bench(redisSock, command, pipeline) : NaN;
      const fmt = (x) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
      console.log(`${`${name} -P ${pipeline}`.padEnd(12)} ${fmt(a).padStart(12)} ${fmt(b).padStart(12)} ${(Number.isFinite(b) ? (a / b).toFixed(2) : '-').padStart(7)}`);
    }
  }
  console.log('requests per second; ratio = localcached / redis');
} finally {
  daemon.kill('SIGTERM');
  redis?.kill('SIGTERM');
  setTimeout(() => rmSync(dir, { recursive: true, force: true }), 500);
}
