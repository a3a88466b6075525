// RESP compatibility: real Redis clients (ioredis, node-redis, redis-cli) against the daemon.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import Redis from 'ioredis'
import { createClient } from 'redis'
import { LocalCachedClient, serve, type CacheEvent, type DaemonServer } from '../ts/index'
import { ROOT, eventually, requireTool, tempSocketPath } from './helpers'

const run = promisify(execFile)
const redisCli = requireTool('redis-cli')

let server: DaemonServer
let socket: string
let respSocket: string
let ioredis: Redis

beforeAll(async () => {
  socket = tempSocketPath()
  respSocket = tempSocketPath()
  server = await serve({ socket, respSocket, respPort: 0, logLevel: 'silent', maxValueBytes: 64 * 1024 })
  ioredis = new Redis({ path: respSocket, lazyConnect: true, maxRetriesPerRequest: 0 })
  await ioredis.connect()
})

afterAll(async () => {
  ioredis.disconnect()
  await server.close()
})

describe('RESP with ioredis', () => {
  it('strings: GET, SET with EX/PX/NX/XX/GET/KEEPTTL, GETDEL, DEL, EXISTS, MGET, MSET', async () => {
    expect(await ioredis.set('r:s:1', 'one')).toBe('OK')
    expect(await ioredis.get('r:s:1')).toBe('one')
    expect(await ioredis.set('r:s:1', 'x', 'NX')).toBeNull()
    expect(await ioredis.set('r:s:none', 'x', 'XX')).toBeNull()
    expect(await ioredis.set('r:s:1', 'two', 'XX', 'GET')).toBe('one')
    expect(await ioredis.set('r:s:2', 'v', 'EX', 100)).toBe('OK')
    expect(await ioredis.ttl('r:s:2')).toBe(100)
    expect(await ioredis.set('r:s:2', 'w', 'KEEPTTL')).toBe('OK')
    expect(await ioredis.pttl('r:s:2')).toBeGreaterThan(99_000)
    expect(await ioredis.set('r:s:3', 'v', 'PX', 60_000)).toBe('OK')
    expect(await ioredis.getdel('r:s:3')).toBe('v')
    expect(await ioredis.get('r:s:3')).toBeNull()
    expect(await ioredis.mset('r:m:1', 'a', 'r:m:2', 'b')).toBe('OK')
    expect(await ioredis.mget('r:m:1', 'r:m:none', 'r:m:2')).toEqual(['a', null, 'b'])
    expect(await ioredis.exists('r:m:1', 'r:m:1', 'r:m:none')).toBe(2)
    expect(await ioredis.del('r:m:1', 'r:m:2', 'r:m:none')).toBe(2)
    const binary = Buffer.from([0, 255, 13, 10, 1])
    await ioredis.set('r:s:bin', binary)
    expect(await ioredis.getBuffer('r:s:bin')).toEqual(binary)
  })

  it('counters and expiry: INCR, INCRBY, DECR, DECRBY over i64; EXPIRE, PEXPIRE, TTL, PTTL, PERSIST', async () => {
    expect(await ioredis.incr('r:c:1')).toBe(1)
    expect(await ioredis.incrby('r:c:1', 41)).toBe(42)
    expect(await ioredis.decr('r:c:1')).toBe(41)
    expect(await ioredis.decrby('r:c:1', 50)).toBe(-9)
    await ioredis.set('r:c:big', '9223372036854775806')
    expect(await ioredis.incr('r:c:big')).toBe(9223372036854775807)
    await expect(ioredis.incr('r:c:big')).rejects.toThrow('ERR increment or decrement would overflow')
    await ioredis.set('r:c:text', 'abc')
    await expect(ioredis.incr('r:c:text')).rejects.toThrow('ERR value is not an integer or out of range')
    await ioredis.set('r:e:1', 'v')
    expect(await ioredis.ttl('r:e:1')).toBe(-1)
    expect(await ioredis.expire('r:e:1', 50)).toBe(1)
    expect(await ioredis.ttl('r:e:1')).toBe(50)
    expect(await ioredis.pexpire('r:e:1', 70_000)).toBe(1)
    expect(await ioredis.pttl('r:e:1')).toBeGreaterThan(69_000)
    expect(await ioredis.persist('r:e:1')).toBe(1)
    expect(await ioredis.persist('r:e:1')).toBe(0)
    expect(await ioredis.ttl('r:e:none')).toBe(-2)
    expect(await ioredis.expire('r:e:none', 5)).toBe(0)
    expect(await ioredis.expire('r:e:1', 0)).toBe(1) // a non-positive TTL deletes, as in Redis
    expect(await ioredis.exists('r:e:1')).toBe(0)
  })

  it('keyspace: DBSIZE, KEYS, SCAN with MATCH and COUNT, FLUSHALL; INFO fields', async () => {
    await ioredis.flushall()
    await ioredis.mset(...Array.from({ length: 50 }, (_, i) => [`k:scan:${i}`, 'v']).flat())
    await ioredis.set('k:other:1', 'v')
    expect(await ioredis.dbsize()).toBe(51)
    expect((await ioredis.keys('k:scan:1*')).sort()).toEqual(['k:scan:1', ...Array.from({ length: 10 }, (_, i) => `k:scan:1${i}`)].sort())
    const seen = new Set<string>()
    let cursor = '0'
    do {
      const [next, keys] = await ioredis.scan(cursor, 'MATCH', 'k:scan:*', 'COUNT', 7)
      keys.forEach((k) => seen.add(k))
      cursor = next
    } while (cursor !== '0')
    expect(seen.size).toBe(50)
    const info = await ioredis.info()
    for (const field of ['keyspace_hits', 'keyspace_misses', 'evicted_keys', 'expired_keys', 'used_memory', 'maxmemory', 'connected_clients', 'redis_version', 'tracking_clients', 'tracking_total_keys', 'load_leases_current', 'load_leases_granted']) {
      expect(info).toContain(`${field}:`)
    }
    // A near-cache client shows up in the tracking fields.
    const near = await LocalCachedClient.connect(socket, { nearCache: { maxBytes: 1024 * 1024 } })
    await near.put('r:info:1', 'v')
    await near.get('r:info:1')
    const withNear = await ioredis.info()
    expect(withNear).toMatch(/tracking_clients:1\r\n/)
    expect(withNear).toMatch(/tracking_total_keys:1\r\n/)
    await near.close()
    expect(await ioredis.flushall()).toBe('OK')
    expect(await ioredis.dbsize()).toBe(0)
  })

  it('connection commands, pipelines, and errors that keep the connection', async () => {
    expect(await ioredis.ping()).toBe('PONG')
    await expect(ioredis.call('HELLO', '3')).rejects.toThrow('NOPROTO')
    expect(await ioredis.echo('hi')).toBe('hi')
    expect(await ioredis.select(0)).toBe('OK')
    await expect(ioredis.select(1)).rejects.toThrow('ERR DB index is out of range')
    expect(await ioredis.client('SETNAME', 'tester')).toBe('OK')
    expect(await ioredis.client('GETNAME')).toBe('tester')
    const results = await ioredis.pipeline().set('p:l:1', 'a').get('p:l:1').incr('p:l:n').get('p:l:none').exec()
    expect(results).toEqual([[null, 'OK'], [null, 'a'], [null, 1], [null, null]])
    await expect(ioredis.get('not-a-key')).rejects.toThrow("ERR invalid key 'not-a-key': expected svc:table:pk")
    await expect(ioredis.call('NOSUCH', 'x')).rejects.toThrow("ERR unknown command 'NOSUCH'")
    await expect(ioredis.call('GET')).rejects.toThrow("ERR wrong number of arguments for 'get' command")
    expect(await ioredis.ping()).toBe('PONG')
  })

  it('LC verbs reach native subscribers, and native writes are read back over RESP unchanged', async () => {
    const native = await LocalCachedClient.connect(socket)
    const sub = await native.subscribe()
    expect(await ioredis.call('LC.UPSERT', 'shop', 'orders', '7', 'row-7', 'PX', '60000', 'VERSION', '3')).toBe('OK')
    expect(await ioredis.call('LC.INVALIDATE', 'shop:orders:8')).toBe(0)
    expect(await ioredis.call('LC.INVALIDATETABLE', 'shop', 'orders')).toBe(1)
    const events: CacheEvent[] = []
    for (let i = 0; i < 3; i++) events.push((await sub.next()).value as CacheEvent)
    expect(events).toEqual([
      { type: 'table_changed', key: 'shop:orders:7' },
      { type: 'invalidate', key: 'shop:orders:8' },
      { type: 'invalidate_scope', scope: 'table', svc: 'shop', table: 'orders', removed: 1 },
    ])
    const bytes = Buffer.from([1, 2, 3, 0, 255])
    await native.put('x:proto:1', bytes)
    expect(await ioredis.getBuffer('x:proto:1')).toEqual(bytes)
    await ioredis.set('x:proto:2', bytes)
    expect(await native.get('x:proto:2')).toEqual(bytes)
    const stats = (await ioredis.callBuffer('LC.STATS')) as Buffer
    expect(stats.subarray(0, 4).toString()).toBe('LCST')
    sub.close()
    await native.close()
  })
})

describe('RESP pub/sub', () => {
  it('SUBSCRIBE and PSUBSCRIBE receive events from RESP and native writes, filtered by channel pattern', async () => {
    const sub = new Redis({ path: respSocket, lazyConnect: true })
    await sub.connect()
    const messages: Array<[string, string]> = []
    sub.on('message', (channel: string, message: string) => messages.push([channel, message]))
    sub.on('pmessage', (_pattern: string, channel: string, message: string) => messages.push([`p:${channel}`, message]))
    expect(await sub.subscribe('localcached:table_changed:shop:orders', 'localcached:flush')).toBe(2)
    expect(await sub.psubscribe('localcached:*:blog:*')).toBe(3)
    const native = await LocalCachedClient.connect(socket)
    await native.tableChangedUpsert('shop', 'orders', '1', 'row')
    await ioredis.call('LC.INVALIDATE', 'blog:posts:9')
    await native.invalidate('shop:carts:1') // no one listens to this channel
    await ioredis.flushall()
    const deadline = Date.now() + 5000
    while (messages.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(messages).toEqual([
      ['localcached:table_changed:shop:orders', JSON.stringify({ type: 'table_changed', key: 'shop:orders:1' })],
      ['p:localcached:invalidate:blog:posts', JSON.stringify({ type: 'invalidate', key: 'blog:posts:9' })],
      ['localcached:flush', JSON.stringify({ type: 'flush' })],
    ])
    expect((await native.stats()).subscribersCurrent).toBeGreaterThanOrEqual(1)
    expect(await sub.unsubscribe('localcached:table_changed:shop:orders', 'localcached:flush')).toBe(1)
    expect(await sub.punsubscribe()).toBe(0)
    expect(await sub.get('a:b:c')).toBeNull() // back to normal mode
    sub.disconnect()
    await native.close()
  })
})

describe('RESP subscribed mode', () => {
  it('refuses other commands while subscribed, as Redis does', async () => {
    const { connect } = await import('node:net')
    const raw = connect(respSocket)
    let got = ''
    raw.on('data', (d) => (got += d))
    raw.write('SUBSCRIBE localcached:flush\r\nGET a:b:c\r\nPING\r\n')
    const deadline = Date.now() + 5000
    while (!got.includes('pong') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    raw.destroy()
    expect(got).toContain('*3\r\n$9\r\nsubscribe\r\n$17\r\nlocalcached:flush\r\n:1\r\n')
    expect(got).toContain("-ERR Can't execute 'get': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
  })
})

describe('RESP with node-redis over TCP', () => {
  it('works for the common commands', async () => {
    // RESP2: localcached answers HELLO 3 with NOPROTO, as a Redis without RESP3 would.
    const client = createClient({ RESP: 2, socket: { host: '127.0.0.1', port: server.respPort! } })
    await client.connect()
    expect(await client.set('nr:k:1', 'v1')).toBe('OK')
    expect(await client.get('nr:k:1')).toBe('v1')
    expect(await client.incrBy('nr:k:n', 5)).toBe(5)
    expect(await client.mGet(['nr:k:1', 'nr:k:none'])).toEqual(['v1', null])
    expect(await client.del('nr:k:1')).toBe(1)
    await client.quit()
  })
})

describe.skipIf(redisCli.skip)(redisCli.title('RESP with redis-cli'), () => {
  // Asynchronous (execFile, not execFileSync): the daemon answering redis-cli runs in this process.
  const cli = async (...args: string[]) => (await run('redis-cli', ['-s', respSocket, ...args], { encoding: 'utf8' })).stdout.trim()

  it('answers redis-cli commands with the output Redis would give', async () => {
    expect(await cli('PING')).toBe('PONG')
    expect(await cli('SET', 'cli:r:1', 'hello')).toBe('OK')
    expect(await cli('GET', 'cli:r:1')).toBe('hello')
    expect(await cli('INCR', 'cli:r:n')).toBe('1')
    expect(await cli('EXISTS', 'cli:r:1', 'cli:r:none')).toBe('1')
    expect(await cli('DEL', 'cli:r:1')).toBe('1')
    expect(await cli('GET', 'cli:r:1')).toBe('')
    expect(await cli('GET', 'nope')).toMatch(/^ERR invalid key 'nope'/)
    expect(await cli('DBSIZE')).toMatch(/^\d+$/)
    expect(await cli('MSET', 'cli:r:a', '1', 'cli:r:b', '2')).toBe('OK')
    expect(await cli('MGET', 'cli:r:a', 'cli:r:b')).toBe('1\n2')
  })
})

describe('RESP alone, without the native socket', () => {
  it('serve({ socket: false }) binds only the RESP listener; without any listener it refuses', async () => {
    const only = tempSocketPath()
    const respOnly = await serve({ socket: false, respSocket: only, logLevel: 'silent' })
    try {
      expect(respOnly.socketPath).toBeNull()
      const client = new Redis({ path: only, lazyConnect: true, maxRetriesPerRequest: 0 })
      await client.connect()
      expect(await client.set('alone:k:1', 'v')).toBe('OK')
      expect(await client.get('alone:k:1')).toBe('v')
      client.disconnect()
    } finally {
      await respOnly.close()
    }
    expect(existsSync(only)).toBe(false)
    await expect(serve({ socket: false, logLevel: 'silent' })).rejects.toMatchObject({ code: 'BadArgument' })
  })

  it.skipIf(redisCli.skip)(redisCli.title('`serve --no-socket --resp-socket` runs a RESP-only daemon from the CLI'), async () => {
    const only = tempSocketPath()
    const nativeDefault = tempSocketPath()
    const child = spawn(process.execPath, [join(ROOT, 'dist/cjs/cli.js'), 'serve', '--no-socket', '--resp-socket', only, '--log-level', 'silent'], {
      stdio: 'ignore',
      env: { ...process.env, LOCALCACHED_SOCKET: nativeDefault },
    })
    try {
      await eventually(() => existsSync(only))
      expect((await run('redis-cli', ['-s', only, 'PING'], { encoding: 'utf8' })).stdout.trim()).toBe('PONG')
      expect(existsSync(nativeDefault)).toBe(false)
    } finally {
      const exited = new Promise((resolve) => child.on('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    expect(existsSync(only)).toBe(false)
  })
})
