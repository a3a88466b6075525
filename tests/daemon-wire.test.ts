import { afterEach, describe, expect, it } from 'vitest'
import { encodeMessage } from '../ts/protocol/codec'
import { encodeFrame } from '../ts/protocol/frame'
import { RawConnection, eventually, startDaemon, type TestDaemon } from './helpers'

let daemon: TestDaemon | undefined
const raws: RawConnection[] = []
afterEach(async () => {
  for (const r of raws.splice(0)) r.destroy()
  await daemon?.close()
  daemon = undefined
})

function raw(): RawConnection {
  const r = new RawConnection(daemon!.socket)
  raws.push(r)
  return r
}

describe('handshake', () => {
  it('answers Hello with HelloOk', async () => {
    daemon = await startDaemon()
    const ok = await raw().hello()
    expect(ok).toMatchObject({ type: 'HelloOk', protocolVersion: 1, limits: { maxKeyBytes: 250 } })
  })

  it('refuses an unsupported protocol version with ProtocolVersion and closes', async () => {
    daemon = await startDaemon()
    const r = raw()
    r.send({ type: 'Hello', protocolVersion: 99 })
    expect(await r.nextMessage()).toMatchObject({ type: 'Err', code: 'ProtocolVersion' })
    await r.waitClosed()
  })

  it('refuses a request before the handshake and closes', async () => {
    daemon = await startDaemon()
    const r = raw()
    r.send({ type: 'Get', key: 'a:b:c' })
    expect(await r.nextMessage()).toMatchObject({ type: 'Err', code: 'BadRequest' })
    await r.waitClosed()
  })

  it('refuses garbage before the handshake and closes', async () => {
    daemon = await startDaemon()
    const r = raw()
    r.sendRaw(encodeFrame(Buffer.from([0xff, 0x00, 0x13])))
    expect(await r.nextMessage()).toMatchObject({ type: 'Err', code: 'BadRequest' })
    await r.waitClosed()
  })
})

describe('bad frames after the handshake', () => {
  it('answers invalid CBOR, wrong shapes and missing fields with BadRequest and keeps the connection', async () => {
    daemon = await startDaemon()
    const r = raw()
    await r.hello()
    r.sendRaw(encodeFrame(Buffer.from([0xff])))
    r.send({ nope: 1 })
    r.send({ type: 'Get' })
    r.send({ type: 'Put', key: 'a:b:c', value: 'not bytes' })
    r.send({ type: 'Put', key: 'a:b:c', value: Buffer.from('v'), ttlMs: -5 })
    r.sendRaw(encodeFrame(encodeMessage([1, 2, 3]).subarray(4)))
    r.send({ type: 'Ping' })
    const replies = await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => r.message(i)))
    expect(replies.slice(0, 6).map((m) => m.code)).toEqual(['BadRequest', 'BadRequest', 'BadRequest', 'BadRequest', 'BadRequest', 'BadRequest'])
    expect(replies[6]).toEqual({ type: 'Pong' })
    expect(r.closed).toBe(false)
  })

  it('answers an unknown request type with NotSupported and keeps the connection', async () => {
    daemon = await startDaemon()
    const r = raw()
    await r.hello()
    r.send({ type: 'Teleport' })
    r.send({ type: 'Ping' })
    expect(await r.message(1)).toMatchObject({ type: 'Err', code: 'NotSupported' })
    expect(await r.message(2)).toEqual({ type: 'Pong' })
  })

  it('answers a frame over --max-frame-bytes with FrameTooLarge, closes that connection, and serves others', async () => {
    daemon = await startDaemon({ maxFrameBytes: 1024 })
    const r = raw()
    await r.hello()
    const header = Buffer.alloc(4)
    header.writeUInt32BE(1025)
    r.sendRaw(header)
    expect(await r.nextMessage()).toMatchObject({ type: 'Err', code: 'FrameTooLarge' })
    await r.waitClosed()
    await daemon.client.ping()
  })

  it('answers every frame of a pipelined write in order, coalescing the replies', async () => {
    daemon = await startDaemon()
    const r = raw()
    await r.hello()
    const frames: Buffer[] = []
    for (let i = 0; i < 100; i++) {
      frames.push(encodeMessage({ type: 'Put', key: `p:q:${i}`, value: Buffer.from(String(i)) }))
      frames.push(encodeMessage({ type: 'Get', key: `p:q:${i}` }))
    }
    let chunks = 0
    r.socket.on('data', () => chunks++)
    r.sendRaw(Buffer.concat(frames))
    await r.message(200)
    for (let i = 0; i < 100; i++) {
      expect(r.messages[1 + 2 * i]).toEqual({ type: 'Ok' })
      expect(Buffer.from(r.messages[2 + 2 * i].value as Uint8Array).toString()).toBe(String(i))
    }
    // 200 replies arrive in a handful of writes, not 200.
    expect(chunks).toBeLessThan(20)
  })

  it('a subscribed connection accepts no further requests', async () => {
    daemon = await startDaemon()
    const r = raw()
    await r.hello()
    r.send({ type: 'Subscribe' })
    expect(await r.nextMessage()).toEqual({ type: 'Ok' })
    r.send({ type: 'Ping' })
    expect(await r.nextMessage()).toMatchObject({ type: 'Err', code: 'BadRequest' })
    await r.waitClosed()
  })

  it('a request pipelined in the same write as Subscribe is refused, not left unanswered', async () => {
    daemon = await startDaemon()
    const r = raw()
    await r.hello()
    r.sendRaw(Buffer.concat([encodeMessage({ type: 'Subscribe' }), encodeMessage({ type: 'Ping' })]))
    expect(await r.nextMessage()).toEqual({ type: 'Ok' })
    expect(await r.nextMessage()).toMatchObject({ type: 'Err', code: 'BadRequest' })
    await r.waitClosed()
  })

  it('survives clients that vanish mid-frame, mid-reply (EPIPE, ECONNRESET) and mid-subscribe', async () => {
    daemon = await startDaemon()
    for (let i = 0; i < 20; i++) {
      const r = raw()
      await r.hello()
      r.sendRaw(encodeMessage({ type: 'Put', key: 'a:b:c', value: Buffer.alloc(1000) }).subarray(0, 500))
      r.destroy()
      const s = raw()
      await s.hello()
      s.send({ type: 'Subscribe' })
      s.destroy()
    }
    // Mid-reply: ask for a large value and reset the connection while it is being written
    // (the daemon's write then fails with EPIPE or ECONNRESET).
    await daemon.client.put('a:b:big', Buffer.alloc(900 * 1024))
    for (let i = 0; i < 20; i++) {
      const r = raw()
      await r.hello()
      for (let j = 0; j < 8; j++) r.send({ type: 'Get', key: 'a:b:big' })
      await new Promise((resolve) => setTimeout(resolve, 1))
      r.destroy() // unread replies pending: the daemon's next write fails
    }
    await daemon.client.invalidate('a:b:c')
    await daemon.client.ping()
    expect((await daemon.client.get('a:b:big'))?.length).toBe(900 * 1024)
    await eventually(async () => (await daemon!.client.stats()).subscribersCurrent === 0)
  })
})

describe('slow subscribers', () => {
  it('a subscriber that stops reading gets lagged{dropped} while the others are served', async () => {
    daemon = await startDaemon({ subscriberQueue: 16 })
    const slow = raw()
    await slow.hello()
    slow.send({ type: 'Subscribe' })
    expect(await slow.nextMessage()).toEqual({ type: 'Ok' })
    slow.socket.pause()
    const fast = await daemon.client.subscribe({ bufferEvents: 100_000 })
    const total = 20_000
    const key = (i: number) => `svc:tbl:${'k'.repeat(100)}${i}`
    for (let i = 0; i < total; i += 500) {
      await Promise.all(Array.from({ length: 500 }, (_, j) => daemon!.client.invalidate(key(i + j))))
    }
    let received = 0
    while (received < total) {
      const r = await fast.next()
      expect(r.done).toBe(false)
      expect(r.value).toEqual({ type: 'invalidate', key: key(received) })
      received++
    }
    const stats = await daemon.client.stats()
    expect(stats.eventsDropped).toBeGreaterThan(0)
    slow.socket.resume()
    await eventually(() => slow.messages.some((m) => (m.event as { type?: string } | undefined)?.type === 'lagged'), 10_000)
    const events = slow.messages.filter((m) => m.type === 'Event').map((m) => m.event as { type: string; key?: string; dropped?: number })
    const laggedAt = events.findIndex((e) => e.type === 'lagged')
    // Everything before the lagged notice arrived in order with no gap; it counts the rest.
    events.slice(0, laggedAt).forEach((e, i) => expect(e).toEqual({ type: 'invalidate', key: key(i) }))
    expect(laggedAt + events[laggedAt].dropped!).toBe(total)
    expect((await daemon.client.stats()).laggedNotices).toBe(1)
  })
})
