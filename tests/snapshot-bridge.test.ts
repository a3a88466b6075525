// Warm restart with a bridge, against real engines: the snapshot records where the bridge
// stood, and a restart replays what changed since before it serves, or drops what it loaded
// when it cannot. A warm restart never serves a value changed while the daemon was down.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalCachedClient } from '../ts/client/client'
import { eventually, requireTool } from './helpers'
import { Engine, type EngineKind } from './engines'
import { appliedAtLeast, bridgeName, spawnDaemon, startHost, type ChildDaemon, type Host } from './bridge-hosts'
import { CuttableTcpProxy } from './tcp-proxy'
import type { ServeOptions } from '../ts/server/options'

const TOOLS: Record<EngineKind, 'redis-server' | 'nats-server'> = { redis: 'redis-server', nats: 'nats-server' }

for (const kind of ['redis', 'nats'] as const) {
  const tool = requireTool(TOOLS[kind])
  describe.skipIf(tool.skip)(tool.title(`warm restart over a ${kind} bridge`), () => {
    let engine: Engine
    const hosts: Host[] = []
    const children: ChildDaemon[] = []
    const dirs: string[] = []

    const snapshotPath = () => {
      const dir = mkdtempSync(join(tmpdir(), 'lc-snapb-'))
      dirs.push(dir)
      return join(dir, 'b.snap')
    }
    const host = async (name: string, hostId: string, options: ServeOptions = {}, lines?: string[]) => {
      const logging = lines ? { logLevel: 'info' as const, logDestination: { write: (l: string) => void lines.push(l) } as never } : {}
      const h = await startHost(engine.url(), name, hostId, { ...logging, ...options })
      hosts.push(h)
      return h
    }
    const stop = async (h: Host) => {
      hosts.splice(hosts.indexOf(h), 1)
      await h.close()
    }

    beforeAll(async () => {
      engine = await Engine.start(kind)
    })
    afterEach(async () => {
      for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL')
      for (const h of hosts.splice(0)) await h.close()
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
    })
    afterAll(async () => {
      await engine?.close()
    })

    it('what other hosts changed while B was down is replayed before B serves; the rest stays warm', async () => {
      const name = bridgeName()
      const snapshot = snapshotPath()
      const a = await host(name, 'A')
      let b = await host(name, 'B', { snapshot })
      await eventually(async () => ((await b.stats()).bridgeReceived ?? 0) >= 2, 10_000)
      await b.client.put('shop:item:1', 'b-old')
      await b.client.put('shop:item:2', 'b-keep')
      await b.client.put('shop:item:3', 'b-scope')
      await stop(b)
      // While B is down: a key, a scope, and a versioned write that B must not keep.
      await a.client.invalidate('shop:item:1')
      await a.client.invalidateTable('shop', 'cart')
      await a.client.put('shop:item:3', 'a-new')
      const lines: string[] = []
      b = await host(name, 'B', { snapshot }, lines)
      expect(await b.client.get('shop:item:1')).toBeNull()
      expect(await b.client.get('shop:item:3')).toBeNull()
      expect((await b.client.get('shop:item:2'))?.toString()).toBe('b-keep')
      const s = await b.stats()
      expect(s.bridgeFlushes).toBe(0)
      expect(s.bridgeApplied).toBeGreaterThanOrEqual(3)
      expect(lines.some((l) => l.includes('replayed the bridge from the snapshot'))).toBe(true)
      // And the bridge goes on as usual.
      await b.client.put('shop:item:2', 'b-2')
      const applied = (await a.stats()).bridgeApplied ?? 0
      await b.client.invalidate('shop:item:2')
      await appliedAtLeast(a, applied + 1)
    }, 30_000)

    it("B's own writes after a requested save, then kill -9, with --snapshot-after-crash load: the restart replays them, never serving the saved value", async () => {
      const name = bridgeName()
      const snapshot = snapshotPath()
      await host(name, 'A')
      const start = () => spawnDaemon(engine.url(), name, 'B', ['--snapshot', snapshot, '--snapshot-after-crash', 'load'])
      const first = await start()
      children.push(first)
      const c1 = await LocalCachedClient.connect(first.socket)
      await c1.put('own:t:1', 'saved')
      await c1.put('own:t:2', 'kept')
      expect(await c1.snapshot()).toBe(2)
      await c1.put('own:t:1', 'newer') // after the save: only the bridge knows
      await c1.close()
      await new Promise((r) => setTimeout(r, 300)) // the outbox sends it
      first.child.kill('SIGKILL')
      await first.exited
      const second = await start()
      children.push(second)
      const c2 = await LocalCachedClient.connect(second.socket)
      try {
        expect(await c2.get('own:t:1')).toBeNull()
        expect((await c2.get('own:t:2'))?.toString()).toBe('kept')
        expect(second.stderr()).not.toContain('host id in use')
      } finally {
        await c2.close()
      }
    }, 30_000)

    it("an origin that died without bye while B was down is a gap (at the replay's end when it fell silent before the save); one that lived on is not", async () => {
      const name = bridgeName()
      const snapshot = snapshotPath()
      const timeouts = { bridgeOriginTimeoutMs: 1000 }
      await host(name, 'A')
      const c = await spawnDaemon(engine.url(), name, 'C')
      children.push(c)
      let b = await host(name, 'B', { snapshot, ...timeouts })
      await eventually(async () => ((await b.stats()).bridgeReceived ?? 0) >= 10, 10_000)
      await b.client.put('dead:t:1', 'b')
      await stop(b)
      // A lives on; longer than the origin timeout passes with B down.
      await new Promise((r) => setTimeout(r, 1500))
      b = await host(name, 'B', { snapshot, ...timeouts })
      expect((await b.stats()).bridgeFlushes).toBe(0)
      expect((await b.client.get('dead:t:1'))?.toString()).toBe('b')
      await stop(b)
      // C dies without bye while B is down.
      c.child.kill('SIGKILL')
      await c.exited
      await new Promise((r) => setTimeout(r, 1500))
      b = await host(name, 'B', { snapshot, ...timeouts })
      // At the replay's end at the latest (or, if C's last heartbeats came after B's save,
      // within the origin timeout of them).
      await eventually(async () => (await b.stats()).bridgeFlushes === 1, 5000)
      expect(await b.client.get('dead:t:1')).toBeNull()
    }, 40_000)

    it('the engine no longer holds the position (trimmed): B drops what it loaded and says why', async () => {
      const name = bridgeName()
      const snapshot = snapshotPath()
      const a = await host(name, 'A', { bridgeRetention: 100 })
      let b = await host(name, 'B', { snapshot, bridgeRetention: 100 })
      await b.client.put('trim:t:1', 'b')
      await stop(b)
      for (let i = 0; i < 1000; i++) await a.client.invalidate(`trim:x:${i}`)
      await eventually(async () => ((await a.stats()).bridgeOutboxCurrent ?? 0) === 0)
      const lines: string[] = []
      b = await host(name, 'B', { snapshot, bridgeRetention: 100 }, lines)
      expect(await b.client.get('trim:t:1')).toBeNull()
      expect((await b.stats()).itemsCurrent).toBe(0)
      expect(lines.some((l) => l.includes('dropping the loaded snapshot: cannot replay from it'))).toBe(true)
    }, 30_000)

    it('a replay that cannot reach the engine\'s end within 10 s drops what was loaded, and the bridge goes on', async () => {
      const name = bridgeName()
      const snapshot = snapshotPath()
      const a = await host(name, 'A')
      let b = await host(name, 'B', { snapshot })
      await b.client.put('slow:t:1', 'b')
      await stop(b)
      for (let i = 0; i < 3000; i++) await a.client.invalidate(`slow:x:${i}`)
      await eventually(async () => ((await a.stats()).bridgeOutboxCurrent ?? 0) === 0)
      // B reaches the engine through a link that stops delivering replies once B is connected:
      // its replay reads nothing more.
      const link = await new CuttableTcpProxy(engine.port).listen()
      const lines: string[] = []
      const logDestination = {
        write(line: string) {
          lines.push(line)
          if (line.includes('"bridge connected"')) link.hold = true
        },
      }
      try {
        const started = Date.now()
        b = await startHost(kind === 'redis' ? `redis://127.0.0.1:${link.port}` : `nats://127.0.0.1:${link.port}`, name, 'B', { snapshot, logLevel: 'info', logDestination: logDestination as never })
        hosts.push(b)
        expect(Date.now() - started).toBeGreaterThanOrEqual(10_000)
        expect(lines.some((l) => l.includes('dropping the loaded snapshot: the replay did not reach the engine'))).toBe(true)
        link.release()
        expect(await b.client.get('slow:t:1')).toBeNull()
        // Once the link delivers again, B follows A as usual.
        await b.client.put('slow:t:2', 'b')
        await a.client.put('slow:t:2', 'a')
        await eventually(async () => (await b.client.get('slow:t:2')) === null, 10_000)
      } finally {
        await link.close()
      }
    }, 40_000)

    it('a snapshot from another bridge name, or from no bridge, is dropped', async () => {
      const snapshot = snapshotPath()
      let b = await host(bridgeName(), 'B', { snapshot })
      await b.client.put('other:t:1', 'b')
      await stop(b)
      const lines: string[] = []
      b = await host(bridgeName(), 'B', { snapshot }, lines)
      expect(await b.client.get('other:t:1')).toBeNull()
      expect(lines.some((l) => l.includes('saved on another bridge'))).toBe(true)
      await stop(b)

      const { serve } = await import('../ts/server/server')
      const { tempSocketPath } = await import('./helpers')
      const plain = await serve({ socket: tempSocketPath(), snapshot, logLevel: 'silent' })
      const c = await LocalCachedClient.connect(plain.socketPath!)
      await c.put('plain:t:1', 'v')
      await c.close()
      await plain.close()
      const lines2: string[] = []
      b = await host(bridgeName(), 'B', { snapshot }, lines2)
      expect(await b.client.get('plain:t:1')).toBeNull()
      expect(lines2.some((l) => l.includes('saved without a bridge'))).toBe(true)
    }, 30_000)
  })
}
