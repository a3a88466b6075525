// Bridge engines and bridged daemons for scripts (bench:bridge, check:coherence --hosts): a
// redis-server or nats-server (JetStream) on a free port in a temporary directory, and
// `localcached-native serve --bridge` child processes. Ports are asked of the kernel.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, accessSync, constants } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function findTool(name) {
  for (const dir of [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin']) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {}
  }
  return null;
}

export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function portOpen(port) {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
    s.on('error', () => resolve(false));
  });
}

/** A redis-server or nats-server of its own; stop(), restart(empty) and close(). */
export async function startEngine(kind) {
  const tool = findTool(kind === 'redis' ? 'redis-server' : 'nats-server');
  if (!tool) throw new Error(`${kind === 'redis' ? 'redis-server' : 'nats-server'} not installed (apt-get install ${kind === 'redis' ? 'redis-server' : 'nats-server'})`);
  const port = await freePort();
  let dir = mkdtempSync(join(tmpdir(), `lc-${kind}-`));
  let child;
  let log = '';
  const launch = async () => {
    const args = kind === 'redis' ? ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir] : ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir];
    log = '';
    child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => (log += d));
    child.stderr.on('data', (d) => (log += d));
    const deadline = Date.now() + 10_000;
    while (!(await portOpen(port))) {
      if (Date.now() > deadline) throw new Error(`${kind} did not listen: ${log}`);
      await sleep(20);
    }
    if (kind === 'nats') while (!/Server is ready/.test(log) && Date.now() < deadline) await sleep(20);
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    await new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGKILL');
    });
  };
  await launch();
  return {
    kind,
    port,
    url: (p = port) => (kind === 'redis' ? `redis://127.0.0.1:${p}` : `nats://127.0.0.1:${p}`),
    async restart(empty) {
      await stop();
      if (empty) {
        rmSync(dir, { recursive: true, force: true });
        dir = mkdtempSync(join(tmpdir(), `lc-${kind}-`));
      }
      await launch();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function tempSocket() {
  return join(tmpdir(), `lc-${randomBytes(6).toString('hex')}.sock`);
}

/** `localcached-native serve --bridge` as a child process, resolved once it listens. */
export async function spawnDaemon({ url, name, hostId, extra = [] }) {
  const socket = tempSocket();
  const args = [join(root, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--bridge', url, '--bridge-name', name, '--host-id', hostId, '--log-format', 'json', '--publish-default', 'off', ...extra];
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 15_000;
  while (!stderr.includes('localcached listening')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`daemon ${hostId} did not start: ${stderr}`);
    await sleep(20);
  }
  return { child, socket, hostId, stderr: () => stderr, args };
}

export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((sorted.length * p) / 100) - 1)];
}

export function hasTool(name) {
  const t = findTool(name);
  return t !== null && spawnSync(t, ['--version'], { stdio: 'ignore' }).status === 0;
}
