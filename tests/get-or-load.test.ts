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
/** A promise and what settles it: a loader that awaits it stays in flight until the test says so. */
function gate<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}
const text = (buf: Buffer) => buf.toString()

describe('getOrLoad on NativeStore', () => {
  it('concurrent misses call the loader once; a hit does not call it', async () => {
    const store = new NativeStore({ maxBytes: 1024 * 1024 })
    let calls = 0
    const { promise: held, resolve: release } = gate()
    const loader = async () => {
      calls++
      await held // the load stays in flight until the test lets it finish
      return 'loaded'
    }
    const all = Promise.all(Array.from({ length: 20 }, () => store.getOrLoad('gl:n:1', loader, { ttlMs: 60_000 })))
    await eventually(() => calls > 0) // the loader runs, and every miss has asked meanwhile
    release()
    const values = await all
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
    const { promise: refreshHeld, resolve: releaseRefresh } = gate()
    const loader = async () => {
      version++
      if (version > 1) await refreshHeld // the refresh stays in flight while both stale reads are answered
      return `v${version}`
    }
    const options = { ttlMs: 50, staleWhileRevalidateMs: 5_000 }
    expect(text(await store.getOrLoad('gl:s:1', loader, options))).toBe('v1')
    await sleep(80) // past ttlMs: stale (the passage of time is what makes it stale)
    const stale = await Promise.all([store.getOrLoad('gl:s:1', loader, options), store.getOrLoad('gl:s:1', loader, options)])
    expect(stale.map(text)).toEqual(['v1', 'v1'])
    releaseRefresh()
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
    // The loader hangs until the test lets it answer, which it does only after the timeout.
    const { promise: late, resolve: answerLate } = gate<string>()
    const err = await store.getOrLoad('gl:t:1', () => late, { loaderTimeoutMs: 50 }).catch((e) => e)
    expect(err.code).toBe('LoaderTimeout')
    expect(Date.now() - started).toBeLessThan(250)
    answerLate('late')
    await late
    await new Promise((r) => setImmediate(r)) // one turn of the event loop: whatever waited on the late value has run
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
    const { promise: held, resolve: release } = gate()
    const loader = async () => {
      calls++
      await held // the holder's load stays in flight until the other connection was refused
      return 'shared'
    }
    const refused = (await a.stats()).leasesRefused!
    const both = Promise.all([a.getOrLoad('gl:c:1', loader, { ttlMs: 60_000 }), b.getOrLoad('gl:c:1', loader, { ttlMs: 60_000 })])
    // One connection holds the lease and loads; the other was refused it and waits for the value.
    await eventually(async () => calls > 0 && (await a.stats()).leasesRefused! > refused)
    release()
    const [x, y] = await both
    expect([text(x), text(y)]).toEqual(['shared', 'shared'])
    expect(calls).toBe(1)
    expect(text((await a.get('gl:c:1'))!)).toBe('shared')
  })

  it('across processes: 4 processes missing at once call the loader once', async () => {
    const script = join(tmpdir(), `lc-gl-${process.pid}.cjs`)
    writeFileSync(
      script,
      `const { LocalCachedClient } = require(${JSON.stringify(DIST)});
      // Polls until check() holds or ms pass.
      const until = async (check, ms) => {
        const deadline = Date.now() + ms;
        while (!(await check()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
      };
      (async () => {
        const client = await LocalCachedClient.connect(process.argv[2]);
        const count = async (table) => (await client.keys({ svc: 'gl', table })).keys.length;
        // getOrLoad reads the key a second time only once it was refused the lease and waits
        // for the holder's value: each process says so, once, with a key of its own.
        const read = client.getWithMeta.bind(client);
        let reads = 0;
        client.getWithMeta = async (key, options) => {
          if (key === 'gl:p:1' && ++reads === 2) await client.put('gl:pwait:' + process.pid, '1');
          return read(key, options);
        };
        let loaded = false;
        // Start together: each process says it is here, then waits until all four are.
        await client.put('gl:pready:' + process.pid, '1');
        await until(async () => (await count('pready')) >= 4, 10000);
        // The one that gets the lease holds it until the other three wait on it (at most 3 s,
        // inside their lockTimeoutMs of 5 s).
        const value = await client.getOrLoad('gl:p:1', async () => { loaded = true; await until(async () => (await count('pwait')) >= 3, 3000); return 'from ' + process.pid; }, { ttlMs: 60000 });
        console.log(JSON.stringify({ loaded, value: value.toString() }));
        await client.close();
      })();`,
    )
    const results = await Promise.all(Array.from({ length: 4 }, () => runNode([script, socket])))
    const outputs = results.map((r) => JSON.parse(r.stdout))
    expect(outputs.filter((o) => o.loaded)).toHaveLength(1)
    expect(new Set(outputs.map((o) => o.value)).size).toBe(1)
  }, 20_000)

  it('a failed load releases the lease at once, so the next asker loads without waiting', async () => {
    let holding = false
    const { promise: failNow, resolve: fail } = gate()
    const slowFail = a.getOrLoad('gl:c:2', async () => {
      holding = true
      await failNow
      throw new Error('source down')
    }, { lockTimeoutMs: 5_000 })
    await eventually(() => holding) // a holds the lease: its loader runs
    const refused = (await a.stats()).leasesRefused!
    const started = Date.now()
    const waiting = b.getOrLoad('gl:c:2', () => 'second', { lockTimeoutMs: 5_000 })
    await eventually(async () => (await a.stats()).leasesRefused! > refused) // b was refused and waits
    fail()
    await expect(slowFail).rejects.toMatchObject({ code: 'LoaderFailed' })
    expect(text(await waiting)).toBe('second')
    expect(Date.now() - started).toBeLessThan(1_000)
  })

  it('a hung holder bounds the others by lockTimeoutMs, then they load themselves', async () => {
    let holding = false
    const hung = a.getOrLoad('gl:c:3', () => {
      holding = true
      return new Promise<string>(() => {})
    }, { lockTimeoutMs: 150, loaderTimeoutMs: 2_000 })
    await eventually(() => holding) // a holds the lease: its loader runs
    const started = Date.now()
    expect(text(await b.getOrLoad('gl:c:3', () => 'rescued', { lockTimeoutMs: 150 }))).toBe('rescued')
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(100)
    expect(waited).toBeLessThan(1_500)
    await expect(hung).rejects.toMatchObject({ code: 'LoaderTimeout' })
  })

  it('a dead holder (connection closed) frees its lease', async () => {
    const doomed = await LocalCachedClient.connect(socket, { reconnect: { enabled: false } })
    let holding = false
    const never = doomed.getOrLoad('gl:c:4', () => {
      holding = true
      return new Promise<string>(() => {})
    }, { lockTimeoutMs: 10_000, loaderTimeoutMs: 300 }).catch((e) => e)
    await eventually(() => holding) // doomed holds the lease: its loader runs
    const refused = (await a.stats()).leasesRefused!
    const started = Date.now()
    const waiting = b.getOrLoad('gl:c:4', () => 'alive', { lockTimeoutMs: 10_000 })
    await eventually(async () => (await a.stats()).leasesRefused! > refused) // b was refused and waits
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
    await sleep(100) // past ttlMs: stale (the passage of time is what makes it stale)
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
    await sleep(60) // past ttlMs: stale (the passage of time is what makes it stale)
    expect(text(await a.getOrLoad('gl:c:6', () => Promise.reject(new Error('nope')), options))).toBe('good')
    await eventually(() => errors.length === 1)
    expect(errors[0]).toMatchObject({ code: 'LoaderFailed' })
    expect(text((await a.get('gl:c:6'))!)).toBe('good')
  })
})

describe('LoadCoordinator and the lease', () => {
  it('a value written between our miss and our lease is used, and the lease given back: the loader does not run', async () => {
    const { LoadCoordinator } = await import('../ts/load/get-or-load')
    // Another process loads and writes between our read and our lease; its write ended its lease.
    let stored: Buffer | null = null
    const log: string[] = []
    const coordinator = new LoadCoordinator({
      read: () => {
        log.push('read')
        return stored === null ? null : { value: stored, ttlMs: null }
      },
      write: () => {
        log.push('write')
      },
      lease: async () => {
        stored = Buffer.from('theirs') // landed just before our lease was granted
        log.push('lease')
        return true
      },
      release: async () => {
        log.push('release')
      },
    })
    let loads = 0
    const value = await coordinator.getOrLoad('gl:race:1', async () => {
      loads++
      return 'ours'
    })
    expect(value.toString()).toBe('theirs')
    expect(loads).toBe(0)
    expect(log).toEqual(['read', 'lease', 'read', 'release'])
  })
})
