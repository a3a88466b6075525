// Scoped invalidation, quotas and per-service stats, through NativeStore and the daemon.
import { afterEach, describe, expect, it } from 'vitest'
import { NativeStore, LocalCachedError, type CacheEvent } from '../ts/index'
import { loadBinding } from '../ts/loader'
import { startDaemon, type TestDaemon } from './helpers'

const { GROUP_OVERHEAD_BYTES, ENTRY_OVERHEAD_BYTES } = loadBinding()
let daemon: TestDaemon | undefined
afterEach(async () => {
  await daemon?.close()
  daemon = undefined
})

function fillStore(store: NativeStore, svc: string, table: string, n: number): void {
  store.mset(Array.from({ length: n }, (_, i) => [`${svc}:${table}:${i}`, 'v'] as [string, string]))
}

describe('scoped invalidation (NativeStore)', () => {
  it('removes a table, a service or a prefix and reports how many', () => {
    const s = new NativeStore()
    fillStore(s, 'shop', 'orders', 300)
    fillStore(s, 'shop', 'carts', 100)
    fillStore(s, 'blog', 'posts', 50)
    expect(s.invalidateTable('shop', 'orders')).toEqual({ removed: 300 })
    expect(s.invalidatePrefix('blog:posts:1')).toEqual({ removed: 11 })
    expect(s.invalidateService('shop')).toEqual({ removed: 100 })
    expect(s.stats()).toMatchObject({ itemsCurrent: 39, invalidations: 411 })
    expect(() => s.invalidateTable('bad svc', 't')).toThrow(LocalCachedError)
    expect(() => s.invalidatePrefix('')).toThrow(/prefix/)
    s.close()
  })

  it('runs in time proportional to the table, not the store', () => {
    const s = new NativeStore({ maxBytes: 512 * 1024 * 1024 })
    fillStore(s, 'big', 'rest', 200_000)
    fillStore(s, 'small', 'one', 100)
    const started = process.hrtime.bigint()
    expect(s.invalidateTable('small', 'one').removed).toBe(100)
    const micros = Number(process.hrtime.bigint() - started) / 1000
    // Not a timing assertion on speed, a proof of no full scan: 200k entries scanned would
    // take tens of milliseconds here; 100 removals take well under one.
    expect(micros).toBeLessThan(5_000)
    s.close()
  })
})

describe('quotas (NativeStore)', () => {
  it('maxKeys evicts the oldest unread entries past the count', () => {
    const s = new NativeStore({ maxKeys: 10, shards: 1 })
    for (let i = 0; i < 15; i++) s.set(`q:k:${i}`, 'v')
    expect(s.stats()).toMatchObject({ itemsCurrent: 10, evictions: 5, maxKeys: 10 })
    expect(s.has('q:k:0')).toBe(false)
    s.close()
  })

  it('a service over its cap evicts only its own entries', () => {
    const cap = 32 * 1024
    const s = new NativeStore({ svcCaps: { orders: cap } })
    fillStore(s, 'other', 't', 100)
    for (let i = 0; i < 1000; i++) s.set(`orders:o:${i}`, Buffer.alloc(100))
    const { bySvc } = s.stats()
    expect(bySvc.orders.cap).toBe(cap)
    expect(bySvc.orders.bytes + GROUP_OVERHEAD_BYTES + 8).toBeLessThanOrEqual(cap)
    expect(bySvc.other.items).toBe(100)
    expect(() => s.set('orders:o:huge', Buffer.alloc(cap))).toThrow(/service's cap/)
    expect(() => new NativeStore({ svcCaps: { 'no good': 5 } })).toThrow(LocalCachedError)
    expect(() => new NativeStore({ maxKeys: 0 })).toThrow(LocalCachedError)
    s.close()
  })

  it('per-service stats count bytes, items, hits and misses; hitRate is derived', () => {
    const s = new NativeStore()
    s.set('shop:orders:1', 'abc')
    s.get('shop:orders:1')
    s.get('shop:orders:2')
    s.get('ghost:t:1')
    const stats = s.stats()
    expect(stats.bySvc.shop).toEqual({ bytes: 'shop:orders:1'.length + 3 + ENTRY_OVERHEAD_BYTES, items: 1, hits: 1, misses: 1, cap: 0 })
    expect(stats.bySvc.ghost).toMatchObject({ items: 0, misses: 1 })
    expect(stats.hitRate).toBeCloseTo(1 / 3)
    s.close()
  })
})

describe('scoped invalidation (daemon)', () => {
  async function next(sub: AsyncIterator<CacheEvent>): Promise<CacheEvent> {
    return (await sub.next()).value as CacheEvent
  }

  it('publishes one invalidate_scope event per call, filtered by svc and table', async () => {
    daemon = await startDaemon()
    const c = daemon.client
    const all = await c.subscribe()
    const orders = await c.subscribe({ svc: 'shop', table: 'orders' })
    const blog = await c.subscribe({ svc: 'blog' })
    await c.mset(Array.from({ length: 20 }, (_, i) => [`shop:orders:${i}`, 'v'] as [string, string]))
    await c.mset([['shop:carts:1', 'v'], ['blog:posts:1', 'v'], ['blog:posts:2', 'v']])
    expect(await c.invalidateTable('shop', 'orders')).toEqual({ removed: 20 })
    expect(await c.invalidatePrefix('shop:carts:')).toEqual({ removed: 1 })
    expect(await c.invalidateService('blog')).toEqual({ removed: 2 })
    expect(await next(all)).toEqual({ type: 'invalidate_scope', scope: 'table', svc: 'shop', table: 'orders', removed: 20 })
    expect(await next(all)).toEqual({ type: 'invalidate_scope', scope: 'prefix', prefix: 'shop:carts:', svc: 'shop', table: 'carts', removed: 1 })
    expect(await next(all)).toEqual({ type: 'invalidate_scope', scope: 'service', svc: 'blog', removed: 2 })
    expect(await next(orders)).toMatchObject({ scope: 'table', table: 'orders' })
    expect(await next(blog)).toMatchObject({ scope: 'service', svc: 'blog' })
    await c.invalidate('shop:orders:tail')
    expect(await next(orders)).toEqual({ type: 'invalidate', key: 'shop:orders:tail' })
    expect((await c.stats()).invalidations).toBe(23)
  })

  it('serve({ maxKeys, svcCaps }) enforces and reports them', async () => {
    daemon = await startDaemon({ maxKeys: 50, svcCaps: { orders: 16 * 1024 } })
    const c = daemon.client
    await c.mset(Array.from({ length: 80 }, (_, i) => [`x:k:${i}`, 'v'] as [string, string]))
    for (let i = 0; i < 40; i++) await c.put(`orders:o:${i}`, Buffer.alloc(1000))
    const stats = await c.stats()
    expect(stats.itemsCurrent).toBeLessThanOrEqual(50)
    expect(stats.maxKeys).toBe(50)
    expect(stats.bySvc.orders.cap).toBe(16 * 1024)
    expect(stats.bySvc.orders.bytes).toBeLessThanOrEqual(16 * 1024)
  })
})
