// The typed facade (raw, json, cbor, custom codecs) and the Keyv adapter with the real keyv
// and cache-manager packages.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Keyv from 'keyv'
import { createCache } from 'cache-manager'
import { LocalCachedClient, NativeStore, serve, type DaemonServer } from '../ts/index'
import { KeyvLocalcached } from '../ts/keyv'
import { eventually, tempSocketPath } from './helpers'

let server: DaemonServer
let socket: string
let client: LocalCachedClient

beforeAll(async () => {
  socket = tempSocketPath()
  server = await serve({ socket, logLevel: 'silent' })
  client = await LocalCachedClient.connect(socket, { nearCache: { maxBytes: 1024 * 1024 } })
})

afterAll(async () => {
  await client.close()
  await server.close()
})

interface Order {
  id: number
  items: string[]
  at?: Date
}

describe('typed<T>()', () => {
  it('json, cbor, raw and a custom codec round-trip on the client', async () => {
    const json = client.typed<Order>({ codec: 'json' })
    await json.set('ty:o:1', { id: 1, items: ['a', 'b'] })
    expect(await json.get('ty:o:1')).toEqual({ id: 1, items: ['a', 'b'] })
    expect((await client.get('ty:o:1'))!.toString()).toBe('{"id":1,"items":["a","b"]}')

    const cbor = client.typed<Order>({ codec: 'cbor' })
    const at = new Date('2026-11-22T00:00:00Z')
    await cbor.set('ty:o:2', { id: 2, items: [], at })
    expect(await cbor.get('ty:o:2')).toEqual({ id: 2, items: [], at })

    const raw = client.typed()
    await raw.set('ty:o:3', Buffer.from([1, 2, 3]))
    expect(await raw.get('ty:o:3')).toEqual(Buffer.from([1, 2, 3]))
    await expect(raw.set('ty:o:3', 'text' as never)).rejects.toMatchObject({ code: 'BadArgument' })

    const upper = client.typed<string>({ codec: { encode: (s) => s.toUpperCase(), decode: (b) => b.toString().toLowerCase() } })
    await upper.set('ty:o:4', 'Mixed')
    expect((await client.get('ty:o:4'))!.toString()).toBe('MIXED')
    expect(await upper.get('ty:o:4')).toBe('mixed')

    expect(await json.get('ty:o:none')).toBeUndefined()
    expect(await json.delete('ty:o:1')).toBe(true)
    expect(await json.get('ty:o:1')).toBeUndefined()
  })

  it('getOrLoad encodes what the loader returns and decodes what is stored', async () => {
    const orders = client.typed<Order>({ codec: 'json' })
    let calls = 0
    const load = async (key: string) => ({ id: Number(key.split(':')[2]), items: [`loaded ${++calls}`] })
    expect(await orders.getOrLoad('ty:l:7', load, { ttlMs: 60_000 })).toEqual({ id: 7, items: ['loaded 1'] })
    expect(await orders.getOrLoad('ty:l:7', load, { ttlMs: 60_000 })).toEqual({ id: 7, items: ['loaded 1'] })
    expect(calls).toBe(1)
  })

  it('works the same over NativeStore, and reports undecodable values', async () => {
    const store = new NativeStore({ maxBytes: 1024 * 1024 })
    const cache = store.typed<Order>({ codec: 'json' })
    await cache.set('ty:n:1', { id: 1, items: [] })
    expect(await cache.get('ty:n:1')).toEqual({ id: 1, items: [] })
    store.set('ty:n:2', 'not json')
    await expect(cache.get('ty:n:2')).rejects.toMatchObject({ code: 'BadArgument' })
    expect(() => store.typed({ codec: 'yaml' as never })).toThrow(expect.objectContaining({ code: 'BadArgument' }))
    store.close()
  })
})

describe('KeyvLocalcached', () => {
  it('maps any Keyv key into pk reversibly', () => {
    const store = new KeyvLocalcached({ socket, svc: 'kv', table: 'cache' })
    store.namespace = 'my ns'
    for (const key of ['my ns:plain', 'my ns:with spaces/and:colons', 'my ns:ünïcødé 😀', 'other:key', 'nonamespace']) {
      const cacheKey = store.toCacheKey(key)
      expect(cacheKey).toMatch(/^kv:cache:[A-Za-z0-9._-]+$/)
      expect(store.fromCacheKey(cacheKey)).toBe(key)
    }
    void store.disconnect()
  })

  it('works under the real keyv: get, set with ttl, delete, has, getMany, clear per namespace', async () => {
    const keyv = new Keyv({ store: new KeyvLocalcached({ socket, svc: 'kv', table: 'cache' }), namespace: 'users' })
    const sessions = new KeyvLocalcached({ socket, svc: 'kv', table: 'cache' })
    const other = new Keyv({ store: sessions, namespace: 'sessions' })
    await keyv.set('alice', { name: 'Alice', roles: ['admin'] })
    await keyv.set('bob:1', 'a string')
    await other.set('alice', 'session-1')
    expect(await keyv.get('alice')).toEqual({ name: 'Alice', roles: ['admin'] })
    expect(await keyv.get('bob:1')).toBe('a string')
    expect(await keyv.has('alice')).toBe(true)
    expect(await keyv.get(['alice', 'nobody'])).toEqual([{ name: 'Alice', roles: ['admin'] }, undefined])
    await keyv.set('short', 'lived', 50)
    expect(await keyv.get('short')).toBe('lived')
    // Gone by 80 ms, as before: the last check runs no earlier than that.
    await eventually(async () => (await keyv.get('short')) === undefined, 80)
    expect(await keyv.get('short')).toBeUndefined()
    expect(await keyv.delete('bob:1')).toBe(true)
    expect(await keyv.get('bob:1')).toBeUndefined()
    await keyv.clear()
    expect(await keyv.get('alice')).toBeUndefined()
    expect(await other.get('alice')).toBe('session-1') // another namespace survives
    const entries: Array<[string, unknown]> = []
    for await (const entry of sessions.iterator('sessions')) entries.push(entry)
    expect(entries.map(([k, v]) => [k, JSON.parse(v as string).value])).toEqual([['sessions:alice', 'session-1']])
    await keyv.disconnect()
    await other.disconnect()
  })

  it('works under cache-manager: set, get, wrap, del', async () => {
    const cache = createCache({ stores: [new Keyv({ store: new KeyvLocalcached({ socket, svc: 'cm', table: 'cache' }) })] })
    await cache.set('answer', 42, 60_000)
    expect(await cache.get('answer')).toBe(42)
    let calls = 0
    const compute = async () => ({ computed: ++calls })
    expect(await cache.wrap('wrapped', compute, 60_000)).toEqual({ computed: 1 })
    expect(await cache.wrap('wrapped', compute, 60_000)).toEqual({ computed: 1 })
    expect(await cache.del('answer')).toBe(true)
    expect(await cache.get('answer')).toBeUndefined()
    // Another process's client sees what cache-manager stored.
    const keys = await client.keys({ svc: 'cm', table: 'cache' })
    expect(keys.keys.length).toBeGreaterThanOrEqual(1)
    await cache.disconnect()
  })

  it('refuses bad options and reports connection failures as errors', async () => {
    expect(() => new KeyvLocalcached({ svc: 'bad svc', table: 't' })).toThrow(expect.objectContaining({ code: 'BadArgument' }))
    const broken = new KeyvLocalcached({ socket: tempSocketPath(), svc: 'kv', table: 't', connect: { reconnect: { enabled: false } } })
    const errors: unknown[] = []
    broken.on('error', (e) => errors.push(e))
    await expect(broken.get('x')).rejects.toMatchObject({ code: 'ConnectionLost' })
    expect(errors).toHaveLength(1)
  })
})
