// getOrLoad: single flight in a process, a lease across processes, stale-while-revalidate,
// and loaders that fail, time out or hang.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { LocalCachedClient, NativeStore, serve, type DaemonServer } from '../ts/index'
import { DIST, eventually, runNode, tempSocketPath } from './helpers'

let server: DaemonServer
let socket: string
let a: LocalCachedClient
let b: LocalCachedClient

beforeAll(async () => {
  socket = tempSocketPath()
  server = await serve({ socket, logLevel: 'silent' })
  a = await LocalCachedClient.connect(socket)
  b = await LocalCachedClient.connect(socket, { nearCache: { maxBytes: 1024 * 1024 } })
})

afterAll(async () => {
  await a.close()
  await b.close()
  await server.close()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const text = (buf: Buffer) => buf.toString()

describe('getOrLoad on NativeStore', () => {
  it('concurrent misses call the loader once; a hit does not call it', async () => {
    const store = new NativeStore({ maxBytes: 1024 * 1024 })
    let calls = 0
    const loader = async () => {
      calls++
      await sleep(30)
      return 'loaded'
    }
    const values = await Promise.all(Array.from({ length: 20 }, () => store.getOrLoad('gl:n:1', loader, { ttlMs: 60_000 })))
    expect(values.map(text)).toEqual(Array(20).fill('loaded'))
    expect(calls).toBe(1)
    expect(text(await store.getOrLoad('gl:n:1', loader))).toBe('loaded')
    expect(calls).toBe(1)
    expect(store.getWithMeta('gl:n:1')!.ttlMs).toBeGreaterThan(59_000)
    store.close()
  })

  it('serves the stale value inside its window while one refresh runs', async () => {
    const store = new NativeStore({ maxBytes: 1024 * 1024 })
    let version = 0
    const loader = async () => {
      version++
      await sleep(20)
      return `v${version}`
    }
    const options = { ttlMs: 50, staleWhileRevalidateMs: 5_000 }
    expect(text(await store.getOrLoad('gl:s:1', loader, options))).toBe('v1')
    await sleep(80) // past ttlMs: stale
    const stale = await Promise.all([store.getOrLoad('gl:s:1', loader, options), store.getOrLoad('gl:s:1', loader, options)])
    expect(stale.map(text)).toEqual(['v1', 'v1'])
    await eventually(() => store.get('gl:s:1')?.toString() === 'v2')
    expect(version).toBe(2) // one refresh for both stale reads
    expect(text(await store.getOrLoad('gl:s:1', loader, options))).toBe('v2')
    store.close()
  })

  it('a failing loader rejects with LoaderFailed, caches nothing, and the next call loads again', async () => {
    const store = new NativeStore({ maxBytes: 1024 * 1024 })
    const boom = new Error('database down')
    const err = await store.getOrLoad('gl:f:1', () => Promise.reject(boom)).catch((e) => e)
    expect(err).toMatchObject({ code: 'LoaderFailed', cause: boom })
    expect(store.get('gl:f:1')).toBeUndefined()
    expect((await store.getOrLoad('gl:f:1', () => { throw new Error('sync throw') }).catch((e) => e)).code).toBe('LoaderFailed')
    expect((await store.getOrLoad('gl:f:1', () => null as unknown as string).catch((e) => e)).code).toBe('LoaderFailed')
    expect(text(await store.getOrLoad('gl:f:1', () => 'ok'))).toBe('ok')
    store.close()
  })

  it('a hanging loader times out with LoaderTimeout, and its late value is not cached', async () => {
    const store = new NativeStore({ maxBytes: 1024 * 1024 })
    const started = Date.now()
    const err = await store.getOrLoad('gl:t:1', () => sleep(300).then(() => 'late'), { loaderTimeoutMs: 50 }).catch((e) => e)
    expect(err.code).toBe('LoaderTimeout')
    expect(Date.now() - started).toBeLessThan(250)
    await sleep(350)
    expect(store.get('gl:t:1')).toBeUndefined()
    store.close()
  })

  it('refuses bad options', async () => {
    const store = new NativeStore({ maxBytes: 1024 * 1024 })
    await expect(store.getOrLoad('gl:o:1', () => 'x', { staleWhileRevalidateMs: 10 })).rejects.toMatchObject({ code: 'BadArgument' })
    await expect(store.getOrLoad('gl:o:1', () => 'x', { ttlMs: -1 })).rejects.toMatchObject({ code: 'BadArgument' })
    await expect(store.getOrLoad('gl:o:1', 'x' as never)).rejects.toMatchObject({ code: 'BadArgument' })
    await expect(store.getOrLoad('bad key', () => 'x')).rejects.toMatchObject({ code: 'InvalidKey' })
    store.close()
  })
})

describe('getOrLoad on the client', () => {
  it('two connections missing at once: the lease lets one load, the other gets its value', async () => {
    let calls = 0
    const loader = async () => {
      calls++
      await sleep(100)
      return 'shared'
    }
    const [x, y] = await Promise.all([a.getOrLoad('gl:c:1', loader, { ttlMs: 60_000 }), b.getOrLoad('gl:c:1', loader, { ttlMs: 60_000 })])
    expect([text(x), text(y)]).toEqual(['shared', 'shared'])
    expect(calls).toBe(1)
    expect(text((await a.get('gl:c:1'))!)).toBe('shared')
  })

  it('across processes: 4 processes missing at once call the loader once', async () => {
    const script = join(tmpdir(), `lc-gl-${process.pid}.cjs`)
    writeFileSync(
      script,
      `const { LocalCachedClient } = require(${JSON.stringify(DIST)});
      (async () => {
        const client = await LocalCachedClient.connect(process.argv[2]);
        let loaded = false;
        const start = Number(process.argv[3]);
        while (Date.now() < start) await new Promise((r) => setTimeout(r, 1));
        const value = await client.getOrLoad('gl:p:1', async () => { loaded = true; await new Promise((r) => setTimeout(r, 300)); return 'from ' + process.pid; }, { ttlMs: 60000 });
        console.log(JSON.stringify({ loaded, value: value.toString() }));
        await client.close();
      })();`,
    )
    const start = Date.now() + 1500
    const results = await Promise.all(Array.from({ length: 4 }, () => runNode([script, socket, String(start)])))
    const outputs = results.map((r) => JSON.parse(r.stdout))
    expect(outputs.filter((o) => o.loaded)).toHaveLength(1)
    expect(new Set(outputs.map((o) => o.value)).size).toBe(1)
  }, 20_000)

  it('a failed load releases the lease at once, so the next asker loads without waiting', async () => {
    const slowFail = a.getOrLoad('gl:c:2', async () => {
      await sleep(50)
      throw new Error('source down')
    }, { lockTimeoutMs: 5_000 })
    await sleep(10)
    const started = Date.now()
    const waiting = b.getOrLoad('gl:c:2', () => 'second', { lockTimeoutMs: 5_000 })
    await expect(slowFail).rejects.toMatchObject({ code: 'LoaderFailed' })
    expect(text(await waiting)).toBe('second')
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('a hung holder bounds the others by lockTimeoutMs, then they load themselves', async () => {
    const hung = a.getOrLoad('gl:c:3', () => new Promise<string>(() => {}), { lockTimeoutMs: 150, loaderTimeoutMs: 2_000 })
    await sleep(10)
    const started = Date.now()
    expect(text(await b.getOrLoad('gl:c:3', () => 'rescued', { lockTimeoutMs: 150 }))).toBe('rescued')
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(100)
    expect(waited).toBeLessThan(1_500)
    await expect(hung).rejects.toMatchObject({ code: 'LoaderTimeout' })
  })

  it('a dead holder (connection closed) frees its lease', async () => {
    const doomed = await LocalCachedClient.connect(socket, { reconnect: { enabled: false } })
    const never = doomed.getOrLoad('gl:c:4', () => new Promise<string>(() => {}), { lockTimeoutMs: 10_000, loaderTimeoutMs: 300 }).catch((e) => e)
    await sleep(30)
    const started = Date.now()
    const waiting = b.getOrLoad('gl:c:4', () => 'alive', { lockTimeoutMs: 10_000 })
    await sleep(30)
    await doomed.close() // the holder vanishes while b waits for it
    expect(text(await waiting)).toBe('alive')
    expect(Date.now() - started).toBeLessThan(1_000)
    expect((await never).code).toBe('LoaderTimeout')
  })

  it('stale-while-revalidate through the daemon (and the near cache)', async () => {
    let n = 0
    const loader = async () => `r${++n}`
    const options = { ttlMs: 60, staleWhileRevalidateMs: 10_000 }
    expect(text(await b.getOrLoad('gl:c:5', loader, options))).toBe('r1')
    expect(text(await b.getOrLoad('gl:c:5', loader, options))).toBe('r1') // fresh, near
    await sleep(100)
    expect(text(await b.getOrLoad('gl:c:5', loader, options))).toBe('r1') // stale: served, refresh starts
    await eventually(async () => (await a.get('gl:c:5'))?.toString() === 'r2')
    expect(n).toBe(2)
    expect(text(await b.getOrLoad('gl:c:5', loader, options))).toBe('r2')
    expect(text(await a.getOrLoad('gl:c:5', loader, options))).toBe('r2')
  })

  it('a background refresh failure goes to onBackgroundError and the stale value stays', async () => {
    const errors: unknown[] = []
    const options = { ttlMs: 40, staleWhileRevalidateMs: 10_000, onBackgroundError: (e: unknown) => errors.push(e) }
    await a.getOrLoad('gl:c:6', () => 'good', options)
    await sleep(60)
    expect(text(await a.getOrLoad('gl:c:6', () => Promise.reject(new Error('nope')), options))).toBe('good')
    await eventually(() => errors.length === 1)
    expect(errors[0]).toMatchObject({ code: 'LoaderFailed' })
    expect(text((await a.get('gl:c:6'))!)).toBe('good')
  })
})
