// Cross-host invalidation against real engines: three daemons (A, B, C) on one machine, each
// with its own socket, host id, near-cache client and subscriber, joined by Redis Streams and
// by NATS JetStream. What crosses, what does not, and how remote changes are applied.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Redis from 'ioredis'
import { eventually, requireTool, tempSocketPath } from './helpers'
import { Engine, type EngineKind } from './engines'
import { appliedAtLeast, bridgeName, primeNear, startHost, type Host } from './bridge-hosts'

const TOOLS: Record<EngineKind, 'redis-server' | 'nats-server'> = { redis: 'redis-server', nats: 'nats-server' }

for (const kind of ['redis', 'nats'] as const) {
  const tool = requireTool(TOOLS[kind])
  describe.skipIf(tool.skip)(tool.title(`bridge over ${kind}: what crosses`), () => {
    let engine: Engine
    let a: Host
    let b: Host
    let c: Host

    beforeAll(async () => {
      engine = await Engine.start(kind)
      const name = bridgeName()
      a = await startHost(engine.url(), name, 'A', { respSocket: tempSocketPath() })
      b = await startHost(engine.url(), name, 'B')
      c = await startHost(engine.url(), name, 'C', { metricsPort: 0 })
      // Each host has seen the others' heartbeats: every origin has its baseline.
      await eventually(async () => ((await b.stats()).bridgeReceived ?? 0) > 2 && ((await c.stats()).bridgeReceived ?? 0) > 2 && ((await a.stats()).bridgeReceived ?? 0) > 2)
    }, 30_000)

    afterAll(async () => {
      for (const h of [a, b, c]) await h?.close()
      await engine?.close()
    })

    it('a put on A drops the copies on B and C and in their near caches', async () => {
      const key = 'shop:item:1'
      const before = await Promise.all([a, b, c].map(async (h) => (await h.stats()).bridgeApplied ?? 0))
      // B's and C's own writes cross too; with equal versions each keeps its own copy.
      for (const h of [b, c]) await h.client.put(key, `local-${h.hostId}`, { version: 1 })
      await appliedAtLeast(a, before[0] + 2)
      await appliedAtLeast(b, before[1] + 1)
      await appliedAtLeast(c, before[2] + 1)
      for (const h of [b, c]) await primeNear(h, key)
      const applied = [((await b.stats()).bridgeApplied ?? 0) + 1, ((await c.stats()).bridgeApplied ?? 0) + 1]
      await a.client.put(key, 'new')
      await appliedAtLeast(b, applied[0])
      await appliedAtLeast(c, applied[1])
      for (const h of [b, c]) {
        expect(await h.client.get(key), h.hostId).toBeNull()
        // Near copies went with a push: this read goes to the daemon, which has nothing.
        expect(await h.near.get(key), h.hostId).toBeNull()
      }
      // Values never cross, and A keeps its own.
      expect((await a.client.get(key))?.toString()).toBe('new')
    })

    it('every kind of write crosses: del, invalidate, upsert, mset, incr', async () => {
      const keys = ['shop:k:del', 'shop:k:inv', 'shop:row:7', 'shop:k:m1', 'shop:k:m2', 'shop:k:n']
      for (const key of keys) await b.client.put(key, '1')
      const before = (await b.stats()).bridgeApplied ?? 0
      await a.client.del('shop:k:del') // absent on A: still crosses, B may hold it
      await a.client.invalidate('shop:k:inv')
      await a.client.tableChangedUpsert('shop', 'row', '7', 'v')
      await a.client.mset([['shop:k:m1', 'x'], ['shop:k:m2', 'y']])
      await a.client.incr('shop:k:n', 1)
      await appliedAtLeast(b, before + 6)
      expect(await b.client.exists(keys)).toBe(0)
    })

    it('a remote write does not remove an entry with an equal or newer version', async () => {
      const key = 'shop:ver:1'
      await b.client.put(key, 'v5', { version: 5 })
      await c.client.put(key, 'v2', { version: 2 })
      let applied = [(await b.stats()).bridgeApplied ?? 0, (await c.stats()).bridgeApplied ?? 0]
      await a.client.put(key, 'v3', { version: 3 })
      await appliedAtLeast(b, applied[0] + 1)
      await appliedAtLeast(c, applied[1] + 1)
      expect((await b.client.get(key))?.toString()).toBe('v5')
      expect(await c.client.get(key)).toBeNull()
      applied = [(await b.stats()).bridgeApplied ?? 0]
      await a.client.put(key, 'v5 too', { version: 5 })
      await appliedAtLeast(b, applied[0] + 1)
      expect((await b.client.get(key))?.toString()).toBe('v5')
      await a.client.put(key, 'v6', { version: 6 })
      await appliedAtLeast(b, applied[0] + 2)
      expect(await b.client.get(key)).toBeNull()
    })

    it('scoped invalidations and clear cross, and reach near caches', async () => {
      for (const key of ['sc:t:1', 'sc:t:2', 'sc:u:1', 'sc2:t:1', 'px:a:1', 'px:b:1']) await b.client.put(key, 'x')
      await primeNear(b, 'sc:t:1')
      let before = (await b.stats()).bridgeApplied ?? 0
      await a.client.invalidateTable('sc', 't')
      await appliedAtLeast(b, before + 1)
      expect(await b.client.exists(['sc:t:1', 'sc:t:2'])).toBe(0)
      expect(await b.near.get('sc:t:1')).toBeNull()
      expect(await b.client.exists(['sc:u:1', 'sc2:t:1'])).toBe(2)
      before = (await b.stats()).bridgeApplied ?? 0
      await a.client.invalidateService('sc')
      await a.client.invalidatePrefix('px:a:')
      await appliedAtLeast(b, before + 2)
      expect(await b.client.exists(['sc:u:1', 'px:a:1'])).toBe(0)
      expect(await b.client.exists(['sc2:t:1', 'px:b:1'])).toBe(2)
      await primeNear(b, 'px:b:1')
      before = (await b.stats()).bridgeApplied ?? 0
      await a.client.clear()
      await appliedAtLeast(b, before + 1)
      expect((await b.stats()).itemsCurrent).toBe(0)
      expect(await b.near.get('px:b:1')).toBeNull()
    })

    it('remote events reach subscribers iff the origin published, with origin added', async () => {
      const fromB = b.events.length
      const fromA = a.events.length
      await a.client.invalidate('ev:k:quiet') // --publish-default off here
      await a.client.invalidate('ev:k:loud', { publish: true })
      await a.client.tableChangedUpsert('ev', 'row', '1', 'v', { publish: true })
      await a.client.invalidateTable('ev', 'row', { publish: true })
      await a.client.clear({ publish: true })
      await eventually(() => b.events.slice(fromB).some((e) => e.type === 'flush'))
      expect(b.events.slice(fromB)).toEqual([
        { type: 'invalidate', key: 'ev:k:loud', origin: 'A' },
        { type: 'table_changed', key: 'ev:row:1', origin: 'A' },
        { type: 'invalidate_scope', scope: 'table', svc: 'ev', table: 'row', removed: 0, origin: 'A' },
        { type: 'flush', origin: 'A' },
      ])
      // Only remote-caused events carry origin.
      await eventually(() => a.events.slice(fromA).some((e) => e.type === 'flush'))
      expect(a.events.slice(fromA).every((e) => !('origin' in e))).toBe(true)
    })

    it('changes applied from the bridge are not sent again', async () => {
      const before = await Promise.all([a, b, c].map(async (h) => (await h.stats()).bridgeApplied ?? 0))
      await a.client.invalidate('echo:k:1')
      await appliedAtLeast(b, before[1] + 1)
      await appliedAtLeast(c, before[2] + 1)
      // Several heartbeats later, A has applied nothing: B and C did not echo it.
      await new Promise((r) => setTimeout(r, 300))
      expect((await a.stats()).bridgeApplied).toBe(before[0])
    })

    it('/metrics carries the lag of every applied change as a histogram in seconds', async () => {
      const before = (await c.stats()).bridgeApplied ?? 0
      for (let i = 0; i < 5; i++) await a.client.invalidate(`lag:t:${i}`)
      await appliedAtLeast(c, before + 5)
      const applied = (await c.stats()).bridgeApplied ?? 0
      const text = await (await fetch(`http://127.0.0.1:${c.server.metricsPort}/metrics`)).text()
      expect(text).toContain('# TYPE localcached_bridge_lag_seconds histogram')
      const sample = (re: RegExp) => [...text.matchAll(re)].map((m) => Number(m[1]))
      const count = sample(/^localcached_bridge_lag_seconds_count (\S+)$/gm)
      expect(count).toEqual([applied])
      const buckets = sample(/^localcached_bridge_lag_seconds_bucket\{le="[^"]+"\} (\S+)$/gm)
      expect(buckets.length).toBeGreaterThan(5)
      // Cumulative, and +Inf holds them all.
      expect(buckets).toEqual([...buckets].sort((x, y) => x - y))
      expect(text).toMatch(new RegExp(`^localcached_bridge_lag_seconds_bucket\\{le="\\+Inf"\\} ${applied}$`, 'm'))
      expect(sample(/^localcached_bridge_lag_seconds_sum (\S+)$/gm)[0]).toBeGreaterThanOrEqual(0)
    })

    it('stats and INFO report the bridge', async () => {
      const s = await b.stats()
      // Where B stands, as a snapshot would record it: the engine position and each origin's seq.
      const at = b.server.bridge!.position()
      expect(at).toMatchObject({ engine: kind, position: expect.any(String) })
      expect(at.origins.map((o) => o.hostId).sort()).toEqual(['A', 'C'])
      expect(s.bridgeConnected).toBe(1)
      expect(s.bridgePublished).toBeGreaterThan(0)
      expect(s.bridgeReceived).toBeGreaterThan(0)
      expect(s.bridgeGaps).toBe(0)
      expect(s.bridgeFlushes).toBe(0)
      expect(s.bridgeRejected).toBe(0)
      expect(s.bridgeLagMsP99).toBeGreaterThanOrEqual(0)
      expect(s.bridgeOutboxCurrent).toBeGreaterThanOrEqual(0)
      const redis = new Redis({ path: a.server.options.respSocket, lazyConnect: true, maxRetriesPerRequest: 0 })
      await redis.connect()
      try {
        const info = String(await redis.info('bridge'))
        expect(info).toMatch(/^# Bridge\r\n/)
        expect(info).toContain(`bridge_engine:${kind}\r\n`)
        expect(info).toContain('bridge_host_id:A\r\n')
        expect(info).toContain('bridge_connected:1\r\n')
      } finally {
        redis.disconnect()
      }
    })
  })
}
