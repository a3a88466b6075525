import { afterEach, describe, expect, it } from 'vitest'
import { createServer, type Server, type Socket } from 'node:net'
import { LocalCachedClient, LocalCachedError } from '../ts/index'
import { decodePayload, encodeMessage } from '../ts/protocol/codec'
import { FrameDecoder } from '../ts/protocol/frame'
import { rejectionOf, startDaemon, tempSocketPath, type TestDaemon } from './helpers'

let daemon: TestDaemon | undefined
let fake: Server | undefined
afterEach(async () => {
  await daemon?.close()
  daemon = undefined
  await new Promise<void>((r) => (fake ? fake.close(() => r()) : r()))
  fake = undefined
})

/** A daemon that completes the handshake and then never answers anything. */
async function silentDaemon(): Promise<string> {
  const path = tempSocketPath()
  const sockets: Socket[] = []
  fake = createServer((socket) => {
    sockets.push(socket)
    socket.once('data', () => socket.write(encodeMessage({ type: 'HelloOk', protocolVersion: 1, serverVersion: 'fake', limits: { maxFrameBytes: 1024, maxValueBytes: 512, maxKeyBytes: 250 } })))
  })
  fake.on('close', () => sockets.forEach((s) => s.destroy()))
  await new Promise<void>((r) => fake!.listen(path, r))
  return path
}

describe('client calls', () => {
  it('time out with Timeout when the daemon does not answer', async () => {
    const client = await LocalCachedClient.connect(await silentDaemon(), { timeoutMs: 100 })
    const started = Date.now()
    const err = (await rejectionOf(client.get('a:b:c'))) as LocalCachedError
    expect(err.code).toBe('Timeout')
    expect(Date.now() - started).toBeGreaterThanOrEqual(90)
    expect(((await rejectionOf(client.ping({ timeoutMs: 20 }))) as LocalCachedError).code).toBe('Timeout')
    await client.close()
  })

  it('time out each on its own deadline: a short call queued behind a long one is not held to the long one', async () => {
    const client = await LocalCachedClient.connect(await silentDaemon(), { timeoutMs: 10_000 })
    const started = Date.now()
    const long = rejectionOf(client.get('a:b:long'))
    const short = (await rejectionOf(client.get('a:b:short', { timeoutMs: 50 }))) as LocalCachedError
    expect(short.code).toBe('Timeout')
    expect(short.message).toContain('within 50 ms')
    expect(Date.now() - started).toBeGreaterThanOrEqual(45)
    expect(Date.now() - started).toBeLessThan(2000)
    // Later calls still time out, on their own deadlines, after earlier ones did.
    const again = (await rejectionOf(client.ping({ timeoutMs: 30 }))) as LocalCachedError
    expect(again.code).toBe('Timeout')
    await client.close()
    expect(((await long) as LocalCachedError).code).toBe('Closed')
  })

  it('reject with the abort reason when their AbortSignal fires, or at once if it already has', async () => {
    const client = await LocalCachedClient.connect(await silentDaemon())
    const controller = new AbortController()
    const pending = client.get('a:b:c', { signal: controller.signal })
    controller.abort()
    expect(((await rejectionOf(pending)) as Error).name).toBe('AbortError')
    const reason = new Error('gave up')
    expect(await rejectionOf(client.ping({ signal: AbortSignal.abort(reason) }))).toBe(reason)
    await client.close()
  })

  it('a late reply to a timed-out call is not given to the next call', async () => {
    // A daemon that answers each Get with its key, holding the first answer back 150 ms.
    const path = tempSocketPath()
    fake = createServer((socket) => {
      const decoder = new FrameDecoder(1 << 20)
      let requests = 0
      socket.on('data', (chunk) => {
        decoder.push(chunk)
        for (let p = decoder.tryRead(); p; p = decoder.tryRead()) {
          const m = decodePayload(p) as { type: string; key?: string }
          if (m.type === 'Hello') {
            socket.write(encodeMessage({ type: 'HelloOk', protocolVersion: 1, serverVersion: 'fake', limits: {} }))
            continue
          }
          const reply = encodeMessage({ type: 'Value', value: Buffer.from(m.key!) })
          if (requests++ === 0) setTimeout(() => socket.write(reply), 150)
          else setTimeout(() => socket.write(reply), 160)
        }
      })
    })
    await new Promise<void>((r) => fake!.listen(path, r))
    const client = await LocalCachedClient.connect(path)
    const early = rejectionOf(client.get('a:b:1', { timeoutMs: 20 }))
    const next = client.get('a:b:2')
    expect(((await early) as LocalCachedError).code).toBe('Timeout')
    expect((await next)?.toString()).toBe('a:b:2')
    await client.close()
  })

  it('fail at once with ConnectionLost when the daemon goes away, never waiting out the timeout', async () => {
    daemon = await startDaemon()
    const client = await LocalCachedClient.connect(daemon.socket, { timeoutMs: 10_000, reconnect: { enabled: false } })
    await daemon.server.close()
    const started = Date.now()
    const err = (await rejectionOf(client.ping())) as LocalCachedError
    expect(err.code).toBe('ConnectionLost')
    expect(Date.now() - started).toBeLessThan(1000)
    expect(((await rejectionOf(client.get('a:b:c'))) as LocalCachedError).code).toBe('ConnectionLost')
    await client.close()
  })

  it('fail with Closed after close(), and connect fails fast with ConnectionLost when nothing listens', async () => {
    daemon = await startDaemon()
    await daemon.client.close()
    expect(((await rejectionOf(daemon.client.ping())) as LocalCachedError).code).toBe('Closed')
    const err = (await rejectionOf(LocalCachedClient.connect(tempSocketPath()))) as LocalCachedError
    expect(err.code).toBe('ConnectionLost')
  })

  it('without reconnect, a subscription whose daemon vanishes throws ConnectionLost to its consumer', async () => {
    daemon = await startDaemon()
    const client = await LocalCachedClient.connect(daemon.socket, { reconnect: { enabled: false } })
    const sub = await client.subscribe()
    const next = rejectionOf(sub.next())
    await daemon.server.close()
    expect(((await next) as LocalCachedError).code).toBe('ConnectionLost')
    expect(client.connected).toBe(false)
    await client.close()
  })
})
