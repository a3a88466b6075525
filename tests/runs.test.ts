// Runs: the binding's getRun and putRun (many gets or plain puts in one call, keys and values
// as spans of bytes), and the daemon's doors executing consecutive requests of one read as
// runs. What a run means is checked against the single path in the conformance table
// (tests/conformance.test.ts, "pipelined runs"); here: the calls' bounds and the doors'
// order, stops and back-pressure.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { connect } from 'node:net'
import { NativeStore } from '../ts/native-store'
import { Operations } from '../ts/server/operations'
import { RunOutcome } from '../ts/native-store-runs'
import { loadBinding } from '../ts/loader'
import { READ_CODES } from '../ts/native-store-types'
import { encodeMessage } from '../ts/protocol/codec'
import { RawConnection, eventually, requireTool, startDaemon, tempSocketPath, type TestDaemon } from './helpers'
import { Engine } from './engines'

/** `keys` (and values) joined into one source with their spans: [start, end] per key, or [key start, key end, value start, value end] per entry. */
function spansOf(parts: Array<string | [string, string | Buffer]>): { source: Buffer; spans: Int32Array } {
  const chunks: Buffer[] = []
  const spans: number[] = []
  let at = 3 // not at 0: spans are offsets in source, wherever the bytes lie
  chunks.push(Buffer.from('---'))
  const add = (bytes: Buffer) => {
    spans.push(at, at + bytes.length)
    chunks.push(bytes)
    at += bytes.length
  }
  for (const part of parts) {
    if (typeof part === 'string') add(Buffer.from(part))
    else {
      add(Buffer.from(part[0]))
      add(Buffer.isBuffer(part[1]) ? part[1] : Buffer.from(part[1]))
    }
  }
  return { source: Buffer.concat(chunks), spans: Int32Array.from(spans) }
}

function code(run: () => unknown): string | undefined {
  try {
    run()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

const stores: NativeStore[] = []
function store(options: ConstructorParameters<typeof NativeStore>[0] = {}): NativeStore {
  const s = new NativeStore({ sweepIntervalMs: 0, ...options })
  stores.push(s)
  return s
}
afterEach(() => {
  for (const s of stores.splice(0)) s.close()
})

describe('getRun', () => {
  it('copies hits one after another into the target, counted as get() counts them', () => {
    const s = store()
    s.set('a:b:1', 'one')
    s.set('a:b:2', '')
    s.set('a:b:3', 'three')
    const { source, spans } = spansOf(['a:b:1', 'a:b:9', 'a:b:2', 'a:b:3'])
    const target = Buffer.alloc(64)
    const run = new RunOutcome()
    expect(s.runs.getRun(source, spans, 4, target, run)).toBe(4)
    expect([...run.results.subarray(0, 4)]).toEqual([3, READ_CODES.miss, 0, 5])
    expect(target.toString('latin1', 0, 8)).toBe('onethree')
    expect(run.failure).toBeUndefined()
    expect(s.stats()).toMatchObject({ getCalls: 4, getHits: 3, getMisses: 1 })
  })

  it('with stopAtMiss, stops after each miss (for the door to ask a second tier before the next key)', () => {
    const s = store()
    s.set('a:b:1', 'one')
    const { source, spans } = spansOf(['a:b:1', 'a:b:9', 'a:b:1', 'a:b:8'])
    const run = new RunOutcome()
    const target = Buffer.alloc(16)
    expect(s.runs.getRun(source, spans, 4, target, run, true)).toBe(2)
    expect([...run.results.subarray(0, 2)]).toEqual([3, READ_CODES.miss])
    expect(s.runs.getRun(source, spans.subarray(4), 2, target, run, true)).toBe(2)
    expect(s.stats()).toMatchObject({ getCalls: 4, getHits: 2, getMisses: 2 })
    expect(code(() => (rawStore().getRun as (...a: unknown[]) => unknown)(source, spans, 1, target, new Int32Array(4), [], [], 'yes'))).toBe('BadArgument')
  })

  it('reports an expired entry as missExpired and delivers its removal', () => {
    const s = store({ clock: 'manual' })
    s.set('a:b:1', 'x', { ttlMs: 10 })
    const removed: string[] = []
    s.onRemoval((n) => removed.push(`${n.cause} ${'key' in n ? n.key : ''}`))
    s.advanceClock(20)
    const { source, spans } = spansOf(['a:b:1'])
    const run = new RunOutcome()
    expect(s.runs.getRun(source, spans, 1, Buffer.alloc(8), run)).toBe(1)
    expect(run.results[0]).toBe(READ_CODES.missExpired)
    expect(removed).toEqual(['expired a:b:1'])
  })

  it('puts a value that does not fit in what is left of the target in overflow, and stops after it', () => {
    const s = store()
    s.set('a:b:1', 'aaaa')
    s.set('a:b:2', 'bbbbbbbb')
    s.set('a:b:3', 'c')
    const { source, spans } = spansOf(['a:b:1', 'a:b:2', 'a:b:3'])
    const run = new RunOutcome()
    const target = Buffer.alloc(6)
    expect(s.runs.getRun(source, spans, 3, target, run)).toBe(2)
    expect(run.results[0]).toBe(4)
    expect(run.results[1]).toBe(READ_CODES.inOverflow)
    expect(run.overflow[1].toString()).toBe('bbbbbbbb')
    // The rest goes on from the next key, with the whole target again.
    expect(s.runs.getRun(source, spans.subarray(4), 1, target, run)).toBe(1)
    expect(target.toString('latin1', 0, 1)).toBe('c')
    expect(s.stats()).toMatchObject({ getCalls: 3, getHits: 3 })
    // An empty target holds nothing but empty values.
    expect(s.runs.getRun(source, spans, 1, Buffer.alloc(0), run)).toBe(1)
    expect(run.overflow[0].toString()).toBe('aaaa')
  })

  it('stops before a key that breaks the key rule, with its coded error, having counted nothing for it', () => {
    const s = store()
    s.set('a:b:1', 'x')
    const { source, spans } = spansOf(['a:b:1', 'nocolons', 'a:b:1'])
    const run = new RunOutcome()
    expect(s.runs.getRun(source, spans, 3, Buffer.alloc(8), run)).toBe(1)
    expect(run.failure?.code).toBe('InvalidKey')
    expect(run.failure?.message).toBe(messageOf(() => s.get('nocolons')))
    expect(s.stats().getCalls).toBe(1)
  })

  it('leaves a key with bytes outside ASCII to get(), without an error', () => {
    const s = store()
    const { source, spans } = spansOf(['a:b:1', 'a:b:é'])
    const run = new RunOutcome()
    expect(s.runs.getRun(source, spans, 2, Buffer.alloc(8), run)).toBe(1)
    expect(run.failure).toBeUndefined()
  })

  it('answers bad arguments with BadArgument, never a crash', () => {
    const s = store()
    const raw = rawStore()
    const { source, spans } = spansOf(['a:b:1', 'a:b:2'])
    const target = Buffer.alloc(16)
    const results = new Int32Array(4)
    const call = (...args: unknown[]) => code(() => (raw.getRun as (...a: unknown[]) => unknown)(...args))
    expect(call(source, spans, 2, target, results, [], [])).toBeUndefined()
    // Counts: negative, fractional, more than the spans hold, more than results holds.
    expect(call(source, spans, -1, target, results, [], [])).toBe('BadArgument')
    expect(call(source, spans, 1.5, target, results, [], [])).toBe('BadArgument')
    expect(call(source, spans, 3, target, new Int32Array(8), [], [])).toBe('BadArgument')
    expect(call(source, spans, 2, target, new Int32Array(1), [], [])).toBe('BadArgument')
    // Spans outside the source, or ending before they start.
    expect(call(source, Int32Array.from([0, source.length + 1]), 1, target, results, [], [])).toBe('BadArgument')
    expect(call(source, Int32Array.from([-1, 2]), 1, target, results, [], [])).toBe('BadArgument')
    expect(call(source, Int32Array.from([4, 2]), 1, target, results, [], [])).toBe('BadArgument')
    // Wrong types.
    expect(call('a:b:1', spans, 1, target, results, [], [])).toBe('BadArgument')
    expect(call(source, [3, 8], 1, target, results, [], [])).toBe('BadArgument')
    expect(call(source, spans, 1, 'target', results, [], [])).toBe('BadArgument')
    expect(call(source, spans, 1, target, [0], [], [])).toBe('BadArgument')
    expect(call(source, spans, 1, target, results, [], undefined)).toBe('BadArgument')
    // A bad overflow is refused before any get is counted or any removal queued.
    expect(call(source, spans, 1, target, results, undefined, [])).toBe('BadArgument')
    // A target sharing bytes with what is read, or with the results.
    expect(call(source, spans, 1, source.subarray(2), results, [], [])).toBe('BadArgument')
    const shared = new ArrayBuffer(64)
    expect(call(source, spans, 1, new Uint8Array(shared, 0, 32), new Int32Array(shared, 16, 4), [], [])).toBe('BadArgument')
    expect(call(source, new Int32Array(shared, 0, 4), 1, target, new Int32Array(shared, 8, 4), [], [])).toBe('BadArgument')
    expect(s.stats().getCalls).toBe(0)
  })
})

describe('putRun', () => {
  it('stores each entry as set(key, value) without options does', () => {
    const s = store()
    s.set('a:b:1', 'old', { ttlMs: 60_000, version: 3 })
    const { source, spans } = spansOf([['a:b:1', 'new'], ['a:b:2', Buffer.from([0, 1, 2])]])
    const run = new RunOutcome()
    expect(s.runs.putRun(source, spans, 2, run)).toBe(2)
    expect(s.getWithMeta('a:b:1')).toEqual({ value: Buffer.from('new'), version: null, ttlMs: null })
    expect(s.get('a:b:2')).toEqual(Buffer.from([0, 1, 2]))
    expect(s.stats().putCalls).toBe(3)
  })

  it('stops before a put that fails, with its coded error, and after one that left removals', () => {
    const s = store({ maxValueBytes: 8, maxBytes: 4096, shards: 1 })
    const { source, spans } = spansOf([['a:b:1', 'x'], ['a:b:2', 'far too long'], ['bad', 'x'], ['a:b:3', 'y']])
    const run = new RunOutcome()
    expect(s.runs.putRun(source, spans, 4, run)).toBe(1)
    expect(run.failure?.code).toBe('ValueTooLarge')
    expect(s.runs.putRun(source, spans.subarray(8), 2, run)).toBe(0)
    expect(run.failure?.code).toBe('InvalidKey')
    expect(s.runs.putRun(source, spans.subarray(12), 1, run)).toBe(1)
    expect(s.has('a:b:2')).toBe(false)
    // Filling the budget evicts: the run stops after the put that evicted, its removals waiting.
    const removed: string[] = []
    s.onRemoval((n) => removed.push('key' in n ? n.key : n.cause))
    const many = spansOf(Array.from({ length: 200 }, (_, i): [string, string] => [`a:c:${i}`, 'vvvvvvvv']))
    let done = 0
    while (!run.removalsPending) done += s.runs.putRun(many.source, many.spans.subarray(4 * done), 200 - done, run)
    expect(removed).toEqual([])
    s.runs.deliverRemovals()
    expect(removed.length).toBeGreaterThan(0)
  })

  it('answers bad arguments with BadArgument, never a crash', () => {
    const raw = rawStore()
    const { source, spans } = spansOf([['a:b:1', 'x']])
    const call = (...args: unknown[]) => code(() => (raw.putRun as (...a: unknown[]) => unknown)(...args))
    expect(call(source, spans, 1, [])).toBeUndefined()
    expect(call(source, spans, 2, [])).toBe('BadArgument')
    expect(call(source, Int32Array.from([0, 1, 2, source.length + 1]), 1, [])).toBe('BadArgument')
    expect(call(source, spans, 1, null)).toBe('BadArgument')
    expect(call(new Int32Array(2), spans, 1, [])).toBe('BadArgument')
  })
})

function messageOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (err) {
    return (err as Error).message
  }
  return undefined
}

function rawStore(): Record<string, unknown> {
  const binding = loadBinding() as unknown as { createStore(options: object, onRemovals: () => void): Record<string, unknown> }
  const raw = binding.createStore({ sweepIntervalMs: 0 }, () => {})
  stores.push({ close: () => (raw.close as () => void)() } as NativeStore)
  return raw
}

// --- the daemon's doors -------------------------------------------------------------------

let daemon: TestDaemon | undefined
const raws: Array<{ destroy(): void }> = []
afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy()
  await daemon?.close()
  daemon = undefined
})

async function raw(): Promise<RawConnection> {
  const r = new RawConnection(daemon!.socket)
  raws.push(r)
  await r.hello()
  return r
}

describe('the native door executes a read of many requests as runs', () => {
  it('answers mixed runs of gets and puts in order, with other requests between them', async () => {
    daemon = await startDaemon()
    const r = await raw()
    const messages: Array<Record<string, unknown>> = []
    const expected: unknown[] = []
    for (let i = 0; i < 300; i++) {
      messages.push({ type: 'Put', key: `r:t:${i}`, value: Buffer.from(`v${i}`) })
      expected.push({ type: 'Ok' })
    }
    for (let i = 0; i < 300; i++) {
      messages.push({ type: 'Get', key: `r:t:${i % 7 === 0 ? 'missing' : i}` })
      expected.push({ type: 'Value', value: i % 7 === 0 ? null : Buffer.from(`v${i}`) })
      if (i % 50 === 0) {
        messages.push({ type: 'Put', key: `r:t:${i}`, value: Buffer.from(`w${i}`) }, { type: 'Get', key: `r:t:${i}` }, { type: 'Ping' }, { type: 'Get', key: 'bad' })
        expected.push({ type: 'Ok' }, { type: 'Value', value: Buffer.from(`w${i}`) }, { type: 'Pong' }, { type: 'Err', code: 'InvalidKey' })
      }
    }
    r.sendRaw(Buffer.concat(messages.map((m) => encodeMessage(m))))
    await r.message(expected.length - 1)
    expect(r.messages.slice(1).map((m, i) => ((expected[i] as { type: string }).type === 'Err' ? { type: m.type, code: m.code } : m))).toEqual(expected)
    expect(await daemon.client.get('r:t:299')).toEqual(Buffer.from('v299'))
  })

  it('answers values too big for the run scratch, up to the frame limit, and refuses ones over the value limit', async () => {
    const maxValueBytes = 512 * 1024
    daemon = await startDaemon({ maxValueBytes, maxBytes: 16 * 1024 * 1024 })
    const r = await raw()
    const big = Buffer.alloc(maxValueBytes, 0x62)
    const mid = Buffer.alloc(70 * 1024, 0x6d)
    const messages = [
      { type: 'Put', key: 'r:t:big', value: big },
      { type: 'Put', key: 'r:t:mid', value: mid },
      { type: 'Put', key: 'r:t:over', value: Buffer.alloc(maxValueBytes + 1) },
      { type: 'Put', key: 'r:t:small', value: Buffer.from('s') },
      { type: 'Get', key: 'r:t:small' },
      { type: 'Get', key: 'r:t:big' },
      { type: 'Get', key: 'r:t:mid' },
      { type: 'Get', key: 'r:t:small' },
      { type: 'Get', key: 'r:t:over' },
      { type: 'Get', key: 'r:t:mid' },
    ]
    r.sendRaw(Buffer.concat(messages.map((m) => encodeMessage(m))))
    await r.message(messages.length)
    const replies = r.messages.slice(1).map((m) => (m.type === 'Err' ? m.code : m.type === 'Value' ? (m.value === null ? null : (m.value as Buffer).length) : m.type))
    expect(replies).toEqual(['Ok', 'Ok', 'ValueTooLarge', 'Ok', 1, big.length, mid.length, 1, null, mid.length])
    expect((r.messages[6].value as Buffer).equals(big)).toBe(true)
  })

  it('stops reading a client that pipelines gets without reading, and answers every one once it reads', async () => {
    daemon = await startDaemon({ maxPendingReplyBytes: 64 * 1024 })
    for (let i = 0; i < 10; i++) await daemon.client.put(`r:t:${i}`, Buffer.alloc(4000, 0x61 + i))
    const greedy = await raw()
    greedy.socket.pause()
    // 3000 gets of 4000-byte values: 12 MB of replies, in runs whose values fit the scratch.
    const gets = 3000
    greedy.sendRaw(Buffer.concat(Array.from({ length: gets }, (_, i) => encodeMessage({ type: 'Get', key: `r:t:${i % 10}` }))))
    await eventually(async () => (await daemon!.client.stats()).getCalls > 0)
    await new Promise((r) => setTimeout(r, 300)) // negative check: time to (wrongly) answer more
    expect((await daemon.client.stats()).getCalls).toBeLessThan(gets)
    greedy.socket.resume()
    await eventually(() => greedy.messages.length === gets + 1, 20_000)
    const wrong = greedy.messages.slice(1).filter((m, i) => !Buffer.alloc(4000, 0x61 + (i % 10)).equals(m.value as Buffer))
    expect(wrong).toHaveLength(0)
    expect((await daemon.client.stats()).getCalls).toBe(gets)
  })
})

describe('a run that throws', () => {
  it('costs the request it was at, at either door, never the connection or the daemon', async () => {
    const respSocket = tempSocketPath()
    daemon = await startDaemon({ respSocket })
    await daemon.client.put('r:t:1', Buffer.from('one'))
    // A bug of ours (or the store closing under a connection) shows as a throw out of the run.
    const getRun = vi.spyOn(Operations.prototype, 'getRun').mockImplementationOnce(() => {
      throw new Error('boom')
    })
    try {
      const r = await raw()
      r.sendRaw(Buffer.concat([1, 2, 3].map(() => encodeMessage({ type: 'Get', key: 'r:t:1' }))))
      await r.message(3)
      expect(r.messages.slice(1).map((m) => [m.type, m.code ?? null])).toEqual([['Err', 'Internal'], ['Value', null], ['Value', null]])

      getRun.mockImplementationOnce(() => {
        throw new Error('boom')
      })
      const socket = connect(respSocket)
      raws.push(socket)
      await new Promise((resolve) => socket.once('connect', resolve))
      const get = '*2\r\n$3\r\nGET\r\n$5\r\nr:t:1\r\n'
      const want = '-ERR internal error: boom\r\n$3\r\none\r\n$3\r\none\r\n'
      let got = ''
      socket.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')))
      socket.write(get.repeat(3))
      await eventually(() => got.length >= want.length)
      expect(got).toBe(want)
    } finally {
      getRun.mockRestore()
    }
    expect(await daemon.client.get('r:t:1')).toEqual(Buffer.from('one'))
  })
})

describe('RESP executes a read of many GETs and SETs as runs', () => {
  it('answers them in order, with other commands, misses, bad keys and big values between them', async () => {
    const respSocket = tempSocketPath()
    daemon = await startDaemon({ respSocket })
    const socket = connect(respSocket)
    raws.push(socket)
    await new Promise((resolve) => socket.once('connect', resolve))
    const cmd = (...args: Array<string | Buffer>) => Buffer.concat([Buffer.from(`*${args.length}\r\n`), ...args.flatMap((a) => [Buffer.from(`$${Buffer.byteLength(a)}\r\n`), Buffer.from(a), Buffer.from('\r\n')])])
    const big = Buffer.alloc(100_000, 0x7a)
    const out: Buffer[] = []
    const expected: Buffer[] = []
    for (let i = 0; i < 40; i++) {
      out.push(cmd('SET', `r:t:${i}`, `v${i}`))
      expected.push(Buffer.from('+OK\r\n'))
    }
    out.push(cmd('SET', 'r:t:big', big), cmd('SET', 'bad', 'x'), cmd('PING'))
    expected.push(Buffer.from('+OK\r\n'), Buffer.from("-ERR invalid key 'bad': expected svc:table:pk, three non-empty segments of [A-Za-z0-9._-], at most 250 bytes\r\n"), Buffer.from('+PONG\r\n'))
    for (let i = 0; i < 40; i++) {
      out.push(cmd('get', i % 5 === 0 ? 'r:t:none' : `r:t:${i}`))
      expected.push(i % 5 === 0 ? Buffer.from('$-1\r\n') : Buffer.from(`$${`v${i}`.length}\r\nv${i}\r\n`))
      if (i === 20) {
        out.push(cmd('GET', 'r:t:big'), cmd('GET', 'bad'))
        expected.push(Buffer.concat([Buffer.from(`$${big.length}\r\n`), big, Buffer.from('\r\n')]), Buffer.from("-ERR invalid key 'bad': expected svc:table:pk, three non-empty segments of [A-Za-z0-9._-], at most 250 bytes\r\n"))
      }
    }
    const want = Buffer.concat(expected)
    let got = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => (got = Buffer.concat([got, chunk])))
    socket.write(Buffer.concat(out))
    await eventually(() => got.length >= want.length)
    expect(got.toString('latin1')).toBe(want.toString('latin1'))
  })
})

const redisServer = requireTool('redis-server')

describe.skipIf(redisServer.skip)(redisServer.title('under L2, a run of gets asks L2 about each local miss before it reads the next key'), () => {
  it('through the native door and RESP, replies in order', async () => {
    const engine = await Engine.start('redis')
    const respSocket = tempSocketPath()
    const shared = { bridge: engine.url(), bridgeName: `runs${process.pid}`, bridgeHeartbeatMs: 100, l2: engine.url(), l2TimeoutMs: 3000 }
    const x = await startDaemon({ ...shared, hostId: 'X' })
    daemon = await startDaemon({ ...shared, hostId: 'Z', respSocket })
    try {
      // On X only (so in L2): Z's local misses that L2 answers.
      for (let i = 0; i < 40; i++) await x.client.put(`l:t:${i}`, `x${i}`)
      await eventually(async () => (await daemon!.client.get('l:t:39'))?.toString() === 'x39', 10_000)
      // On Z: local hits between them.
      await daemon.client.put('l:z:1', 'z1')
      const key = (i: number) => (i % 4 === 0 ? 'l:z:1' : i % 4 === 1 ? `l:t:${i}` : i % 4 === 2 ? 'l:t:none' : `l:t:${i}`)
      const want = (i: number) => (i % 4 === 0 ? 'z1' : i % 4 === 2 ? null : `x${i}`)
      const r = await raw()
      r.sendRaw(Buffer.concat(Array.from({ length: 20 }, (_, i) => encodeMessage({ type: 'Get', key: key(i) }))))
      await r.message(20)
      expect(r.messages.slice(1).map((m) => (m.value === null ? null : (m.value as Buffer).toString()))).toEqual(Array.from({ length: 20 }, (_, i) => want(i)))
      // RESP, on keys Z has not filled yet.
      const keyR = (i: number) => (i % 4 === 0 ? 'l:z:1' : i % 4 === 2 ? 'l:t:none' : `l:t:${20 + i}`)
      const wantR = (i: number) => (i % 4 === 0 ? '$2\r\nz1\r\n' : i % 4 === 2 ? '$-1\r\n' : `$${`x${20 + i}`.length}\r\nx${20 + i}\r\n`)
      const socket = connect(respSocket)
      raws.push(socket)
      await new Promise((resolve) => socket.once('connect', resolve))
      let got = ''
      socket.on('data', (chunk: Buffer) => (got += chunk.toString('latin1')))
      socket.write(Array.from({ length: 20 }, (_, i) => `*2\r\n$3\r\nGET\r\n$${keyR(i).length}\r\n${keyR(i)}\r\n`).join(''))
      const expected = Array.from({ length: 20 }, (_, i) => wantR(i)).join('')
      await eventually(() => got.length >= expected.length, 10_000)
      expect(got).toBe(expected)
    } finally {
      await x.close()
      await daemon?.close()
      daemon = undefined
      await engine.close()
    }
  }, 30_000)
})
