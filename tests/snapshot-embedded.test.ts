// NativeStore snapshots: saveSnapshot() and NativeStore.fromSnapshot(), off the JS thread,
// and a file that cannot be used never being fatal.
import { afterAll, describe, expect, it } from 'vitest'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setImmediate as tick } from 'node:timers/promises'
import { NativeStore } from '../ts/index'
import { rejection } from './helpers'

const dir = mkdtempSync(join(tmpdir(), 'lc-snapshot-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
let n = 0
const fresh = (name: string) => join(dir, `${n++}-${name}`)


describe('NativeStore snapshots', () => {
  it('round-trips values, versions, remaining TTLs and meta', async () => {
    const path = fresh('round.snap')
    const source = new NativeStore({ clock: 'manual' })
    source.set('svc:t:1', 'one', { version: 3 })
    source.set('svc:t:2', Buffer.from([0, 1, 2]), { ttlMs: 60_000 })
    source.set('svc:t:3', 'three', { dependsOn: ['tags:x:1'] })
    source.advanceClock(10_000)
    const saved = await source.saveSnapshot(path, { meta: Buffer.from('bridge@42') })
    expect(saved.entries).toBe(3)
    expect(saved.bytes).toBe(statSync(path).size)
    source.close()

    const store = await NativeStore.fromSnapshot(path, { clock: 'manual' })
    expect(store.snapshotLoad).toMatchObject({ status: 'loaded', loaded: 3, skippedExpired: 0, skippedOverBudget: 0 })
    expect(store.snapshotLoad?.meta?.toString()).toBe('bridge@42')
    expect(Math.abs(store.snapshotLoad!.savedAtMs - Date.now())).toBeLessThan(60_000)
    expect(store.getWithMeta('svc:t:1')).toMatchObject({ version: 3, ttlMs: null })
    expect(store.get('svc:t:1')?.toString()).toBe('one')
    const ttl = store.getWithMeta('svc:t:2')!.ttlMs!
    expect(ttl).toBeLessThanOrEqual(50_000)
    expect(ttl).toBeGreaterThan(45_000)
    store.invalidate('tags:x:1')
    expect(store.get('svc:t:3')).toBeUndefined()
    store.close()
  })

  it("saves at priority 'normal' as at 'idle': the same file", async () => {
    const store = new NativeStore()
    for (let i = 0; i < 100; i++) store.set(`svc:p:${i}`, `v${i}`)
    const idle = fresh('idle.snap')
    const normal = fresh('normal.snap')
    expect((await store.saveSnapshot(idle, { priority: 'idle' })).entries).toBe(100)
    expect((await store.saveSnapshot(normal, { priority: 'normal' })).entries).toBe(100)
    store.close()
    const back = await NativeStore.fromSnapshot(normal)
    expect(back.snapshotLoad?.loaded).toBe(100)
    expect(back.get('svc:p:7')?.toString()).toBe('v7')
    back.close()
  })

  it('writes the file with mode 0600', async () => {
    const path = fresh('mode.snap')
    const store = new NativeStore()
    store.set('svc:t:1', 'x')
    await store.saveSnapshot(path)
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600)
    store.close()
  })

  it('keeps answering gets on the JS thread while a 200 MB save runs', async () => {
    const path = fresh('big.snap')
    const store = new NativeStore({ maxBytes: 256 * 1024 * 1024, sweepIntervalMs: 0 })
    const value = Buffer.alloc(1024, 7)
    const count = 200_000
    for (let i = 0; i < count; i++) store.set(`svc:big:${i}`, value)
    let settled = false
    const save = store.saveSnapshot(path).finally(() => {
      settled = true
    })
    let served = 0
    while (!settled) {
      for (let i = 0; i < 1000; i++) if (store.get(`svc:big:${(served + i) % count}`) !== undefined) served++
      await tick()
    }
    const report = await save
    expect(report.entries).toBe(count)
    expect(report.bytes).toBeGreaterThan(200 * 1024 * 1024)
    expect(served).toBeGreaterThan(1000)
    store.close()
    const loaded = await NativeStore.fromSnapshot(path, { maxBytes: 64 * 1024 * 1024 })
    expect(loaded.snapshotLoad!.loaded + loaded.snapshotLoad!.skippedOverBudget).toBe(count)
    expect(loaded.snapshotLoad!.skippedOverBudget).toBeGreaterThan(0)
    loaded.close()
  }, 120_000)

  it('a missing file gives an empty store', async () => {
    const store = await NativeStore.fromSnapshot(fresh('none.snap'))
    expect(store.snapshotLoad).toEqual({ status: 'missing', loaded: 0, skippedExpired: 0, skippedOverBudget: 0, savedAtMs: 0 })
    store.close()
  })

  it('moves a corrupt file aside and starts empty', async () => {
    const path = fresh('corrupt.snap')
    const source = new NativeStore()
    for (let i = 0; i < 100; i++) source.set(`svc:t:${i}`, `value ${i}`)
    await source.saveSnapshot(path)
    source.close()
    const bytes = readFileSync(path)
    bytes[bytes.length >> 1] ^= 0x10
    writeFileSync(path, bytes)
    const store = await NativeStore.fromSnapshot(path)
    const load = store.snapshotLoad!
    expect(load).toMatchObject({ status: 'rejected', loaded: 0, reason: { code: 'SnapshotCorrupt' } })
    expect(load.movedTo).toMatch(/corrupt\.snap\.corrupt-\d{4}-\d\d-\d\dT\d{6}\.\d{3}Z$/)
    expect(existsSync(path)).toBe(false)
    expect(readFileSync(load.movedTo!)).toEqual(bytes)
    expect(store.get('svc:t:1')).toBeUndefined()
    expect(store.stats().itemsCurrent).toBe(0)
    store.close()
  })

  it('moves aside a foreign, a truncated and a too old file, each with its reason', async () => {
    const foreign = fresh('foreign.snap')
    writeFileSync(foreign, '{"not":"a snapshot"}')
    const a = await NativeStore.fromSnapshot(foreign)
    expect(a.snapshotLoad).toMatchObject({ status: 'rejected', reason: { code: 'SnapshotCorrupt' } })
    a.close()

    const path = fresh('old.snap')
    const source = new NativeStore()
    source.set('svc:t:1', 'x')
    await source.saveSnapshot(path)
    source.close()
    const truncated = fresh('truncated.snap')
    writeFileSync(truncated, readFileSync(path).subarray(0, 40))
    const b = await NativeStore.fromSnapshot(truncated)
    expect(b.snapshotLoad).toMatchObject({ status: 'rejected', reason: { code: 'SnapshotCorrupt' } })
    b.close()

    await new Promise((r) => setTimeout(r, 20))
    const c = await NativeStore.fromSnapshot(path, { snapshotMaxAgeMs: 1 })
    expect(c.snapshotLoad).toMatchObject({ status: 'rejected', reason: { code: 'SnapshotTooOld' } })
    expect(c.snapshotLoad!.movedTo).toBeDefined()
    c.close()
  })

  it('a save into a missing directory rejects with SnapshotIo', async () => {
    const store = new NativeStore()
    store.set('svc:t:1', 'x')
    const err = await rejection(store.saveSnapshot(join(dir, 'no-such-dir', 'x.snap')))
    expect(err.code).toBe('SnapshotIo')
    store.close()
  })

  it('a failed save keeps the previous file and leaves no temporary file', async () => {
    const sub = fresh('keep')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(sub)
    const path = join(sub, 'cache.snap')
    const store = new NativeStore({ maxBytes: 128 * 1024 * 1024 })
    store.set('svc:t:old', 'old')
    await store.saveSnapshot(path)
    const before = readFileSync(path)
    for (let i = 0; i < 50_000; i++) store.set(`svc:t:${i}`, Buffer.alloc(1024, 1))
    // Closing the store cancels the running save.
    const save = store.saveSnapshot(path)
    store.close()
    const err = await rejection(save)
    expect(err.code).toBe('SnapshotIo')
    expect(readFileSync(path)).toEqual(before)
    expect(readdirSync(sub)).toEqual(['cache.snap'])
    // A directory the process may not write to (meaningless as root, who may write anyway).
    if (process.getuid?.() !== 0 && process.platform !== 'win32') {
      const other = new NativeStore()
      other.set('svc:t:new', 'new')
      chmodSync(sub, 0o500)
      try {
        expect((await rejection(other.saveSnapshot(path))).code).toBe('SnapshotIo')
      } finally {
        chmodSync(sub, 0o700)
      }
      expect(readFileSync(path)).toEqual(before)
      other.close()
    }
  })

  it('rejects unknown save options and a bad snapshotMaxAgeMs', async () => {
    const store = new NativeStore()
    expect((await rejection(store.saveSnapshot(fresh('x.snap'), { metaa: 1 } as never))).code).toBe('BadArgument')
    expect((await rejection(store.saveSnapshot(fresh('x.snap'), { priority: 'high' } as never))).code).toBe('BadArgument')
    store.close()
    const path = fresh('y.snap')
    writeFileSync(path, 'x')
    expect((await rejection(NativeStore.fromSnapshot(path, { snapshotMaxAgeMs: -1 }))).code).toBe('BadArgument')
  })
})
