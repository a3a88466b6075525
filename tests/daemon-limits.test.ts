import { afterEach, describe, expect, it } from 'vitest'
import { LocalCachedClient, LocalCachedError } from '../ts/index'
import { encodeMessage } from '../ts/protocol/codec'
import { RawConnection, eventually, startDaemon, type TestDaemon } from './helpers'

let daemon: TestDaemon | undefined
const opened: Array<{ close(): unknown }> = []
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close()
  await daemon?.close()
  daemon = undefined
})

describe('daemon limits', () => {
  it('--max-connections refuses the connection over the limit with LimitExceeded, and admits again later', async () => {
    daemon = await startDaemon({ maxConnections: 3 }) // the helper's client is the first
    const a = await LocalCachedClient.connect(daemon.socket)
    const b = await LocalCachedClient.connect(daemon.socket)
    opened.push(a, b)
    const err = await LocalCachedClient.connect(daemon.socket).catch((e) => e)
    expect(err).toBeInstanceOf(LocalCachedError)
    expect(err.code).toBe('LimitExceeded')
    expect(err.message).toMatch(/--max-connections 3/)
    await a.ping()
    await b.close()
    await eventually(async () => {
      const c = await LocalCachedClient.connect(daemon!.socket).catch(() => null)
      if (c) opened.push(c)
      return c !== null
    })
  })

  it('--max-subscribers refuses the subscription over the limit with LimitExceeded', async () => {
    daemon = await startDaemon({ maxSubscribers: 2 })
    opened.push(await daemon.client.subscribe(), await daemon.client.subscribe())
    const err = await daemon.client.subscribe().catch((e) => e)
    expect(err.code).toBe('LimitExceeded')
    expect(err.message).toMatch(/--max-subscribers 2/)
    await daemon.client.ping()
  })

  it('stops reading a client that pipelines without reading its replies, and loses nothing', async () => {
    daemon = await startDaemon({ maxPendingReplyBytes: 1024 * 1024 })
    await daemon.client.put('big:v:1', Buffer.alloc(512 * 1024, 1))
    const greedy = new RawConnection(daemon.socket)
    opened.push({ close: () => greedy.destroy() })
    await greedy.hello()
    greedy.socket.pause()
    // 1000 gets of a 512 KiB value: 512 MiB of replies if the daemon answered them all now.
    const requests = 1000
    greedy.sendRaw(Buffer.concat(Array.from({ length: requests }, () => encodeMessage({ type: 'Get', key: 'big:v:1' }))))
    // The daemon has started answering it (only its gets count in getCalls so far); then it
    // must not answer the rest while the client does not read.
    await eventually(async () => (await daemon!.client.stats()).getCalls > 0)
    await new Promise((r) => setTimeout(r, 300)) // negative check: time to (wrongly) answer more; no event marks "stopped"
    expect((await daemon.client.stats()).getCalls).toBeLessThan(requests)
    const external = process.memoryUsage().arrayBuffers
    expect(external).toBeLessThan(200 * 1024 * 1024)
    // Everyone else is still served while it stalls.
    await daemon.client.ping()
    expect((await daemon.client.get('big:v:1'))?.length).toBe(512 * 1024)
    // Once it reads, every reply arrives, in order.
    let values = 0
    greedy.socket.on('data', () => {})
    greedy.socket.resume()
    await eventually(() => greedy.messages.length === requests + 1, 20_000)
    for (const m of greedy.messages.slice(1)) {
      expect(m.type).toBe('Value')
      expect((m.value as Uint8Array).length).toBe(512 * 1024)
      values++
    }
    expect(values).toBe(requests)
  })
})

describe('reply back-pressure below the socket high-water mark', () => {
  it('a --max-pending-reply-bytes smaller than 16 KiB still answers every pipelined request, native and RESP', async () => {
    const { serve } = await import('../ts/index')
    const { RawConnection, tempSocketPath } = await import('./helpers')
    const { connect } = await import('node:net')
    const socket = tempSocketPath()
    const respSocket = tempSocketPath()
    const server = await serve({ socket, respSocket, logLevel: 'silent', maxPendingReplyBytes: 1024 })
    try {
      const raw = new RawConnection(socket)
      await raw.hello()
      raw.send({ type: 'Put', key: 'bp:t:1', value: Buffer.alloc(200, 1) })
      await raw.nextMessage()
      for (let i = 0; i < 20; i++) raw.send({ type: 'Get', key: 'bp:t:1' })
      for (let i = 0; i < 20; i++) expect((await raw.nextMessage()).type).toBe('Value')
      raw.destroy()
      // RESP: 20 pipelined GETs of a 200-byte value in one write.
      const resp = connect(respSocket)
      let got = ''
      resp.on('data', (d) => (got += d.toString('latin1')))
      resp.write(`SET bp:t:2 ${'x'.repeat(200)}\r\n` + 'GET bp:t:2\r\n'.repeat(20))
      await eventually(() => (got.match(/\$200\r\n/g) ?? []).length === 20)
      resp.destroy()
    } finally {
      await server.close()
    }
  })

  it('answers a read whose replies pass the limit in one go, though the socket takes them at once and no drain comes', async () => {
    const { serve } = await import('../ts/index')
    const { RawConnection, tempSocketPath } = await import('./helpers')
    const { connect } = await import('node:net')
    const socket = tempSocketPath()
    const respSocket = tempSocketPath()
    // 300 replies of ~215 bytes: 64 KiB, answered 16 KiB at a time.
    const server = await serve({ socket, respSocket, logLevel: 'silent', maxPendingReplyBytes: 16 * 1024 })
    try {
      const raw = new RawConnection(socket)
      await raw.hello()
      raw.send({ type: 'Put', key: 'bp:t:1', value: Buffer.alloc(200, 1) })
      await raw.nextMessage()
      raw.sendRaw(Buffer.concat(Array.from({ length: 300 }, () => encodeMessage({ type: 'Get', key: 'bp:t:1' }))))
      for (let i = 0; i < 300; i++) expect((await raw.nextMessage()).type).toBe('Value')
      raw.destroy()
      const resp = connect(respSocket)
      let got = ''
      resp.on('data', (d) => (got += d.toString('latin1')))
      resp.write(`SET bp:t:2 ${'x'.repeat(200)}\r\n` + 'GET bp:t:2\r\n'.repeat(300))
      await eventually(() => (got.match(/\$200\r\n/g) ?? []).length === 300)
      resp.destroy()
    } finally {
      await server.close()
    }
  })
})
