import { DAEMON_STATS_FIELDS, STATS_FIELDS } from '../ts/stats'
import { afterEach, describe, expect, it } from 'vitest'
import type { CacheEvent } from '../ts/index'
import { RawConnection, eventually, rejection, startDaemon, type TestDaemon } from './helpers'

let daemon: TestDaemon | undefined
afterEach(async () => {
  await daemon?.close()
  daemon = undefined
})


describe('daemon requests', () => {
  it('answers ping and reports its version and limits in the handshake', async () => {
    daemon = await startDaemon({ maxValueBytes: 4096 })
    await daemon.client.ping()
    expect(daemon.client.serverVersion).toMatch(/^\d+\.\d+\.\d+/)
    expect(daemon.client.limits).toEqual({ maxFrameBytes: 4096 + 64 * 1024, maxValueBytes: 4096, maxKeyBytes: 250, heartbeatMs: 1000 })
  })

  it('puts and gets Buffers, Uint8Arrays and strings; a miss is null', async () => {
    daemon = await startDaemon()
    const c = daemon.client
    await c.put('a:b:1', Buffer.from([0, 1, 2, 255]))
    await c.put('a:b:2', new Uint8Array([9, 8]))
    await c.put('a:b:3', 'tëxt')
    expect([...(await c.get('a:b:1'))!]).toEqual([0, 1, 2, 255])
    expect([...(await c.get('a:b:2'))!]).toEqual([9, 8])
    expect((await c.get('a:b:3'))!.toString()).toBe('tëxt')
    expect(await c.get('a:b:404')).toBeNull()
  })

  it('del replies whether the key existed', async () => {
    daemon = await startDaemon()
    await daemon.client.put('a:b:1', 'v')
    expect(await daemon.client.del('a:b:1')).toBe(true)
    expect(await daemon.client.del('a:b:1')).toBe(false)
  })

  it('answers bad keys, oversized values and bad TTLs with coded errors and keeps serving', async () => {
    daemon = await startDaemon({ maxValueBytes: 1000 })
    const c = daemon.client
    expect((await rejection(c.put('bad key', 'v'))).code).toBe('InvalidKey')
    expect((await rejection(c.get('a:b'))).code).toBe('InvalidKey')
    expect((await rejection(c.put('a:b:c', Buffer.alloc(1001)))).code).toBe('ValueTooLarge')
    expect((await rejection(c.tableChangedUpsert('a', 'b:c', 'd', 'v'))).code).toBe('InvalidKey')
    // The client refuses a bad TTL itself, as NativeStore does (BadArgument); the daemon still
    // answers the same request on the wire with BadRequest and keeps the connection.
    expect((await rejection(c.put('a:b:c', 'v', { ttlMs: 0 }))).code).toBe('BadArgument')
    expect((await rejection(c.put('a:b:c', 'v', { ttlMs: 1.5 }))).code).toBe('BadArgument')
    const raw = new RawConnection(daemon.socket)
    await raw.hello()
    for (const ttlMs of [0, 1.5]) {
      raw.send({ type: 'Put', key: 'a:b:c', value: Buffer.from('v'), ttlMs })
      expect(await raw.nextMessage()).toMatchObject({ type: 'Err', code: 'BadRequest' })
    }
    raw.send({ type: 'Ping' })
    expect(await raw.nextMessage()).toMatchObject({ type: 'Pong' })
    raw.destroy()
    await c.ping()
    expect(await c.get('a:b:c')).toBeNull()
  })

  it('expires entries by TTL', async () => {
    daemon = await startDaemon()
    await daemon.client.put('a:b:1', 'v', { ttlMs: 30 })
    expect((await daemon.client.get('a:b:1'))?.toString()).toBe('v')
    // Gone by 60 ms (twice its TTL), as before: the last check runs no earlier than that.
    await eventually(async () => (await daemon!.client.get('a:b:1')) === null, 60)
    expect(await daemon.client.get('a:b:1')).toBeNull()
  })

  it("returns the core's stats layout with the daemon's fields filled and appended, and the counters users rely on", async () => {
    daemon = await startDaemon({ maxBytes: 1 << 20 })
    const c = daemon.client
    await c.put('a:b:1', 'v')
    await c.get('a:b:1')
    await c.get('a:b:2')
    await c.del('a:b:1')
    await c.invalidate('a:b:3')
    await c.tableChangedUpsert('s', 't', 'p', 'v')
    const bin = await c.statsBinary()
    expect(bin.subarray(0, 4).toString()).toBe('LCST')
    // Version 1: the core's 23 fields, then the daemon's, then the per-service section.
    expect(bin.readUInt16LE(4)).toBe(1)
    expect(bin.readUInt16LE(6)).toBe(STATS_FIELDS.length + DAEMON_STATS_FIELDS.length)
    const sub = await c.subscribe()
    await c.invalidate('a:b:4')
    const s = await c.stats()
    expect(s).toMatchObject({ getCalls: 2, getHits: 1, getMisses: 1, putCalls: 1, delCalls: 1, invalidateCalls: 2, tableChangedUpsertCalls: 1, itemsCurrent: 1, bytesMax: 1 << 20 })
    // Fields the daemon owns: one subscriber, the events published to it, no tracking or leases.
    expect(s).toMatchObject({ subscribersCurrent: 1, eventsPublished: 1, eventsDropped: 0, laggedNotices: 0, trackingClients: 0, leasesCurrent: 0 })
    expect(Object.keys(s.bySvc).sort()).toEqual(['a', 's'])
    await sub.close()
  })

  it('pipelines concurrent calls over one connection and answers them in order', async () => {
    daemon = await startDaemon()
    const c = daemon.client
    const results = await Promise.all(
      Array.from({ length: 500 }, async (_, i) => {
        await c.put(`p:q:${i}`, String(i))
        return (await c.get(`p:q:${i}`))!.toString()
      }),
    )
    expect(results).toEqual(Array.from({ length: 500 }, (_, i) => String(i)))
  })
})

describe('events and publishing', () => {
  /** The next `n` events. (Not for-await with break: leaving that loop closes the subscription.) */
  async function collect(sub: AsyncIterator<CacheEvent>, n: number): Promise<CacheEvent[]> {
    const out: CacheEvent[] = []
    while (out.length < n) {
      const r = await sub.next()
      if (r.done) break
      out.push(r.value)
    }
    return out
  }

  it('publishes invalidate for Del (only if the key existed) and for Invalidate (always)', async () => {
    daemon = await startDaemon()
    const c = daemon.client
    const sub = await c.subscribe()
    await c.put('a:b:1', 'v')
    expect(await c.del('a:b:1')).toBe(true)
    expect(await c.del('a:b:1')).toBe(false)
    await c.invalidate('a:b:never')
    await c.put('a:b:marker', 'v', { publish: true })
    await c.invalidate('a:b:marker')
    expect(await collect(sub, 3)).toEqual([
      { type: 'invalidate', key: 'a:b:1' },
      { type: 'invalidate', key: 'a:b:never' },
      { type: 'invalidate', key: 'a:b:marker' },
    ])
  })

  it('TableChangedUpsert publishes evictions it caused, then table_changed', async () => {
    // Room for two ~600-byte entries (and their table's group); the third pushes the oldest out.
    daemon = await startDaemon({ maxBytes: 1700, shards: 1 })
    const c = daemon.client
    const sub = await c.subscribe()
    await c.put('shop:orders:1', Buffer.alloc(600))
    await c.put('shop:orders:2', Buffer.alloc(600))
    await c.tableChangedUpsert('shop', 'orders', '3', Buffer.alloc(600))
    expect(await collect(sub, 2)).toEqual([
      { type: 'evicted', key: 'shop:orders:1', reason: 'memory_pressure' },
      { type: 'table_changed', key: 'shop:orders:3' },
    ])
    expect((await c.get('shop:orders:3'))?.length).toBe(600)
  })

  it('Put publishes evicted{memory_pressure} for what it pushed out, and nothing else', async () => {
    daemon = await startDaemon({ maxBytes: 1700, shards: 1 })
    const c = daemon.client
    const sub = await c.subscribe()
    await c.put('a:b:1', Buffer.alloc(600))
    await c.put('a:b:2', Buffer.alloc(600))
    await c.put('a:b:3', Buffer.alloc(600))
    await c.invalidate('a:b:end')
    expect(await collect(sub, 2)).toEqual([
      { type: 'evicted', key: 'a:b:1', reason: 'memory_pressure' },
      { type: 'invalidate', key: 'a:b:end' },
    ])
  })

  it('a request can turn publishing off when the default is on', async () => {
    daemon = await startDaemon({ maxBytes: 1700, shards: 1 })
    const c = daemon.client
    const sub = await c.subscribe()
    await c.put('a:b:1', Buffer.alloc(600))
    await c.put('a:b:2', Buffer.alloc(600))
    await c.put('a:b:3', Buffer.alloc(600), { publish: false })
    await c.del('a:b:2', { publish: false })
    await c.invalidate('a:b:x', { publish: false })
    await c.tableChangedUpsert('a', 'b', 'y', 'v', { publish: false })
    await c.invalidate('a:b:end')
    expect(await collect(sub, 1)).toEqual([{ type: 'invalidate', key: 'a:b:end' }])
  })

  it('with --publish-default off, only requests that ask publish', async () => {
    daemon = await startDaemon({ publishDefault: false, maxBytes: 1700, shards: 1 })
    const c = daemon.client
    const sub = await c.subscribe()
    await c.put('a:b:1', Buffer.alloc(600))
    await c.put('a:b:2', Buffer.alloc(600))
    await c.put('a:b:3', Buffer.alloc(600)) // evicts a:b:1 silently
    await c.invalidate('a:b:quiet')
    await c.tableChangedUpsert('a', 'b', 'quiet', 'v')
    await c.put('a:b:4', Buffer.alloc(600), { publish: true }) // evicts, and says so
    await c.invalidate('a:b:loud', { publish: true })
    const events = await collect(sub, 2)
    expect(events[0]).toMatchObject({ type: 'evicted', reason: 'memory_pressure' })
    expect(events[1]).toEqual({ type: 'invalidate', key: 'a:b:loud' })
  })

  it('publishes evicted{expired} for lazy and for swept expiry', async () => {
    daemon = await startDaemon({ sweepIntervalMs: 20 })
    const c = daemon.client
    const sub = await c.subscribe()
    await c.put('a:b:lazy', 'v', { ttlMs: 200 })
    await c.put('a:b:swept', 'v', { ttlMs: 5 })
    const swept = await collect(sub, 1)
    expect(swept).toEqual([{ type: 'evicted', key: 'a:b:swept', reason: 'expired' }])
    // The lazy one: read it until it is gone, so the read that finds it expired comes right
    // after its TTL and (very likely) before a sweep finds it; either way exactly one expired
    // event is published for it.
    await eventually(async () => (await c.get('a:b:lazy')) === null, 200)
    expect(await c.get('a:b:lazy')).toBeNull()
    expect(await collect(sub, 1)).toEqual([{ type: 'evicted', key: 'a:b:lazy', reason: 'expired' }])
    expect((await c.stats()).expiredRemovals).toBe(2)
  })

  it('filters by svc and by svc + table, and serves several subscribers at once', async () => {
    daemon = await startDaemon()
    const c = daemon.client
    const all = await c.subscribe()
    const shop = await c.subscribe({ svc: 'shop' })
    const orders = await c.subscribe({ svc: 'shop', table: 'orders' })
    await c.invalidate('shop:orders:1')
    await c.invalidate('shop:carts:1')
    await c.invalidate('blog:posts:1')
    await c.invalidate('shop:orders:2')
    expect((await collect(all, 4)).map((e) => ('key' in e ? e.key : e.type))).toEqual(['shop:orders:1', 'shop:carts:1', 'blog:posts:1', 'shop:orders:2'])
    expect((await collect(shop, 3)).map((e) => ('key' in e ? e.key : e.type))).toEqual(['shop:orders:1', 'shop:carts:1', 'shop:orders:2'])
    expect((await collect(orders, 2)).map((e) => ('key' in e ? e.key : e.type))).toEqual(['shop:orders:1', 'shop:orders:2'])
    expect((await c.stats()).subscribersCurrent).toBe(3)
    orders.close()
    await eventually(async () => (await c.stats()).subscribersCurrent === 2)
    expect((await c.stats()).subscribersCurrent).toBe(2)
  })

  it('leaving a for-await loop closes the subscription', async () => {
    daemon = await startDaemon()
    const sub = await daemon.client.subscribe()
    await daemon.client.invalidate('a:b:1')
    for await (const ev of sub) {
      expect(ev).toEqual({ type: 'invalidate', key: 'a:b:1' })
      break
    }
    expect(sub.closed).toBe(true)
    expect(await sub.next()).toEqual({ value: undefined, done: true })
  })

  it('rejects a Subscribe with a table but no svc', async () => {
    daemon = await startDaemon()
    await expect(daemon.client.subscribe({ table: 'orders' })).rejects.toMatchObject({ code: 'BadRequest' })
  })

  it('sends heartbeats to subscribers', async () => {
    daemon = await startDaemon({ heartbeatMs: 20 })
    const sub = await daemon.client.subscribe()
    const before = Date.now()
    // A heartbeat arrives within 120 ms (six intervals), as before.
    await eventually(() => sub.lastHeartbeat !== undefined && sub.lastHeartbeat >= before - 5, 120)
    expect(sub.lastHeartbeat).toBeGreaterThanOrEqual(before - 5)
  })

  it('a thousand subscribers each receive an event', async () => {
    daemon = await startDaemon()
    const subs = await Promise.all(Array.from({ length: 1000 }, () => daemon!.client.subscribe()))
    await daemon.client.invalidate('a:b:everyone')
    const events = await Promise.all(subs.map((s) => s.next()))
    expect(events.every((e) => !e.done && e.value.type === 'invalidate')).toBe(true)
    expect((await daemon.client.stats()).subscribersCurrent).toBe(1000)
    for (const s of subs) s.close()
  })
})
