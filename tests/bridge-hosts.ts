// Daemons joined by a bridge, for the multi-host tests: in-process ones (serve()) with a plain
// client, a near-cache client and a subscriber each, and CLI child processes that a test can
// SIGTERM or kill -9.
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { LocalCachedClient, serve, type CacheEvent, type DaemonServer } from '../ts/index'
import type { ServeOptions } from '../ts/server/options'
import type { Stats } from '../ts/stats'
import { ROOT, eventually, tempSocketPath } from './helpers'

export const HEARTBEAT_MS = 100

/** A bridge name of its own, so tests sharing an engine never see each other's messages. */
export function bridgeName(): string {
  return `t${randomBytes(5).toString('hex')}`
}

export interface Host {
  hostId: string
  server: DaemonServer
  socket: string
  client: LocalCachedClient
  near: LocalCachedClient
  events: CacheEvent[]
  stats(): Promise<Stats>
  close(): Promise<void>
}

export async function startHost(url: string, name: string, hostId: string, options: ServeOptions = {}): Promise<Host> {
  const socket = tempSocketPath()
  const server = await serve({ socket, logLevel: 'silent', bridge: url, bridgeName: name, hostId, bridgeHeartbeatMs: HEARTBEAT_MS, publishDefault: false, ...options })
  const client = await LocalCachedClient.connect(socket)
  const near = await LocalCachedClient.connect(socket, { nearCache: { maxBytes: 1 << 20 } })
  const events: CacheEvent[] = []
  const subscription = await client.subscribe()
  void (async () => {
    for (;;) {
      const next = await subscription.next()
      if (next.done) return
      events.push(next.value)
    }
  })()
  let closed = false
  return {
    hostId,
    server,
    socket,
    client,
    near,
    events,
    stats: () => client.stats(),
    async close() {
      if (closed) return
      closed = true
      subscription.close()
      await near.close()
      await client.close()
      await server.close()
    },
  }
}

/** Waits until the host has applied `count` more remote changes than `before`. */
export async function appliedAtLeast(host: Host, count: number, timeoutMs = 5000): Promise<void> {
  await eventually(async () => ((await host.stats()).bridgeApplied ?? 0) >= count, timeoutMs)
}

/** Reads `key` through the near cache until a second read is a near hit. */
export async function primeNear(host: Host, key: string): Promise<void> {
  await host.near.get(key)
  const before = host.near.nearCacheStats().hits
  await host.near.get(key)
  if (host.near.nearCacheStats().hits !== before + 1) throw new Error(`${key} is not held near on ${host.hostId}`)
}

export interface ChildDaemon {
  child: ChildProcess
  socket: string
  stderr(): string
  exited: Promise<number | null>
}

/** `localcached-native serve` as a child process; resolves once it logs that it listens. */
export async function spawnDaemon(url: string, name: string, hostId: string, extra: string[] = []): Promise<ChildDaemon> {
  const socket = tempSocketPath()
  const args = [join(ROOT, 'dist/cjs/cli.js'), 'serve', '--socket', socket, '--bridge', url, '--bridge-name', name, '--host-id', hostId, '--bridge-heartbeat-ms', String(HEARTBEAT_MS), '--log-format', 'json', ...extra]
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  let gone = false
  void exited.then(() => (gone = true))
  await eventually(() => gone || stderr.includes('localcached listening'), 15_000)
  if (gone) throw new Error(`the daemon exited before listening: ${stderr}`)
  return { child, socket, stderr: () => stderr, exited }
}
