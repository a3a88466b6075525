// The shared second tier against real redis-servers: three hosts joined by a bridge, each
// reaching one L2 redis-server through a proxy of its own that the test can hold or cut.
// What is filled from L2, what removes it there, the fill rule, and the fleet riding out an
// L2 outage (a cut link, a killed Redis) without a client ever seeing an L2 error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Redis from 'ioredis'
import { LocalCachedClient } from '../ts/index'
import { eventually, requireTool, tempSocketPath } from './helpers'
import type { Engine } from './engines'
import { appliedAtLeast, primeNear, type Host } from './bridge-hosts'
import { scriptCalls, startL2Fleet, type L2Fleet, type L2Link } from './l2-hosts'

const tool = requireTool('redis-server')

describe.skipIf(tool.skip)(tool.title('L2 on Redis'), () => {
  let fleet: L2Fleet
  let l2: Engine
  let redis: Redis
  let links: L2Link[]
  let a: Host
  let b: Host
  let c: Host
  let respB: Redis
  let extraA: LocalCachedClient
  /** Stats of A on a connection of their own: a connection's requests wait behind its L2 reads. */
  let statsA: LocalCachedClient

  const applied = async (h: Host) => (await h.stats()).bridgeApplied ?? 0
  /** Waits until every host but `origin` applied the change made since `before`. */
  const crossed = async (before: number[], origin: Host) => {
    await Promise.all([a, b, c].map((h, i) => (h === origin ? undefined : appliedAtLeast(h, before[i] + 1))))
  }
  const positions = () => Promise.all([a, b, c].map(applied))

  beforeAll(async () => {
    const respSocket = tempSocketPath()
    fleet = await startL2Fleet([{}, { respSocket }, {}])
    ;({ l2, redis, links } = fleet)
    ;[a, b, c] = fleet.hosts
    respB = new Redis({ path: respSocket })
    extraA = await LocalCachedClient.connect(a.socket)
    statsA = await LocalCachedClient.connect(a.socket)
    await eventually(async () => (await Promise.all([a, b, c].map(async (h) => (await h.stats()).bridgeReceived ?? 0))).every((n) => n > 2))
  }, 30_000)

  afterAll(async () => {
    respB?.disconnect()
    await extraA?.close()
    await statsA?.close()
    await fleet?.close()
  })

  it('a value written on A is served on B from L2, with its version and remaining TTL', async () => {
    const key = 'shop:item:1'
    const before = await positions()
    await a.client.put(key, 'v1', { ttlMs: 60_000, version: 3 })
    await appliedAtLeast(b, before[1] + 1)
    const hits = (await b.stats()).l2Hits ?? 0
    const meta = await b.client.getWithMeta(key)
    expect(meta?.value.toString()).toBe('v1')
    expect(meta?.version).toBe(3)
    expect(meta!.ttlMs!).toBeGreaterThan(50_000)
    expect(meta!.ttlMs!).toBeLessThanOrEqual(60_000)
    expect((await b.stats()).l2Hits).toBe(hits + 1)
    // Filled: the next read is local.
    expect((await b.client.get(key))?.toString()).toBe('v1')
    expect((await b.stats()).l2Hits).toBe(hits + 1)
  })

  it('RESP reads fill from L2 too, and pipelined replies keep their order behind an L2 read', async () => {
    const before = await positions()
    await a.client.put('shop:resp:1', 'from-a')
    await appliedAtLeast(b, before[1] + 1)
    const results = await respB.pipeline().get('shop:resp:1').set('shop:resp:2', 'x').get('shop:resp:2').mget('shop:resp:1', 'shop:resp:none').exec()
    expect(results!.map(([, r]) => r)).toEqual(['from-a', 'OK', 'x', ['from-a', null]])
  })

  it('an invalidation on B removes the value from L2 and from A, near cache included', async () => {
    const key = 'shop:item:2'
    await a.client.put(key, 'v')
    await primeNear(a, key)
    const before = await positions()
    await b.client.invalidate(key)
    await appliedAtLeast(a, before[0] + 1)
    expect(await a.near.get(key)).toBeNull()
    expect(await a.client.get(key)).toBeNull()
    expect(await c.client.get(key)).toBeNull()
  })

  it('versions hold across hosts: L2 refuses an older versioned write, as the local store does', async () => {
    const key = 'shop:ver:1'
    let before = await positions()
    await a.client.put(key, 'v5', { version: 5 })
    await crossed(before, a)
    before = await positions()
    await b.client.put(key, 'v3', { version: 3 }) // B held nothing: stored there, refused in L2
    await appliedAtLeast(c, before[2] + 1)
    expect((await c.client.getWithMeta(key))?.version).toBe(5)
    await expect(c.client.put(key, 'v4', { version: 4 })).rejects.toMatchObject({ code: 'VersionConflict' })
  })

  it('scoped invalidations and clear reach L2 in one bump each', async () => {
    const keys = ['shop:t1:1', 'shop:t2:1', 'other:t:1']
    for (const key of keys) await a.client.put(key, 'x')
    await b.client.invalidateTable('shop', 't1')
    expect(await c.client.get('shop:t1:1')).toBeNull()
    expect((await c.client.get('shop:t2:1'))?.toString()).toBe('x')
    expect(await redis.get(`lc:${b.server.options.bridge!.name}:gen:t:shop:t1`)).toBe('1')
    await b.client.invalidatePrefix('shop:t2:')
    await b.client.invalidate('shop:t2:1') // drops C's fill; L2 already has nothing under the new generation
    expect(await c.client.get('shop:t2:1')).toBeNull()
    expect((await a.client.get('other:t:1'))?.toString()).toBe('x')
    await b.client.clear()
    await eventually(async () => (await a.client.get('other:t:1')) === null)
    expect(await c.client.get('other:t:1')).toBeNull()
  })

  it('concurrent misses of a key share one L2 read, and mget asks for all its misses at once', async () => {
    const keys = ['shop:share:1', 'shop:share:2', 'shop:share:3']
    const before = await positions()
    for (const key of keys) await b.client.put(key, key)
    await appliedAtLeast(a, before[0] + 3)
    links[0].hold = true
    const scripts = await scriptCalls(redis)
    const misses = (await statsA.stats()).getMisses
    const reads = [a.client.get(keys[0]), a.near.get(keys[0]), extraA.get(keys[0])]
    await eventually(async () => (await statsOf(a)).getMisses >= misses + 3)
    links[0].release()
    expect((await Promise.all(reads)).map(String)).toEqual([keys[0], keys[0], keys[0]])
    expect(await scriptCalls(redis)).toBe(scripts + 1)
    expect((await a.client.mget(keys)).map(String)).toEqual(keys)
    expect(await scriptCalls(redis)).toBe(scripts + 2)
  })

  it('a change arriving while the L2 read is in flight discards the fill; a tracking reader is told after its reply', async () => {
    const key = 'shop:race:1'
    const before = await positions()
    await b.client.put(key, 'old')
    await appliedAtLeast(a, before[0] + 1)
    links[0].hold = true
    const misses = (await statsA.stats()).getMisses
    const nearRead = a.near.get(key) // GetWithMeta{track}: a local miss, its L2 read held
    await eventually(async () => (await statsOf(a)).getMisses > misses)
    const write = extraA.put(key, 'new') // applied locally now; its own L2 step is held too
    await eventually(async () => (await statsOf(a)).putCalls > 0 && (await a.client.get(key))?.toString() === 'new')
    links[0].release()
    expect((await nearRead)?.toString()).toBe('old') // answered with what L2 held when it asked
    await write
    expect((await a.client.get(key))?.toString()).toBe('new') // the fill did not overwrite it
    // The Invalidated that followed the reply dropped the near copy: the next read asks again.
    await eventually(async () => (await a.near.get(key))?.toString() === 'new')
  })

  it('a cut link to L2: writes and reads fall back to local, the breaker opens, receivers repair L2, and the fleet repairs it on return', async () => {
    const key = 'shop:cut:1'
    let before = await positions()
    await a.client.put(key, 'old')
    await crossed(before, a)
    const s0 = await a.stats()
    for (const link of links) link.cut()
    // Reads first: five failures in a row open the breaker; then L2 is not tried at all.
    for (let i = 0; i < 5; i++) expect(await a.client.get(`shop:cut:missing${i}`)).toBeNull()
    const s1 = await a.stats()
    expect(s1.l2Errors!).toBeGreaterThanOrEqual(s0.l2Errors! + 5)
    expect(s1.l2BreakerOpen).toBe(1)
    expect(await a.client.mget(['shop:cut:missing9', 'shop:cut:missing10'])).toEqual([null, null])
    const s2 = await a.stats()
    expect(s2.l2Errors).toBe(s1.l2Errors)
    expect(s2.l2Fallbacks!).toBeGreaterThan(s1.l2Fallbacks!)
    before = await positions()
    await a.client.put(key, 'new') // acknowledged: applied locally, announced l2Failed
    expect((await a.client.get(key))?.toString()).toBe('new')
    await crossed(before, a)
    // B and C dropped their copies; L2 still holds 'old', but nobody reads it from there.
    for (const h of [b, c]) expect(await h.client.get(key)).toBeNull()
    expect(await redis.keys('*shop:cut:1')).toHaveLength(1) // the stale entry, until L2 is reachable
    for (const link of links) link.restore()
    // Each host removes what L2 missed once it answers again.
    await eventually(async () => (await redis.keys('*shop:cut:1')).length === 0, 10_000)
    for (const h of [b, c]) expect(await h.client.get(key)).toBeNull()
    // And L2 serves again, once A's connection to it is back.
    await eventually(async () => {
      const at = await positions()
      await a.client.put('shop:cut:2', 'back')
      await appliedAtLeast(b, at[1] + 1)
      return (await b.client.get('shop:cut:2'))?.toString() === 'back'
    }, 10_000, 100)
  }, 30_000)

  it('Redis killed and restarted: clients see no L2 error, counters move, L2 serves again', async () => {
    const s0 = await a.stats()
    await l2.stop('SIGKILL')
    await a.client.put('shop:kill:1', 'local')
    expect((await a.client.get('shop:kill:1'))?.toString()).toBe('local')
    expect(await b.client.get('shop:kill:1')).toBeNull()
    expect(await b.client.mget(['shop:kill:2', 'shop:kill:3'])).toEqual([null, null])
    const s1 = await a.stats()
    expect(s1.l2Fallbacks! + s1.l2Errors!).toBeGreaterThan(s0.l2Fallbacks! + s0.l2Errors!)
    await l2.restart(true)
    redis.disconnect()
    redis = new Redis(l2.port, '127.0.0.1')
    await eventually(async () => {
      const before = await positions()
      await a.client.put('shop:kill:4', 'again')
      await appliedAtLeast(b, before[1] + 1)
      return (await b.client.get('shop:kill:4'))?.toString() === 'again'
    }, 15_000, 200)
  }, 30_000)

  it('INFO and the stats carry the L2 fields', async () => {
    const info = await respB.info('l2')
    expect(info).toMatch(/l2_enabled:1/)
    expect(info).toMatch(/l2_hits:\d+/)
    const s = await b.stats()
    for (const f of ['l2Hits', 'l2Misses', 'l2Errors', 'l2Fallbacks', 'l2BreakerOpen', 'l2LeasesGranted', 'l2LeasesRefused', 'l2LeasesExpired'] as const) expect(typeof s[f], f).toBe('number')
    expect(s.l2LeasesGranted).toBe(0)
  })

  async function statsOf(h: Host) {
    return h === a ? statsA.stats() : h.stats()
  }
})
