import { describe, expect, it } from 'vitest'
import { Worker } from 'node:worker_threads'
import { join } from 'node:path'
import { NativeStore, LocalCachedError } from '../ts/index'

const WORKER = join(__dirname, 'fixtures', 'shared-worker.cjs')

/** Resolves with the worker's message once the worker has exited (its handles closed with it). */
function runWorker(workerData: object): Promise<{ seen?: string | null; error?: string; opened?: boolean }> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { workerData })
    w.once('message', (m) => {
      void w.terminate().then(() => resolve(m), reject)
    })
    w.once('error', reject)
  })
}

describe('NativeStore.open: shared stores', () => {
  it('worker threads share one store by name', async () => {
    const options = { maxBytes: 8 * 1024 * 1024 }
    const main = NativeStore.open('share-1', options)
    main.set('shared:k:main', 'from main')
    const results = await Promise.all([1, 2, 3].map((id) => runWorker({ name: 'share-1', options, id })))
    expect(results.map((r) => r.seen)).toEqual(['from main', 'from main', 'from main'])
    for (const id of [1, 2, 3]) expect(main.get(`shared:k:worker${id}`)?.toString()).toBe(`from worker ${id}`)
    expect(main.get('shared:k:counter')?.toString()).toBe('3')
    // Another handle in the same thread sees the same data.
    const second = NativeStore.open('share-1', options)
    expect(second.get('shared:k:main')?.toString()).toBe('from main')
    second.close()
    main.close()
  })

  it("the first opener's options win; other options get BadArgument", async () => {
    const main = NativeStore.open('share-2', { maxBytes: 4 * 1024 * 1024 })
    expect(await runWorker({ name: 'share-2', mismatch: true })).toEqual({ error: 'BadArgument' })
    let err: unknown
    try {
      NativeStore.open('share-2', { maxBytes: 5 * 1024 * 1024 })
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(LocalCachedError)
    expect((err as LocalCachedError).message).toMatch(/already open with other options/)
    main.close()
  })

  it('closing a handle, or terminating its worker, leaves the store to the others', async () => {
    const options = { maxBytes: 4 * 1024 * 1024 }
    const main = NativeStore.open('share-3', options)
    main.set('shared:k:main', 'kept')
    await runWorker({ name: 'share-3', options, id: 9, close: true })
    await runWorker({ name: 'share-3', options, id: 10 })
    expect(main.get('shared:k:main')?.toString()).toBe('kept')
    expect(main.get('shared:k:worker10')?.toString()).toBe('from worker 10')
    const other = NativeStore.open('share-3', options)
    other.close()
    expect(main.get('shared:k:main')?.toString()).toBe('kept')
    main.close()
    // Once the last handle is gone, the name starts afresh (any options).
    const fresh = NativeStore.open('share-3', { maxBytes: 1024 * 1024 })
    expect(fresh.get('shared:k:main')).toBeUndefined()
    fresh.close()
  })

  it('each handle gets the removals it listens for', () => {
    const options = { maxBytes: 1024 * 1024, clock: 'manual' as const, sweepIntervalMs: 0 }
    const a = NativeStore.open('share-4', options)
    const b = NativeStore.open('share-4', options)
    const seenA: string[] = []
    const seenB: string[] = []
    a.onRemoval((n) => 'key' in n && seenA.push(`${n.key}:${n.cause}`))
    b.onRemoval((n) => 'key' in n && seenB.push(`${n.key}:${n.cause}`))
    a.set('shared:t:1', 'v', { ttlMs: 5 })
    a.advanceClock(5)
    b.sweep()
    a.sweep()
    expect(seenB).toEqual(['shared:t:1:expired'])
    expect(seenA).toEqual(['shared:t:1:expired'])
    a.close()
    b.close()
  })
})
