import { describe, expect, it } from 'vitest'
import { NativeStore, LocalCachedError, type RemovalNotice } from '../ts/index'
import { loadBinding } from '../ts/loader'
import { key } from './helpers'

const { ENTRY_OVERHEAD_BYTES, TTL_OVERHEAD_BYTES, GROUP_OVERHEAD_BYTES, REMOVAL_QUEUE_CAPACITY } = loadBinding()

/** What the test keys' table, `svc:tbl`, is charged while it has entries. */
const TABLE = GROUP_OVERHEAD_BYTES + 'svc:tbl'.length

function thrown(fn: () => unknown): LocalCachedError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(LocalCachedError)
    return err as LocalCachedError
  }
  throw new Error('expected a throw')
}

function charge(k: string, valueBytes: number, ttl = false): number {
  return k.length + valueBytes + ENTRY_OVERHEAD_BYTES + (ttl ? TTL_OVERHEAD_BYTES : 0)
}

describe('NativeStore basics', () => {
  it('stores and returns Buffer, Uint8Array and string values', () => {
    const store = new NativeStore()
    store.set(key(1), Buffer.from('buffer'))
    store.set(key(2), new Uint8Array([1, 2, 3]))
    store.set(key(3), 'strîng')
    store.set(key(4), Buffer.alloc(0))
    expect(store.get(key(1))?.toString()).toBe('buffer')
    expect([...store.get(key(2))!]).toEqual([1, 2, 3])
    expect(store.get(key(3))?.toString()).toBe('strîng')
    expect(store.get(key(4))?.length).toBe(0)
    expect(Buffer.isBuffer(store.get(key(1)))).toBe(true)
    store.close()
  })

  it('returns undefined on a miss, like Map and lru-cache', () => {
    const store = new NativeStore()
    expect(store.get(key('absent'))).toBeUndefined()
    store.close()
  })

  it('returns a copy the caller owns that later calls never overwrite', () => {
    const store = new NativeStore()
    const held: Buffer[] = []
    for (let i = 0; i < 3000; i++) store.set(key(i), Buffer.alloc(1 + (i % 700), i & 0xff))
    for (let i = 0; i < 3000; i++) held.push(store.get(key(i))!)
    held[0].fill(0xee)
    expect(store.get(key(0))!.every((b) => b === 0)).toBe(true)
    for (let i = 0; i < 3000; i++) {
      expect(held[i].length).toBe(1 + (i % 700))
      if (i > 0) expect(held[i].every((b) => b === (i & 0xff))).toBe(true)
    }
    store.close()
  })

  it('round-trips values larger than the copy slab, up to maxValueBytes', () => {
    const store = new NativeStore({ maxBytes: 8 * 1024 * 1024 })
    const big = Buffer.alloc(1024 * 1024, 7)
    store.set(key('big'), big)
    const mid = Buffer.alloc(20_000, 9)
    store.set(key('mid'), mid)
    expect(store.get(key('big'))!.equals(big)).toBe(true)
    expect(store.get(key('mid'))!.equals(mid)).toBe(true)
    store.close()
  })

  it('has() and delete() report presence; has is not counted as a get', () => {
    const store = new NativeStore()
    store.set(key(1), 'x')
    expect(store.has(key(1))).toBe(true)
    expect(store.has(key(2))).toBe(false)
    expect(store.delete(key(1))).toBe(true)
    expect(store.delete(key(1))).toBe(false)
    expect(store.get(key(1))).toBeUndefined()
    const stats = store.stats()
    expect(stats.getCalls).toBe(1)
    expect(stats.delCalls).toBe(2)
    expect(stats.putCalls).toBe(1)
    store.close()
  })

  it('invalidate and tableChangedUpsert are counted apart from del and put', () => {
    const store = new NativeStore()
    store.tableChangedUpsert('shop', 'orders', '7', 'row')
    expect(store.get('shop:orders:7')?.toString()).toBe('row')
    expect(store.invalidate('shop:orders:7')).toBe(true)
    expect(store.invalidate('shop:orders:7')).toBe(false)
    expect(thrown(() => store.tableChangedUpsert('shop', 'or:ders', '7', 'row')).code).toBe('InvalidKey')
    const s = store.stats()
    expect([s.tableChangedUpsertCalls, s.invalidateCalls, s.putCalls, s.delCalls]).toEqual([1, 2, 0, 0])
    store.close()
  })
})

describe('getInto', () => {
  it('copies a hit into the target at the offset and returns its length', () => {
    const store = new NativeStore()
    store.set(key(1), 'hello')
    const target = Buffer.alloc(8, '.')
    expect(store.getInto(key(1), target, 2)).toBe(5)
    expect(target.toString()).toBe('..hello.')
    expect(store.getInto(key(1), target)).toBe(5)
    expect(target.toString()).toBe('hellolo.')
    const view = new Uint8Array(new ArrayBuffer(16), 4, 6)
    expect(store.getInto(key(1), view, 1)).toBe(5)
    expect(Buffer.from(view.buffer).subarray(5, 10).toString()).toBe('hello')
    store.close()
  })

  it('returns -1 on a miss and writes nothing', () => {
    const store = new NativeStore()
    const target = Buffer.alloc(4, '.')
    expect(store.getInto(key(1), target, 0)).toBe(-1)
    expect(target.toString()).toBe('....')
    store.close()
  })

  it('returns the length without writing when the room is too small; a retry with room gets the value', () => {
    const store = new NativeStore()
    store.set(key(1), 'a longer value')
    const small = Buffer.alloc(16, '.')
    expect(store.getInto(key(1), small, 4)).toBe(14)
    expect(small.toString()).toBe('.'.repeat(16))
    const bigger = Buffer.alloc(14)
    expect(store.getInto(key(1), bigger, 0)).toBe(14)
    expect(bigger.toString()).toBe('a longer value')
    store.set(key(2), '')
    expect(store.getInto(key(2), small, 16)).toBe(0)
    store.close()
  })

  it('rejects a target that is not a Buffer/Uint8Array and an offset out of range or not an integer', () => {
    const store = new NativeStore()
    store.set(key(1), 'v')
    const target = Buffer.alloc(4)
    for (const bad of ['text', [1, 2], new Uint16Array(4), undefined, null]) {
      expect(thrown(() => store.getInto(key(1), bad as unknown as Uint8Array, 0)).code).toBe('BadArgument')
    }
    for (const offset of [-1, 5, 1.5, NaN, '1', null]) {
      expect(thrown(() => store.getInto(key(1), target, offset as unknown as number)).code).toBe('BadArgument')
    }
    expect(thrown(() => store.getInto('not a key', target, 0)).code).toBe('InvalidKey')
    expect(store.stats().getCalls).toBe(0)
    store.close()
  })

  it('misses an expired entry and delivers its removal', () => {
    const store = new NativeStore({ clock: 'manual', sweepIntervalMs: 0 })
    const removed: RemovalNotice[] = []
    store.onRemoval((n) => removed.push(n))
    store.set(key(1), 'v', { ttlMs: 10 })
    const target = Buffer.alloc(4)
    expect(store.getInto(key(1), target, 0)).toBe(1)
    store.advanceClock(10)
    expect(store.getInto(key(1), target, 0)).toBe(-1)
    expect(removed).toEqual([{ key: key(1), cause: 'expired' }])
    store.close()
  })

  it('counts hits and misses exactly as get does', () => {
    const store = new NativeStore()
    store.set('svc:tbl:1', 'v')
    const target = Buffer.alloc(0)
    store.getInto('svc:tbl:1', target, 0)
    store.getInto('svc:tbl:2', target, 0)
    store.get('svc:tbl:1')
    const s = store.stats()
    expect([s.getCalls, s.getHits, s.getMisses]).toEqual([3, 2, 1])
    expect(s.bySvc.svc).toMatchObject({ hits: 2, misses: 1 })
    store.close()
  })
})

describe('byte budget and SIEVE eviction', () => {
  it('charges key + value + the documented per-entry overhead (and each table its group), and recharges on replace', () => {
    const store = new NativeStore({ clock: 'manual' })
    store.set(key(1), Buffer.alloc(100))
    expect(store.stats().bytesCurrent).toBe(charge(key(1), 100) + TABLE)
    store.set(key(1), Buffer.alloc(10))
    expect(store.stats().bytesCurrent).toBe(charge(key(1), 10) + TABLE)
    store.set(key(1), Buffer.alloc(10), { ttlMs: 1000 })
    expect(store.stats().bytesCurrent).toBe(charge(key(1), 10, true) + TABLE)
    store.delete(key(1))
    expect(store.stats().bytesCurrent).toBe(0)
    store.close()
  })

  it('evicts the oldest entry not read since the hand passed when over budget and reports it', () => {
    const per = charge(key(1), 100)
    const store = new NativeStore({ maxBytes: per * 3 + TABLE, shards: 1 })
    const notices: RemovalNotice[] = []
    store.onRemoval((n) => notices.push(n))
    for (let i = 1; i <= 3; i++) store.set(key(i), Buffer.alloc(100))
    // 1 is the oldest but was read: the hand spares it once and takes 2.
    store.get(key(1))
    store.set(key(4), Buffer.alloc(100))
    expect(notices).toEqual([{ key: key(2), cause: 'evicted' }])
    expect(store.has(key(2))).toBe(false)
    expect([1, 3, 4].every((i) => store.has(key(i)))).toBe(true)
    expect(store.stats().evictions).toBe(1)
    store.close()
  })

  it('never holds more than maxBytes whenever a call returns', () => {
    const maxBytes = 64 * 1024
    const store = new NativeStore({ maxBytes })
    for (let i = 0; i < 5000; i++) {
      store.set(key(i % 900), Buffer.alloc((i * 37) % 3000))
      if (i % 50 === 0) expect(store.stats().bytesCurrent).toBeLessThanOrEqual(maxBytes)
    }
    const s = store.stats()
    expect(s.bytesCurrent).toBeLessThanOrEqual(maxBytes)
    expect(s.bytesMax).toBe(maxBytes)
    expect(s.evictions).toBeGreaterThan(0)
    store.close()
  })

  it('rejects a value over maxValueBytes or one that can never fit, storing nothing', () => {
    const store = new NativeStore({ maxBytes: 10_000, maxValueBytes: 4096 })
    const tooBig = thrown(() => store.set(key(1), Buffer.alloc(4097)))
    expect(tooBig.code).toBe('ValueTooLarge')
    expect(tooBig.message).toMatch(/maxValueBytes/)
    store.set(key(1), Buffer.alloc(4096))
    const small = new NativeStore({ maxBytes: 500, maxValueBytes: 4096 })
    const never = thrown(() => small.set(key(2), Buffer.alloc(300)))
    expect(never.code).toBe('ValueTooLarge')
    expect(never.message).toMatch(/can never fit/)
    expect(small.has(key(2))).toBe(false)
    expect(small.stats().bytesCurrent).toBe(0)
    store.close()
    small.close()
  })
})

describe('keys', () => {
  it('rejects keys that break svc:table:pk with InvalidKey, stating the rule and the key', () => {
    const store = new NativeStore()
    const bad = ['', 'a:b', 'a:b:c:d', ':b:c', 'a::c', 'a:b:', 'a b:c:d', 'a:b:c\u0000', 'a:b:é', 'x:y:' + 'z'.repeat(247)]
    for (const k of bad) {
      const err = thrown(() => store.set(k, 'v'))
      expect(err.code, k).toBe('InvalidKey')
      expect(err.message).toContain('svc:table:pk')
      expect(err.message).toContain('[A-Za-z0-9._-]')
    }
    expect(thrown(() => store.get('not a key')).message).toContain('"not a key"')
    expect(thrown(() => store.get(42 as unknown as string)).code).toBe('InvalidKey')
    for (const k of ['a:b:c', 'Svc-1:t.v_2:PK-9', 'x:y:' + 'z'.repeat(246)]) store.set(k, 'ok')
    store.close()
  })

  it('reads a key as its exact characters: none that merely shares a low byte with an ASCII one passes', () => {
    const store = new NativeStore()
    store.set('svc:tbl:1', 'v')
    // U+013A's low byte is ':' and U+0131's is '1': the key must still be refused, not read as svc:tbl:1.
    for (const k of ['svc\u013atbl\u013a1', 'svc:tbl:\u0131', 'svc:tbl:1\u00e9', 'svc:tbl:' + '1'.repeat(243)]) {
      for (const read of [() => store.get(k), () => store.has(k), () => store.getInto(k, Buffer.alloc(4), 0), () => store.set(k, 'x')]) {
        expect(thrown(read).code, k).toBe('InvalidKey')
      }
    }
    expect(thrown(() => store.get('svc:tbl:\u00e9')).message).toContain('0xc3')
    expect(store.stats().getCalls).toBe(0)
    store.close()
  })
})

describe('TTL with the manual clock', () => {
  it('never returns an expired entry and reports the expiry', () => {
    const store = new NativeStore({ clock: 'manual', sweepIntervalMs: 0 })
    const notices: RemovalNotice[] = []
    store.onRemoval((n) => notices.push(n))
    store.set(key(1), 'v', { ttlMs: 100 })
    store.advanceClock(99)
    expect(store.get(key(1))?.toString()).toBe('v')
    store.advanceClock(1)
    expect(store.get(key(1))).toBeUndefined()
    expect(notices).toEqual([{ key: key(1), cause: 'expired' }])
    expect(store.stats().expiredRemovals).toBe(1)
    store.close()
  })

  it('sweep() removes exactly what expired', () => {
    const store = new NativeStore({ clock: 'manual', sweepIntervalMs: 0 })
    const notices: RemovalNotice[] = []
    store.onRemoval((n) => notices.push(n))
    for (let i = 0; i < 10; i++) store.set(key(i), 'v', { ttlMs: 10 * (i + 1) })
    store.set(key('forever'), 'v')
    store.advanceClock(50)
    expect(store.sweep()).toBe(5)
    expect(notices.map((n) => ('key' in n ? n.key : n.cause)).sort()).toEqual([0, 1, 2, 3, 4].map(key).sort())
    expect(store.sweep()).toBe(0)
    expect(store.stats().itemsCurrent).toBe(6)
    store.close()
  })

  it('rejects a ttlMs that is not a positive integer', () => {
    const store = new NativeStore()
    for (const ttlMs of [0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '5' as unknown as number]) {
      const err = thrown(() => store.set(key(1), 'v', { ttlMs }))
      expect(err.code, String(ttlMs)).toBe('BadArgument')
      expect(err.message).toMatch(/ttlMs/)
    }
    expect(store.has(key(1))).toBe(false)
    store.close()
  })

  it('refuses advanceClock on the system clock', () => {
    const store = new NativeStore()
    expect(thrown(() => store.advanceClock(5)).code).toBe('BadArgument')
    store.close()
  })

  it('the sweeper thread removes expired entries on its own', async () => {
    const store = new NativeStore({ sweepIntervalMs: 10 })
    const expired = new Promise<RemovalNotice>((resolve) => store.onRemoval(resolve))
    store.set(key(1), 'v', { ttlMs: 5 })
    expect(await expired).toEqual({ key: key(1), cause: 'expired' })
    expect(store.stats().itemsCurrent).toBe(0)
    store.close()
  })
})

describe('removal notifications', () => {
  it('stop after unsubscribe', () => {
    const store = new NativeStore({ maxBytes: charge(key(1), 10) + TABLE, shards: 1 })
    const notices: RemovalNotice[] = []
    const off = store.onRemoval((n) => notices.push(n))
    store.set(key(1), Buffer.alloc(10))
    store.set(key(2), Buffer.alloc(10))
    off()
    store.set(key(3), Buffer.alloc(10))
    expect(notices).toEqual([{ key: key(1), cause: 'evicted' }])
    store.close()
  })

  it('report an overflow instead of dropping removals silently', () => {
    const store = new NativeStore({ clock: 'manual', sweepIntervalMs: 0, maxBytes: 64 * 1024 * 1024 })
    const total = REMOVAL_QUEUE_CAPACITY + 25
    for (let i = 0; i < total; i++) store.set(key(i), 'v', { ttlMs: 1 })
    const notices: RemovalNotice[] = []
    store.onRemoval((n) => notices.push(n))
    store.advanceClock(1)
    expect(store.sweep()).toBe(total)
    const expired = notices.filter((n) => n.cause === 'expired').length
    const overflow = notices.filter((n) => n.cause === 'overflow')
    expect(overflow).toEqual([{ cause: 'overflow', dropped: 25 }])
    expect(expired + 25).toBe(total)
    store.close()
  })

  it('a throwing listener does not break the store call or other listeners', async () => {
    const store = new NativeStore({ maxBytes: charge(key(1), 10) + TABLE, shards: 1 })
    const seen: RemovalNotice[] = []
    const errors: unknown[] = []
    const onUncaught = (err: unknown) => errors.push(err)
    process.prependListener('uncaughtException', onUncaught)
    store.onRemoval(() => {
      throw new Error('listener bug')
    })
    store.onRemoval((n) => seen.push(n))
    store.set(key(1), Buffer.alloc(10))
    store.set(key(2), Buffer.alloc(10))
    expect(seen).toHaveLength(1)
    await new Promise((r) => setImmediate(r))
    process.removeListener('uncaughtException', onUncaught)
    expect(errors).toHaveLength(1)
    store.close()
  })
})

describe('stats', () => {
  it('decodes the binary stats the core encodes', () => {
    const store = new NativeStore({ maxBytes: 1 << 20, shards: 4 })
    store.set(key(1), 'v')
    store.get(key(1))
    store.get(key(2))
    const bin = store.statsBinary()
    expect(bin.subarray(0, 4).toString()).toBe('LCST')
    expect(bin.readUInt16LE(4)).toBe(1)
    const s = store.stats()
    expect(s).toMatchObject({ getCalls: 2, getHits: 1, getMisses: 1, putCalls: 1, itemsCurrent: 1, bytesMax: 1 << 20, shards: 4, subscribersCurrent: 0 })
    expect(s.startUnixMs).toBeGreaterThan(Date.now() - 60_000)
    expect(s.startUnixMs).toBeLessThanOrEqual(Date.now())
    store.close()
  })
})

describe('options', () => {
  it('rejects bad options with BadArgument', () => {
    for (const options of [{ maxBytes: 0 }, { maxBytes: -5 }, { shards: 0 }, { shards: 4096 }, { maxValueBytes: 0 }, { clock: 'wall' }, { sweepIntervalMs: -1 }]) {
      expect(thrown(() => new NativeStore(options as never)).code, JSON.stringify(options)).toBe('BadArgument')
    }
  })

  it('rounds shards up to a power of two', () => {
    const store = new NativeStore({ shards: 5 })
    expect(store.stats().shards).toBe(8)
    store.close()
  })
})

describe('close', () => {
  it('is idempotent, frees entries, and later calls throw Closed', () => {
    const store = new NativeStore()
    store.set(key(1), 'v')
    store.close()
    store.close()
    for (const call of [() => store.get(key(1)), () => store.set(key(1), 'v'), () => store.stats(), () => store.has(key(1)), () => store.sweep()]) {
      const err = thrown(call)
      expect(err.code).toBe('Closed')
    }
  })
})
