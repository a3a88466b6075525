// Hostile snapshot files through the embedded API: a seeded run of truncations, bit flips,
// byte runs, swapped regions and plain garbage. Every one is refused with a coded reason (or,
// never in practice, loads into a valid store); none throws, crashes or hangs. The Rust tests
// sweep every truncation offset and every single-bit flip of a small file; this runs the same
// kinds through N-API on a file with TTLs, versions, dependencies and meta.
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { NativeStore } from '../ts/index'

const dir = mkdtempSync(join(tmpdir(), 'lc-snapfuzz-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** mulberry32: a small seeded PRNG, so a failure replays. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('snapshot fuzzing', () => {
  it('every hostile file is refused with a coded reason, never thrown, and the store works after', async () => {
    const source = new NativeStore()
    for (let i = 0; i < 60; i++) source.set(`fz:t:${i}`, `value-${i}`.repeat(i % 7), { ttlMs: i % 3 === 0 ? 600_000 : undefined, version: i % 4 === 0 ? i : undefined, dependsOn: i % 5 === 0 ? [`fz:dep:${i}`] : undefined })
    const good = join(dir, 'good.snap')
    await source.saveSnapshot(good, { meta: Buffer.from('meta') })
    source.close()
    const original = readFileSync(good)
    const random = prng(0x5eed)
    const int = (n: number) => Math.floor(random() * n)
    const mutate: Array<[string, () => Buffer]> = [
      ['truncate', () => original.subarray(0, int(original.length))],
      ['flip bits', () => {
        const b = Buffer.from(original)
        for (let k = 1 + int(4); k > 0; k--) b[int(b.length)] ^= 1 << int(8)
        return b
      }],
      ['overwrite a run', () => {
        const b = Buffer.from(original)
        const at = int(b.length)
        b.fill(int(256), at, Math.min(b.length, at + 1 + int(16)))
        return b
      }],
      ['swap two regions', () => {
        const b = Buffer.from(original)
        const len = 1 + int(32)
        const x = int(b.length - len)
        const y = int(b.length - len)
        const tmp = Buffer.from(b.subarray(x, x + len))
        b.copy(b, x, y, y + len)
        tmp.copy(b, y)
        return b
      }],
      ['append bytes', () => Buffer.concat([original, Buffer.from([int(256), int(256)])])],
      ['garbage', () => Buffer.from(Array.from({ length: int(4096) }, () => int(256)))],
      ['header of another version', () => {
        const b = Buffer.from(original)
        b[8] ^= 0xff
        return b
      }],
    ]
    const reasons = new Map<string, number>()
    let cases = 0
    for (let round = 0; round < 60; round++) {
      for (const [kind, make] of mutate) {
        const bytes = make()
        if (bytes.equals(original)) continue
        const path = join(dir, `case-${cases++}.snap`)
        writeFileSync(path, bytes)
        const store = await NativeStore.fromSnapshot(path)
        try {
          const load = store.snapshotLoad!
          if (load.status === 'loaded') {
            // Only an append after the trailer could pass, and the format refuses that too.
            throw new Error(`${kind}: a mutated file loaded`)
          }
          expect(load.status, kind).toBe('rejected')
          expect(load.reason?.code, kind).toMatch(/^Snapshot(Corrupt|Incompatible)$/)
          reasons.set(load.reason!.code, (reasons.get(load.reason!.code) ?? 0) + 1)
          expect(store.stats().itemsCurrent).toBe(0)
          store.set('fz:t:after', 'ok')
          expect(store.get('fz:t:after')?.toString()).toBe('ok')
        } finally {
          store.close()
        }
      }
    }
    console.log(`snapshot fuzz: ${cases} files, refused as ${[...reasons].map(([c, n]) => `${c} ${n}`).join(', ')}`)
    expect(cases).toBeGreaterThan(400)
  }, 60_000)
})
