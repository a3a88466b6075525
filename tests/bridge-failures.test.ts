// The bridge when things go wrong, against real engines: daemons stopped politely or killed,
// a host id used twice, the engine restarted empty, a cut link (flush-on-reconnect and miss),
// an outbox overflow, and junk on the stream. A host either applies every remote change in
// order or knows that it missed some and flushes.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import Redis from 'ioredis'
import { connect as natsConnect } from '@nats-io/transport-node'
import { headers } from '@nats-io/nats-core'
import { eventually, requireTool } from './helpers'
import { Engine, type EngineKind } from './engines'
import { CuttableTcpProxy } from './tcp-proxy'
import { HEARTBEAT_MS, appliedAtLeast, bridgeName, primeNear, spawnDaemon, startHost, type ChildDaemon, type Host } from './bridge-hosts'
import type { ServeOptions } from '../ts/server/options'

const TOOLS: Record<EngineKind, 'redis-server' | 'nats-server'> = { redis: 'redis-server', nats: 'nats-server' }
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

for (const kind of ['redis', 'nats'] as const) {
  const tool = requireTool(TOOLS[kind])
  describe.skipIf(tool.skip)(tool.title(`bridge over ${kind}: failures`), () => {
    let engine: Engine
    const hosts: Host[] = []
    const children: ChildDaemon[] = []
    const proxies: CuttableTcpProxy[] = []

    const host = async (name: string, hostId: string, options: ServeOptions = {}, url = engine.url()) => {
      const h = await startHost(url, name, hostId, options)
      hosts.push(h)
      return h
    }
    const child = async (name: string, hostId: string, extra: string[] = []) => {
      const c = await spawnDaemon(engine.url(), name, hostId, extra)
      children.push(c)
      return c
    }
    const proxy = async () => {
      const p = await new CuttableTcpProxy(engine.port).listen()
      proxies.push(p)
      return p
    }
    const stat = async (h: Host, field: 'bridgeFlushes' | 'bridgeGaps' | 'bridgeRejected' | 'bridgeReceived' | 'bridgeConnected') => (await h.stats())[field] ?? 0
    /** Until `h` has read a heartbeat from each of `count` other hosts' messages at least `n` times. */
    const heard = (h: Host, n = 3) => eventually(async () => (await stat(h, 'bridgeReceived')) >= n, 10_000)

    beforeAll(async () => {
      engine = await Engine.start(kind)
    })

    afterEach(async () => {
      for (const c of children.splice(0)) if (c.child.exitCode === null) c.child.kill('SIGKILL')
      for (const h of hosts.splice(0)) await h.close()
      for (const p of proxies.splice(0)) await p.close()
    })

    afterAll(async () => {
      await engine?.close()
    })

    it('SIGTERM of A: no flush on B, even after its silence; a restart after bye is no gap either', async () => {
      const name = bridgeName()
      const b = await host(name, 'B', { bridgeOriginTimeoutMs: 600 })
      let a = await child(name, 'A')
      await heard(b)
      a.child.kill('SIGTERM')
      expect(await a.exited).toBe(0)
      expect(a.stderr()).toContain('bye sent')
      await sleep(1200)
      a = await child(name, 'A')
      const received = await stat(b, 'bridgeReceived')
      await eventually(async () => (await stat(b, 'bridgeReceived')) > received + 3)
      expect([await stat(b, 'bridgeGaps'), await stat(b, 'bridgeFlushes')]).toEqual([0, 0])
    }, 30_000)

    it('kill -9 of A, then its restart: B and C flush once', async () => {
      const name = bridgeName()
      const b = await host(name, 'B')
      const c = await host(name, 'C')
      const a = await child(name, 'A')
      await heard(b, 5)
      await heard(c, 5)
      await b.client.put('k9:t:1', 'b')
      await primeNear(b, 'k9:t:1')
      a.child.kill('SIGKILL')
      await a.exited
      await child(name, 'A')
      for (const h of [b, c]) await eventually(async () => (await stat(h, 'bridgeFlushes')) >= 1)
      await sleep(5 * HEARTBEAT_MS)
      for (const h of [b, c]) {
        expect(await stat(h, 'bridgeFlushes'), h.hostId).toBe(1)
        expect(h.events.filter((e) => e.type === 'flush'), h.hostId).toEqual([{ type: 'flush', reason: 'bridge_gap' }])
      }
      expect(await b.client.get('k9:t:1')).toBeNull()
      expect(b.near.nearCacheStats().flushReasons.bridge_gap).toBe(1)
    }, 30_000)

    it('a second daemon started with a host id already in use exits 1; the first keeps running', async () => {
      const name = bridgeName()
      const first = await child(name, 'same')
      await sleep(3 * HEARTBEAT_MS)
      const second = await child(name, 'same')
      expect(await second.exited).toBe(1)
      expect(second.stderr()).toContain('host id in use')
      await sleep(3 * HEARTBEAT_MS)
      expect(first.child.exitCode).toBeNull()
    }, 30_000)

    it('malformed and foreign messages are counted and ignored; an unreadable one from a known host is a gap', async () => {
      const name = bridgeName()
      const a = await host(name, 'A')
      const b = await host(name, 'B')
      await heard(b)
      const junk: Array<{ hostId?: string; body: string }> = [
        { body: 'not json' },
        { hostId: 'X', body: '{"v":99,"hostId":"X"}' },
        { hostId: 'Y', body: JSON.stringify({ v: 1, hostId: 'Y', epoch: 'e', seq: 0, start: 1, ts: 1, kind: 'write', key: 'a:b:c' }) },
        { hostId: 'Z', body: JSON.stringify({ v: 1, hostId: 'Z', epoch: 'e', seq: 1, start: 1, ts: 1, kind: 'teleport' }) },
        { hostId: 'W', body: JSON.stringify({ v: 1, hostId: 'other', epoch: 'e', seq: 1, start: 1, ts: 1, kind: 'heartbeat' }) },
      ]
      await writeRaw(engine, name, junk)
      await eventually(async () => (await stat(b, 'bridgeRejected')) >= junk.length)
      expect([await stat(b, 'bridgeGaps'), await stat(b, 'bridgeFlushes')]).toEqual([0, 0])
      // Still applying A's changes.
      await b.client.put('junk:t:1', 'x')
      const applied = (await b.stats()).bridgeApplied ?? 0
      await a.client.invalidate('junk:t:1')
      await appliedAtLeast(b, applied + 1)
      expect(await b.client.get('junk:t:1')).toBeNull()
      // From A, whose messages B follows, an unreadable message may have been a change.
      await writeRaw(engine, name, [{ hostId: 'A', body: '\u0000garbage' }])
      await eventually(async () => (await stat(b, 'bridgeFlushes')) === 1)
      expect(await stat(b, 'bridgeGaps')).toBe(1)
      // A's next messages are B's new baseline: no second flush.
      await sleep(5 * HEARTBEAT_MS)
      expect(await stat(b, 'bridgeFlushes')).toBe(1)
    }, 30_000)

    it('outbox overflow: the origin keeps its store, receivers flush', async () => {
      const name = bridgeName()
      const link = await proxy()
      const a = await host(name, 'A', { bridgeOutbox: 20 }, engine.url(link.port))
      const b = await host(name, 'B')
      await heard(b)
      await b.client.put('ov:t:1', 'b')
      link.cut()
      for (let i = 0; i < 60; i++) await a.client.put(`ov:t:${i}`, 'a')
      expect(await a.client.exists([...Array(60).keys()].map((i) => `ov:t:${i}`))).toBe(60)
      link.restore()
      await eventually(async () => (await stat(b, 'bridgeFlushes')) >= 1, 10_000)
      expect(await b.client.get('ov:t:1')).toBeNull()
      expect(b.events).toContainEqual({ type: 'flush', reason: 'bridge_gap' })
      expect(await a.client.exists(['ov:t:0', 'ov:t:59'])).toBe(2)
    }, 30_000)

    it('a cut link that loses nothing: B catches up on reconnect without a flush', async () => {
      const name = bridgeName()
      const link = await proxy()
      const a = await host(name, 'A')
      const b = await host(name, 'B', {}, engine.url(link.port))
      await heard(b)
      await b.client.put('cut:t:1', 'b')
      await primeNear(b, 'cut:t:1')
      link.cut()
      await eventually(async () => (await stat(b, 'bridgeConnected')) === 0, 5000)
      await a.client.put('cut:t:1', 'a')
      link.restore()
      await eventually(async () => (await b.client.get('cut:t:1')) === null, 10_000)
      expect(await b.near.get('cut:t:1')).toBeNull()
      await eventually(async () => (await stat(b, 'bridgeConnected')) === 1)
      expect(await stat(b, 'bridgeFlushes')).toBe(0)
    }, 30_000)

    it('a cut link while the stream is trimmed past B: B flushes on reconnect', async () => {
      const name = bridgeName()
      const link = await proxy()
      const a = await host(name, 'A', { bridgeRetention: 100 })
      const b = await host(name, 'B', { bridgeRetention: 100 }, engine.url(link.port))
      await heard(b)
      await b.client.put('trim:t:1', 'b')
      link.cut()
      await eventually(async () => (await stat(b, 'bridgeConnected')) === 0, 5000)
      for (let i = 0; i < 1000; i++) await a.client.invalidate(`trim:x:${i}`)
      await eventually(async () => ((await a.stats()).bridgeOutboxCurrent ?? 0) === 0)
      link.restore()
      await eventually(async () => (await stat(b, 'bridgeFlushes')) >= 1, 10_000)
      expect(await b.client.get('trim:t:1')).toBeNull()
    }, 30_000)

    it('--bridge-offline miss: past the max staleness reads miss and near caches flush, until contact returns', async () => {
      const name = bridgeName()
      const link = await proxy()
      await host(name, 'A')
      const b = await host(name, 'B', { bridgeOffline: 'miss', bridgeMaxStalenessMs: 400 }, engine.url(link.port))
      await heard(b)
      await b.client.put('miss:t:1', 'b')
      await primeNear(b, 'miss:t:1')
      link.cut()
      await eventually(async () => (await b.client.get('miss:t:1')) === null, 5000)
      expect(b.near.nearCacheStats().flushReasons.bridge_offline).toBe(1)
      expect(await b.near.get('miss:t:1')).toBeNull()
      link.restore()
      await eventually(async () => (await b.client.get('miss:t:1'))?.toString() === 'b', 10_000)
    }, 30_000)

    it('the engine restarted empty: every host flushes, near caches and subscribers are told, and changes cross again', async () => {
      const name = bridgeName()
      const a = await host(name, 'A')
      const b = await host(name, 'B')
      await heard(b)
      await b.client.put('rs:t:1', 'b')
      await primeNear(b, 'rs:t:1')
      await engine.restart(true)
      await eventually(async () => (await stat(b, 'bridgeFlushes')) >= 1, 15_000)
      expect(await b.client.get('rs:t:1')).toBeNull()
      expect(b.near.nearCacheStats().flushReasons.bridge_gap).toBeGreaterThanOrEqual(1)
      expect(b.events).toContainEqual({ type: 'flush', reason: 'bridge_gap' })
      await eventually(async () => (await stat(b, 'bridgeConnected')) === 1 && (await stat(a, 'bridgeConnected')) === 1, 15_000)
      await b.client.put('rs:t:2', 'b')
      await eventually(async () => {
        await a.client.invalidate('rs:t:2')
        await sleep(50)
        return (await b.client.get('rs:t:2')) === null
      }, 15_000)
    }, 45_000)
  })
}

/** Writes bodies straight into the bridge's stream, as a stranger (or a broken host) would. */
async function writeRaw(engine: Engine, name: string, messages: Array<{ hostId?: string; body: string }>): Promise<void> {
  if (engine.kind === 'redis') {
    const redis = new Redis(engine.url(), { lazyConnect: true })
    await redis.connect()
    try {
      for (const m of messages) {
        if (m.hostId === undefined) await redis.xadd(`localcached:bridge:${name}`, '*', 'm', m.body)
        else await redis.xadd(`localcached:bridge:${name}`, '*', 'h', m.hostId, 'm', m.body)
      }
    } finally {
      redis.disconnect()
    }
    return
  }
  const { jetstream } = await import('@nats-io/jetstream')
  const nc = await natsConnect({ servers: `127.0.0.1:${engine.port}` })
  try {
    const js = jetstream(nc)
    for (const m of messages) {
      const h = headers()
      if (m.hostId !== undefined) h.set('h', m.hostId)
      await js.publish(`localcached.${name}.m`, m.body, { headers: h })
    }
  } finally {
    await nc.close()
  }
}
