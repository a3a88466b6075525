// The bridge over TLS against real engines: redis-server on rediss:// and nats-server on
// tls://, with a certificate from a CA made for the test. Daemons trust it the way an operator
// would, through NODE_EXTRA_CA_CERTS; one that does not trust it refuses to start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalCachedClient } from '../ts/client/client'
import { eventually, requireTool, ROOT, runNode, tempSocketPath } from './helpers'
import { Engine, type EngineKind, type EngineTls } from './engines'
import { bridgeName } from './bridge-hosts'

const openssl = requireTool('openssl')
const TOOLS: Record<EngineKind, 'redis-server' | 'nats-server'> = { redis: 'redis-server', nats: 'nats-server' }
const CLI = join(ROOT, 'dist/cjs/cli.js')

/** A CA and a server certificate for 127.0.0.1 and localhost, signed by it. */
function makeCertificates(dir: string): EngineTls {
  const run = (args: string[]) => {
    const r = spawnSync(openssl.command, args, { cwd: dir, encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`)
  }
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=localcached test CA'])
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1'])
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n')
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '2', '-extfile', 'san.ext'])
  return { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem') }
}

for (const kind of ['redis', 'nats'] as const) {
  const tool = requireTool(TOOLS[kind])
  const missing = tool.skip ? tool : openssl
  describe.skipIf(tool.skip || openssl.skip)(missing.title(`bridge over ${kind} with TLS`), () => {
    let dir: string
    let engine: Engine
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'lc-tls-'))
      engine = await Engine.start(kind, makeCertificates(dir))
    }, 30_000)
    afterAll(async () => {
      await engine?.close()
      rmSync(dir, { recursive: true, force: true })
    })

    const daemon = async (name: string, hostId: string, env: NodeJS.ProcessEnv, extra: string[] = []) => {
      const socket = tempSocketPath()
      const child = spawn(process.execPath, [CLI, 'serve', '--socket', socket, '--bridge', engine.url(), '--bridge-name', name, '--host-id', hostId, '--bridge-heartbeat-ms', '100', '--log-format', 'json', ...extra], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
      let stderr = ''
      child.stderr!.on('data', (d) => (stderr += d))
      await eventually(() => stderr.includes('localcached listening') || child.exitCode !== null, 15_000)
      if (child.exitCode !== null) throw new Error(stderr)
      return { child, socket, client: await LocalCachedClient.connect(socket) }
    }

    const stopAll = async (daemons: Array<Awaited<ReturnType<typeof daemon>>>) => {
      for (const d of daemons) {
        await d.client.close()
        d.child.kill('SIGTERM')
        await new Promise((r) => d.child.once('exit', r))
      }
    }

    it(`${kind === 'redis' ? 'rediss://' : 'tls://'}: a change on A crosses to B over TLS`, async () => {
      const name = bridgeName()
      const env = { NODE_EXTRA_CA_CERTS: engine.tls!.ca }
      const a = await daemon(name, 'A', env)
      const b = await daemon(name, 'B', env)
      try {
        await eventually(async () => ((await b.client.stats()).bridgeReceived ?? 0) >= 2, 10_000)
        await b.client.put('tls:t:1', 'b')
        await a.client.put('tls:t:1', 'a')
        await eventually(async () => (await b.client.get('tls:t:1')) === null, 10_000)
        expect((await b.client.stats()).bridgeConnected).toBe(1)
      } finally {
        await stopAll([a, b])
      }
    }, 40_000)

    // L2 is Redis only: its TLS case runs with the Redis engine.
    if (kind === 'redis') it('--l2 rediss://: a value written on A is served on B from L2 over TLS', async () => {
      const name = bridgeName()
      const env = { NODE_EXTRA_CA_CERTS: engine.tls!.ca }
      const l2 = ['--l2', engine.url()]
      const a = await daemon(name, 'A', env, l2)
      const b = await daemon(name, 'B', env, l2)
      try {
        await a.client.put('tls:l2:1', 'from-a')
        await eventually(async () => (await b.client.get('tls:l2:1'))?.toString() === 'from-a', 10_000)
        const s = await b.client.stats()
        expect(s.l2Hits).toBeGreaterThanOrEqual(1)
        expect(s.l2Errors).toBe(0)
      } finally {
        await stopAll([a, b])
      }
    }, 40_000)

    it('a daemon that does not trust the certificate refuses to start (exit 1, BridgeUnavailable)', async () => {
      const r = await runNode([CLI, 'serve', '--socket', tempSocketPath(), '--bridge', engine.url(), '--bridge-name', bridgeName(), '--host-id', 'X'], { env: { NODE_EXTRA_CA_CERTS: '' }, timeoutMs: 30_000 })
      expect(r.code).toBe(1)
      expect(r.stderr).toMatch(/BridgeUnavailable|cannot start the bridge/)
    }, 40_000)
  })
}
