// The breadth features, the same behaviour through NativeStore and through the daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { NativeStore, LocalCachedError, type CacheEvent } from '../ts/index'
import { startDaemon, type TestDaemon } from './helpers'

/** One surface over both: NativeStore (sync) and LocalCachedClient (async), misses as null. */
interface Surface {
  name: string
  set(key: string, value: string, options?: { ttlMs?: number; version?: number }): Promise<void>
  get(key: string): Promise<string | null>
  upsert(svc: string, table: string, pk: string, value: string, options?: { version?: number }): Promise<void>
  mget(keys: string[]): Promise<Array<string | null>>
  mset(entries: Array<[string, string]>, ttlMs?: number): Promise<void>
  mdel(keys: string[]): Promise<number>
  exists(keys: string[]): Promise<number>
  incr(key: string, delta?: number, ttlMs?: number): Promise<number>
  getWithMeta(key: string): Promise<{ value: string; version: number | null; ttlMs: number | null } | null>
  cas(key: string, expected: string | null, next: string): Promise<boolean>
  keys(options: { svc?: string; table?: string; prefix?: string; limit?: number; cursor?: string }): Promise<{ keys: string[]; cursor: string | null }>
  clear(): Promise<number>
  stats(): Promise<{ versionConflicts: number; insertions: number; itemsCurrent: number }>
}

const text = (b: Buffer | null | undefined) => (b == null ? null : b.toString())

function embedded(): Surface {
  const s = new NativeStore({ maxBytes: 16 * 1024 * 1024 })
  return {
    name: 'NativeStore',
    set: async (k, v, o) => s.set(k, v, o),
    get: async (k) => text(s.get(k)),
    upsert: async (svc, t, pk, v, o) => s.tableChangedUpsert(svc, t, pk, v, o),
    mget: async (keys) => s.mget(keys).map(text),
    mset: async (entries, ttlMs) => s.mset(entries, { ttlMs }),
    mdel: async (keys) => s.mdel(keys),
    exists: async (keys) => s.exists(keys),
    incr: async (k, d, ttlMs) => s.incr(k, d, { ttlMs }),
    getWithMeta: async (k) => {
      const m = s.getWithMeta(k)
      return m ? { ...m, value: m.value.toString() } : null
    },
    cas: async (k, e, n) => s.cas(k, e, n),
    keys: async (o) => s.keys(o),
    clear: async () => s.clear(),
    stats: async () => s.stats(),
  }
}

let daemon: TestDaemon
beforeAll(async () => {
  daemon = await startDaemon({ maxBytes: 16 * 1024 * 1024 })
})
afterAll(() => daemon.close())

function remote(): Surface {
  const c = daemon.client
  return {
    name: 'daemon',
    set: (k, v, o) => c.put(k, v, o),
    get: async (k) => text(await c.get(k)),
    upsert: (svc, t, pk, v, o) => c.tableChangedUpsert(svc, t, pk, v, o),
    mget: async (keys) => (await c.mget(keys)).map(text),
    mset: (entries, ttlMs) => c.mset(entries, { ttlMs }),
    mdel: (keys) => c.mdel(keys),
    exists: (keys) => c.exists(keys),
    incr: (k, d, ttlMs) => c.incr(k, d, { ttlMs }),
    getWithMeta: async (k) => {
      const m = await c.getWithMeta(k)
      return m ? { ...m, value: m.value.toString() } : null
    },
    cas: (k, e, n) => c.cas(k, e, n),
    keys: (o) => c.keys(o),
    clear: () => c.clear(),
    stats: () => c.stats(),
  }
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise
  } catch (err) {
    expect(err).toBeInstanceOf(LocalCachedError)
    return (err as LocalCachedError).code
  }
  throw new Error('expected an error')
}

describe.each([['NativeStore', embedded], ['daemon', remote]] as const)('%s', (_name, make) => {
  let s: Surface
  beforeAll(async () => {
    s = make()
    await s.clear()
  })

  it('mget returns values and misses in key order; mset stores all', async () => {
    await s.mset([['b:m:1', 'one'], ['b:m:2', 'two']])
    expect(await s.mget(['b:m:2', 'b:m:none', 'b:m:1'])).toEqual(['two', null, 'one'])
    const many = Array.from({ length: 300 }, (_, i) => [`b:many:${i}`, 'v'.repeat(i)] as [string, string])
    await s.mset(many)
    expect(await s.mget(many.map(([k]) => k))).toEqual(many.map(([, v]) => v))
  })

  it('mset is all or nothing: one bad key or value stores none', async () => {
    expect(await code(s.mset([['b:all:1', 'ok'], ['bad key', 'x']]))).toBe('InvalidKey')
    expect(await code(s.mset([['b:all:2', 'ok'], ['b:all:3', 'x'.repeat(2 * 1024 * 1024)]]))).toBe('ValueTooLarge')
    expect(await s.mget(['b:all:1', 'b:all:2', 'b:all:3'])).toEqual([null, null, null])
  })

  it('mdel counts what existed; exists counts duplicates like Redis', async () => {
    await s.mset([['b:d:1', 'x'], ['b:d:2', 'x']])
    expect(await s.exists(['b:d:1', 'b:d:1', 'b:d:2', 'b:d:3'])).toBe(3)
    expect(await s.mdel(['b:d:1', 'b:d:2', 'b:d:3'])).toBe(2)
    expect(await s.exists(['b:d:1', 'b:d:2'])).toBe(0)
    expect(await code(s.mget(['ok:k:1', 'nope']))).toBe('InvalidKey')
    expect(await code(s.mget(['ok:k:1', 'ok:k:2\nok:k:3']))).toBe('InvalidKey')
  })

  it('incr counts atomically from 0 in ASCII decimal and refuses non-integers and overflow', async () => {
    expect(await s.incr('b:c:1')).toBe(1)
    expect(await s.incr('b:c:1', 41)).toBe(42)
    expect(await s.incr('b:c:1', -50)).toBe(-8)
    expect(await s.get('b:c:1')).toBe('-8')
    await s.set('b:c:text', 'abc')
    expect(await code(s.incr('b:c:text'))).toBe('NotAnInteger')
    await s.set('b:c:lead', '007')
    expect(await code(s.incr('b:c:lead'))).toBe('NotAnInteger')
    await s.set('b:c:max', String(Number.MAX_SAFE_INTEGER - 1))
    expect(await s.incr('b:c:max')).toBe(Number.MAX_SAFE_INTEGER)
    expect(await code(s.incr('b:c:max'))).toBe('Overflow')
    expect(await s.get('b:c:max')).toBe(String(Number.MAX_SAFE_INTEGER))
    const all = await Promise.all(Array.from({ length: 100 }, () => s.incr('b:c:race')))
    expect(new Set(all).size).toBe(100)
    expect(await s.get('b:c:race')).toBe('100')
  })

  it('versioned writes refuse older versions and keep the stored value; equal versions pass', async () => {
    const before = (await s.stats()).versionConflicts
    await s.set('b:v:1', 'v5', { version: 5 })
    expect(await code(s.set('b:v:1', 'v4', { version: 4 }))).toBe('VersionConflict')
    expect(await s.get('b:v:1')).toBe('v5')
    await s.set('b:v:1', 'v5-again', { version: 5 })
    await s.upsert('b', 'v', '1', 'v7', { version: 7 })
    expect(await code(s.upsert('b', 'v', '1', 'v6', { version: 6 }))).toBe('VersionConflict')
    expect(await s.getWithMeta('b:v:1')).toEqual({ value: 'v7', version: 7, ttlMs: null })
    expect((await s.stats()).versionConflicts).toBe(before + 2)
  })

  it('getWithMeta reports version and remaining TTL, or a miss', async () => {
    await s.set('b:meta:1', 'x', { ttlMs: 60_000 })
    const meta = await s.getWithMeta('b:meta:1')
    expect(meta?.value).toBe('x')
    expect(meta?.version).toBeNull()
    expect(meta?.ttlMs).toBeGreaterThan(59_000)
    expect(meta?.ttlMs).toBeLessThanOrEqual(60_000)
    expect(await s.getWithMeta('b:meta:none')).toBeNull()
  })

  it('cas swaps only on a match; null expects absence', async () => {
    expect(await s.cas('b:cas:1', null, 'first')).toBe(true)
    expect(await s.cas('b:cas:1', null, 'again')).toBe(false)
    expect(await s.cas('b:cas:1', 'wrong', 'x')).toBe(false)
    expect(await s.cas('b:cas:1', 'first', 'second')).toBe(true)
    expect(await s.get('b:cas:1')).toBe('second')
  })

  it('keys walks the store by cursor with filters, even while it changes', async () => {
    await s.clear()
    const tables = ['orders', 'carts']
    for (const t of tables) await s.mset(Array.from({ length: 150 }, (_, i) => [`shop:${t}:${i}`, 'x'] as [string, string]))
    await s.mset(Array.from({ length: 50 }, (_, i) => [`blog:posts:${i}`, 'x'] as [string, string]))
    const seen = new Set<string>()
    let cursor: string | undefined
    let pages = 0
    do {
      const page = await s.keys({ svc: 'shop', table: 'orders', limit: 7, cursor })
      page.keys.forEach((k) => seen.add(k))
      // Writes during the scan: new keys and removed keys of other tables.
      await s.set(`shop:orders:new${pages}`, 'x')
      await s.mdel([`shop:carts:${pages}`])
      cursor = page.cursor ?? undefined
      pages++
    } while (cursor)
    for (let i = 0; i < 150; i++) expect(seen.has(`shop:orders:${i}`), `shop:orders:${i}`).toBe(true)
    expect([...seen].every((k) => k.startsWith('shop:orders:'))).toBe(true)
    const prefixed = await s.keys({ prefix: 'blog:posts:1', limit: 1000 })
    expect(prefixed.keys.sort()).toEqual(['blog:posts:1', ...Array.from({ length: 10 }, (_, i) => `blog:posts:1${i}`)].sort())
  })

  it('clear empties the store', async () => {
    await s.set('b:clear:1', 'x')
    expect(await s.clear()).toBeGreaterThan(0)
    expect((await s.stats()).itemsCurrent).toBe(0)
  })
})

describe('events of the breadth requests', () => {
  it('MDel publishes invalidate for each key that existed, Clear publishes one flush', async () => {
    const c = daemon.client
    const sub = await c.subscribe()
    await c.mset([['e:v:1', 'x'], ['e:v:2', 'x']])
    expect(await c.mdel(['e:v:1', 'e:v:none', 'e:v:2'])).toBe(2)
    await c.clear()
    const events: CacheEvent[] = []
    for (let i = 0; i < 3; i++) events.push((await sub.next()).value as CacheEvent)
    expect(events).toEqual([{ type: 'invalidate', key: 'e:v:1' }, { type: 'invalidate', key: 'e:v:2' }, { type: 'flush' }])
    sub.close()
  })
})
