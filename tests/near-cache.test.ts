// The near cache: hits in process, and a dropped copy on every kind of change, whatever the
// publish flag; the fill race; flushes on reset, lagged and missed heartbeats.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Redis from 'ioredis'
import { LocalCachedClient, serve, type DaemonServer, type NearInvalidation } from '../ts/index'
import { RawConnection, eventually, tempSocketPath } from './helpers'
import { HoldingProxy } from './proxy'

let server: DaemonServer
let socket: string
let respSocket: string
let writer: LocalCachedClient
let reader: LocalCachedClient

beforeAll(async () => {
  socket = tempSocketPath()
  respSocket = tempSocketPath()
  server = await serve({ socket, respSocket, logLevel: 'silent', publishDefault: false, maxBytes: 8 * 1024 * 1024, sweepIntervalMs: 20 })
  writer = await LocalCachedClient.connect(socket)
  reader = await LocalCachedClient.connect(socket, { nearCache: { maxBytes: 4 * 1024 * 1024 } })
})

afterAll(async () => {
  await reader.close()
  await writer.close()
  await server.close()
})

/** Reads `key` until it is held near (a second read is a near hit). */
async function prime(client: LocalCachedClient, key: string): Promise<void> {
  await client.get(key)
  const before = client.nearCacheStats().hits
  await client.get(key)
  expect(client.nearCacheStats().hits).toBe(before + 1)
}

/**
 * After a change is acknowledged, one round trip on the reader's own connection proves every
 * push sent before it was applied: pushes and replies share one ordered stream.
 */
async function afterPushes(client: LocalCachedClient): Promise<void> {
  await client.ping()
}

const text = (b: Buffer | null) => (b === null ? null : b.toString())

describe('near cache reads', () => {
  it('serves a second read in process, counts hits and misses, and never caches misses', async () => {
    await writer.put('near:r:1', 'v1')
    const s0 = reader.nearCacheStats()
    expect(text(await reader.get('near:r:1'))).toBe('v1')
    expect(text(await reader.get('near:r:1'))).toBe('v1')
    expect(await reader.get('near:r:none')).toBeNull()
    expect(await reader.get('near:r:none')).toBeNull()
    const s1 = reader.nearCacheStats()
    expect(s1.hits - s0.hits).toBe(1)
    expect(s1.misses - s0.misses).toBe(3)
    expect(s1.active).toBe(true)
    expect(s1.entries).toBeGreaterThanOrEqual(1)
    // A value that appears later is seen: misses are not remembered.
    await writer.put('near:r:none', 'now')
    expect(text(await reader.get('near:r:none'))).toBe('now')
  })

  it('concurrent misses of one key share one fetch and each caller gets its own Buffer', async () => {
    await writer.put('near:r:shared', 'abc')
    const [a, b] = await Promise.all([reader.get('near:r:shared'), reader.get('near:r:shared')])
    expect(text(a)).toBe('abc')
    expect(text(b)).toBe('abc')
    expect(a).not.toBe(b)
  })

  it('mget answers near hits in process and the rest from the daemon', async () => {
    await writer.mset([['near:m:1', 'a'], ['near:m:2', 'b']])
    await prime(reader, 'near:m:1')
    const hits = reader.nearCacheStats().hits
    expect((await reader.mget(['near:m:1', 'near:m:2', 'near:m:none'])).map(text)).toEqual(['a', 'b', null])
    expect(reader.nearCacheStats().hits).toBe(hits + 1)
  })

  it('nearCacheStats throws on a client without a near cache', () => {
    expect(() => writer.nearCacheStats()).toThrow(expect.objectContaining({ code: 'BadArgument' }))
  })
})

describe('coherence: every change drops the near copy, with publish off', () => {
  // The daemon runs with --publish-default off: none of these changes publishes an event.
  const changes: Array<[string, (key: string) => Promise<unknown>, string | null]> = [
    ['put', (k) => writer.put(k, 'new', { publish: false }), 'new'],
    ['put with ttl', (k) => writer.put(k, 'new', { ttlMs: 60_000 }), 'new'],
    ['tableChangedUpsert', (k) => writer.tableChangedUpsert('near', 'c', k.split(':')[2], 'new'), 'new'],
    ['del', (k) => writer.del(k), null],
    ['invalidate', (k) => writer.invalidate(k), null],
    ['mset', (k) => writer.mset([[k, 'new']]), 'new'],
    ['mdel', (k) => writer.mdel([k]), null],
    ['cas', (k) => writer.cas(k, 'old', 'new'), 'new'],
    ['invalidateTable', () => writer.invalidateTable('near', 'c'), null],
    ['invalidateService', () => writer.invalidateService('near'), null],
    ['invalidatePrefix', () => writer.invalidatePrefix('near:c:'), null],
    ['clear', () => writer.clear(), null],
  ]
  it.each(changes)('%s', async (_name, change, expected) => {
    const key = `near:c:${Math.random().toString(36).slice(2)}`
    await writer.put(key, 'old')
    await prime(reader, key)
    const before = reader.nearCacheStats()
    await change(key)
    await afterPushes(reader)
    expect(text(await reader.get(key))).toBe(expected)
    const after = reader.nearCacheStats()
    expect(after.invalidations + after.flushes).toBeGreaterThan(before.invalidations + before.flushes)
  })

  it('incr drops the copy', async () => {
    await writer.put('near:n:1', '41')
    await prime(reader, 'near:n:1')
    expect(await writer.incr('near:n:1')).toBe(42)
    await afterPushes(reader)
    expect(text(await reader.get('near:n:1'))).toBe('42')
  })

  it('a write over RESP drops the copy', async () => {
    const redis = new Redis({ path: respSocket, lazyConnect: true, maxRetriesPerRequest: 0 })
    await redis.connect()
    try {
      for (const [name, change, expected] of [
        ['SET', () => redis.set('near:resp:1', 'new'), 'new'],
        ['INCR', () => redis.incr('near:resp:1'), '8'],
        ['DEL', () => redis.del('near:resp:1'), null],
        ['EXPIRE', () => redis.pexpire('near:resp:1', 1), null],
        ['LC.INVALIDATETABLE', () => redis.call('LC.INVALIDATETABLE', 'near', 'resp'), null],
        ['FLUSHALL', () => redis.flushall(), null],
      ] as const) {
        await writer.put('near:resp:1', name === 'INCR' ? '7' : 'old')
        await prime(reader, 'near:resp:1')
        const drops = reader.nearCacheStats().invalidations
        await change()
        if (name === 'EXPIRE') {
          // PEXPIRE's own push drops the copy (checked first: the expiry below pushes again)...
          await afterPushes(reader)
          expect(reader.nearCacheStats().invalidations).toBeGreaterThan(drops)
          // ...and its 1 ms TTL runs out in the daemon before the reader reads again.
          await eventually(async () => (await writer.exists(['near:resp:1'])) === 0)
        }
        await afterPushes(reader)
        expect([name, text(await reader.get('near:resp:1'))]).toEqual([name, expected])
      }
    } finally {
      redis.disconnect()
    }
  })

  it('a dependency cascade drops the derived copy', async () => {
    await writer.put('near:d:base', 'b1')
    await writer.put('near:d:derived', 'from b1', { dependsOn: ['near:d:base'] })
    await prime(reader, 'near:d:derived')
    await writer.put('near:d:base', 'b2', { publish: false })
    await afterPushes(reader)
    expect(await reader.get('near:d:derived')).toBeNull()
  })

  it('expiry in the daemon bounds the near copy', async () => {
    await writer.put('near:e:1', 'short', { ttlMs: 150 })
    await prime(reader, 'near:e:1')
    // Gone by 250 ms, as before: the last check runs no earlier than that.
    await eventually(async () => (await reader.get('near:e:1')) === null, 250)
    expect(await reader.get('near:e:1')).toBeNull()
  })

  it('eviction in the daemon drops the near copy', async () => {
    const small = tempSocketPath()
    const tiny = await serve({ socket: small, logLevel: 'silent', maxBytes: 64 * 1024 })
    const w = await LocalCachedClient.connect(small)
    const r = await LocalCachedClient.connect(small, { nearCache: { maxBytes: 1024 * 1024 } })
    try {
      await w.put('near:ev:victim', 'first')
      await prime(r, 'near:ev:victim')
      // Priming read the victim, so SIEVE spares it for one pass of the hand; each filler is
      // read too, so the hand keeps going round and takes the victim, the oldest, next time.
      for (let i = 0; i < 200; i++) {
        await w.put(`near:ev:${i}`, Buffer.alloc(1024, 1))
        await w.get(`near:ev:${i}`)
      }
      expect(await w.get('near:ev:victim')).toBeNull() // evicted in the daemon
      await afterPushes(r)
      expect(await r.get('near:ev:victim')).toBeNull()
    } finally {
      await r.close()
      await w.close()
      await tiny.close()
    }
  })

  it('read-your-writes for the writing client', async () => {
    const own = await LocalCachedClient.connect(socket, { nearCache: { maxBytes: 1024 * 1024 } })
    try {
      for (let i = 0; i < 50; i++) {
        await own.put('near:ryw:1', String(i))
        expect(text(await own.get('near:ryw:1'))).toBe(String(i))
        expect(text(await own.get('near:ryw:1'))).toBe(String(i))
      }
    } finally {
      await own.close()
    }
  })
})

describe('the fill race, made deterministic with a proxy', () => {
  it('a key change pushed while a miss is in flight discards that fill', async () => {
    const proxy = await new HoldingProxy(socket).listen()
    // ttlMs 50: the near copy runs out while the daemon still tracks the key for this client.
    const pushes: NearInvalidation[] = []
    const near = await LocalCachedClient.connect(proxy.path, { nearCache: { maxBytes: 1024 * 1024, ttlMs: 50, onInvalidated: (p) => pushes.push(p) } })
    try {
      await writer.put('near:race:1', 'v1')
      await prime(near, 'near:race:1')
      await new Promise((r) => setTimeout(r, 80)) // past the near ttlMs: time running out is what drops the near copy (reading to check would refill it)
      // Hold the reader's fetch back; the change is pushed to it before the fetch is answered.
      proxy.holdRequests = true
      const missesBefore = near.nearCacheStats().misses
      const inFlight = near.get('near:race:1')
      await eventually(() => near.nearCacheStats().misses === missesBefore + 1) // it missed near: its fetch is in flight, held
      const before = near.nearCacheStats().discardedFills
      await writer.put('near:race:1', 'v2')
      // The push reaches the reader; the fetch is still held.
      await eventually(() => pushes.some((p) => 'keys' in p && p.keys.includes('near:race:1')))
      proxy.release()
      expect(text(await inFlight)).toBe('v2')
      expect(near.nearCacheStats().discardedFills).toBe(before + 1)
      // Not cached: the next read fetches again, and that fill (no change meanwhile) is kept.
      const misses = near.nearCacheStats().misses
      expect(text(await near.get('near:race:1'))).toBe('v2')
      expect(near.nearCacheStats().misses).toBe(misses + 1)
      await prime(near, 'near:race:1')
    } finally {
      await near.close()
      await proxy.close()
    }
  })

  it('a scoped invalidation pushed while a miss is in flight discards that fill', async () => {
    const proxy = await new HoldingProxy(socket).listen()
    const pushes: NearInvalidation[] = []
    const near = await LocalCachedClient.connect(proxy.path, { nearCache: { maxBytes: 1024 * 1024, onInvalidated: (p) => pushes.push(p) } })
    try {
      await writer.put('near:racet:1', 'v1')
      proxy.holdRequests = true
      const missesBefore = near.nearCacheStats().misses
      const inFlight = near.get('near:racet:1')
      await eventually(() => near.nearCacheStats().misses === missesBefore + 1) // it missed near: its fetch is in flight, held
      const before = near.nearCacheStats().discardedFills
      await writer.invalidateTable('near', 'racet')
      await writer.put('near:racet:1', 'v2')
      // The scoped push reaches the reader; the fetch is still held.
      await eventually(() => pushes.some((p) => 'scope' in p && p.scope === 'table' && p.svc === 'near' && p.table === 'racet'))
      proxy.release()
      expect(text(await inFlight)).toBe('v2')
      expect(near.nearCacheStats().discardedFills).toBe(before + 1)
    } finally {
      await near.close()
      await proxy.close()
    }
  })

  it('a change pushed behind the reply of an older read drops what that read filled', async () => {
    const proxy = await new HoldingProxy(socket).listen()
    const near = await LocalCachedClient.connect(proxy.path, { nearCache: { maxBytes: 1024 * 1024 } })
    try {
      await writer.put('near:race:3', 'old')
      // Hold the daemon's replies: the fetch is answered 'old', then the change is pushed
      // behind that answer; the reader sees both, in that order, when released.
      proxy.holdReplies = true
      const tracked = (await writer.stats()).trackingKeys!
      const inFlight = near.get('near:race:3')
      // The daemon has answered the fetch (it now tracks the key for this reader): the answer is 'old'.
      await eventually(async () => (await writer.stats()).trackingKeys! > tracked)
      await writer.put('near:race:3', 'new')
      proxy.release()
      expect(text(await inFlight)).toBe('old') // it started before the write was acknowledged
      await afterPushes(near)
      expect(text(await near.get('near:race:3'))).toBe('new')
      expect(text(await near.get('near:race:3'))).toBe('new')
    } finally {
      await near.close()
      await proxy.close()
    }
  })
})

describe('flushes', () => {
  it('a reconnect (reset) flushes the near cache, and it works again after', async () => {
    const proxy = await new HoldingProxy(socket).listen()
    const near = await LocalCachedClient.connect(proxy.path, { nearCache: { maxBytes: 1024 * 1024 }, reconnect: { initialDelayMs: 10 } })
    try {
      await writer.put('near:f:1', 'a')
      await prime(near, 'near:f:1')
      const flushes = near.nearCacheStats().flushes
      proxy.dropConnections()
      // It may be back within milliseconds (initialDelayMs 10): watch the flush, not the gap.
      await eventually(() => near.nearCacheStats().flushes === flushes + 1)
      expect(near.nearCacheStats().flushReasons.reset).toBe(1)
      expect(near.nearCacheStats().entries).toBe(0)
      expect(near.reconnects + (near.connected ? 0 : 1)).toBeGreaterThanOrEqual(1)
      await writer.put('near:f:1', 'b') // changed while the reader was away
      await eventually(() => near.connected && near.nearCacheStats().active)
      expect(text(await near.get('near:f:1'))).toBe('b')
      await prime(near, 'near:f:1')
    } finally {
      await near.close()
      await proxy.close()
    }
  })

  it('missed heartbeats flush and send reads to the daemon until the daemon is heard again', async () => {
    const fast = tempSocketPath()
    const daemon = await serve({ socket: fast, logLevel: 'silent', heartbeatMs: 40 })
    const proxy = await new HoldingProxy(fast).listen()
    const near = await LocalCachedClient.connect(proxy.path, { nearCache: { maxBytes: 1024 * 1024 } })
    const w = await LocalCachedClient.connect(fast)
    try {
      await w.put('near:hb:1', 'a')
      await prime(near, 'near:hb:1')
      const flushes = near.nearCacheStats().flushes
      proxy.holdReplies = true // the daemon goes quiet, as a stopped one would
      await eventually(() => !near.nearCacheStats().active, 2000)
      expect(near.nearCacheStats().flushes).toBe(flushes + 1)
      expect(near.nearCacheStats().flushReasons.silence).toBe(1)
      const read = near.get('near:hb:1') // not served near: it waits for the daemon
      await w.put('near:hb:1', 'b')
      proxy.release()
      expect(text(await read)).toBe('b')
      await eventually(() => near.nearCacheStats().active, 2000)
      await prime(near, 'near:hb:1')
    } finally {
      await near.close()
      await w.close()
      await proxy.close()
      await daemon.close()
    }
  })

  it('a reader whose socket backs up is sent one lagged flush instead of every push', async () => {
    const lagSocket = tempSocketPath()
    const daemon = await serve({ socket: lagSocket, logLevel: 'silent', maxPendingReplyBytes: 16 * 1024, maxBytes: 64 * 1024 * 1024 })
    const proxy = await new HoldingProxy(lagSocket).listen()
    const near = await LocalCachedClient.connect(proxy.path, { nearCache: { maxBytes: 32 * 1024 * 1024 } })
    const w = await LocalCachedClient.connect(lagSocket)
    const keys = Array.from({ length: 20_000 }, (_, i) => `near:lag:${'k'.repeat(40)}${i}`)
    try {
      for (let i = 0; i < keys.length; i += 1000) await w.mset(keys.slice(i, i + 1000).map((k) => [k, 'old'] as [string, string]))
      for (let i = 0; i < keys.length; i += 500) await Promise.all(keys.slice(i, i + 500).map((k) => near.get(k)))
      expect(near.nearCacheStats().entries).toBe(keys.length)
      proxy.holdReplies = true
      proxy.stallReplies = true // stop reading the daemon: its socket to the reader backs up
      for (let i = 0; i < keys.length; i += 1000) await w.mset(keys.slice(i, i + 1000).map((k) => [k, 'new'] as [string, string]))
      const flushes = near.nearCacheStats().flushes
      proxy.release()
      await afterPushes(near)
      expect(near.nearCacheStats().flushes).toBeGreaterThan(flushes)
      expect(near.nearCacheStats().flushReasons.lagged).toBeGreaterThanOrEqual(1)
      for (const k of [keys[0], keys[9999], keys[19_999]]) expect(text(await near.get(k))).toBe('new')
    } finally {
      await near.close()
      await w.close()
      await proxy.close()
      await daemon.close()
    }
  }, 30_000)
})

describe('tracking limits', () => {
  it('past --max-tracked-keys the oldest key is invalidated at its holder, so nothing is held untracked', async () => {
    const path = tempSocketPath()
    const daemon = await serve({ socket: path, logLevel: 'silent', maxTrackedKeys: 10 })
    const w = await LocalCachedClient.connect(path)
    const r = await LocalCachedClient.connect(path, { nearCache: { maxBytes: 1024 * 1024 } })
    try {
      for (let i = 0; i < 25; i++) await w.put(`near:lim:${i}`, `v${i}`)
      for (let i = 0; i < 25; i++) await r.get(`near:lim:${i}`)
      await afterPushes(r)
      expect(r.nearCacheStats().entries).toBe(10)
      // The ones still held are exactly the tracked ones: a change to each still reaches it.
      for (let i = 15; i < 25; i++) await w.put(`near:lim:${i}`, `w${i}`)
      await afterPushes(r)
      for (let i = 0; i < 25; i++) expect(text(await r.get(`near:lim:${i}`))).toBe(i >= 15 ? `w${i}` : `v${i}`)
    } finally {
      await r.close()
      await w.close()
      await daemon.close()
    }
  })

  it('GetWithMeta{track} without Track, and bad leases, get coded errors; the connection keeps serving', async () => {
    const raw = new RawConnection(socket)
    expect(await raw.hello()).toMatchObject({ type: 'HelloOk' })
    raw.send({ type: 'GetWithMeta', key: 'near:x:1', track: true })
    expect(await raw.nextMessage()).toMatchObject({ type: 'Err', code: 'BadRequest' })
    raw.send({ type: 'Lease', key: 'near:x:1', ttlMs: 0 })
    expect(await raw.nextMessage()).toMatchObject({ type: 'Err', code: 'BadRequest' })
    raw.send({ type: 'Lease', key: 'bad', ttlMs: 100 })
    expect(await raw.nextMessage()).toMatchObject({ type: 'Err', code: 'InvalidKey' })
    raw.send({ type: 'Lease', key: 'near:x:1', ttlMs: 100 })
    expect(await raw.nextMessage()).toMatchObject({ type: 'Bool', value: true })
    raw.send({ type: 'Track' })
    expect(await raw.nextMessage()).toMatchObject({ type: 'Ok' })
    await writer.put('near:x:1', 'v')
    raw.send({ type: 'GetWithMeta', key: 'near:x:1', track: true })
    expect(await raw.nextMessage()).toMatchObject({ type: 'Meta', version: null })
    await writer.put('near:x:1', 'w')
    expect(await raw.nextMessage()).toEqual({ type: 'Invalidated', keys: ['near:x:1'] })
    raw.destroy()
  })
})
