// How the client's requests reach the socket: a lone call is written at once; the calls made
// in one turn after it are coalesced into one write at the end of the turn; replies still match
// their requests in order; a failed write fails every call it carried with a coded error.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Socket } from 'node:net'
import { LocalCachedClient, LocalCachedError } from '../ts/index'
import { key, rejectionOf, startDaemon, type TestDaemon } from './helpers'

let daemon: TestDaemon | undefined
afterEach(async () => {
  vi.restoreAllMocks()
  await daemon?.close()
  daemon = undefined
})

const originalWrite = Socket.prototype.write

/** Counts the writes of client sockets (the in-process daemon's sockets have a `server`). */
function clientWrites(fail?: (nth: number) => boolean): { count: () => number } {
  let count = 0
  vi.spyOn(Socket.prototype, 'write').mockImplementation(function (this: Socket, ...args: unknown[]) {
    if ((this as Socket & { server?: unknown }).server) return (originalWrite as (...a: unknown[]) => boolean).apply(this, args)
    count++
    if (fail?.(count)) {
      this.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }))
      return false
    }
    return (originalWrite as (...a: unknown[]) => boolean).apply(this, args)
  })
  return { count: () => count }
}

describe('client writes', () => {
  it('writes a lone call at once, before the call returns', async () => {
    daemon = await startDaemon()
    const writes = clientWrites()
    for (let i = 0; i < 5; i++) {
      const reply = daemon.client.get(key(i))
      expect(writes.count()).toBe(i + 1)
      expect(await reply).toBeNull()
    }
  })

  it('coalesces the calls of one turn into far fewer writes, and replies still match their requests in order', async () => {
    daemon = await startDaemon()
    const client = daemon.client
    const keys = Array.from({ length: 500 }, (_, i) => key(i))
    await Promise.all(keys.map((k) => client.put(k, Buffer.from(`value of ${k}`))))
    const writes = clientWrites()
    const gets = keys.map((k) => client.get(k))
    const mixed = [client.mget([keys[3], 'a:b:missing', keys[7]]), client.ping(), client.getWithMeta(keys[9]), client.get('a:b:missing'), client.del(keys[11])]
    const values = await Promise.all(gets)
    expect(writes.count()).toBeLessThanOrEqual(3)
    expect(values.map((v) => v?.toString())).toEqual(keys.map((k) => `value of ${k}`))
    const [mget, pong, meta, miss, existed] = await Promise.all(mixed)
    expect((mget as Array<Buffer | null>).map((v) => v?.toString() ?? null)).toEqual([`value of ${keys[3]}`, null, `value of ${keys[7]}`])
    expect(pong).toBeUndefined()
    expect((meta as { value: Buffer }).value.toString()).toBe(`value of ${keys[9]}`)
    expect(miss).toBeNull()
    expect(existed).toBe(true)
  })

  it('refuses an oversized request in the middle of a batch without losing the others', async () => {
    daemon = await startDaemon({ maxValueBytes: 1024 })
    const client = daemon.client
    const before = client.get(key(1))
    const tooLarge = rejectionOf(client.put(key(2), Buffer.alloc(client.limits.maxFrameBytes + 1)))
    const after = client.put(key(3), Buffer.from('kept'))
    expect(((await tooLarge) as LocalCachedError).code).toBe('ValueTooLarge')
    expect(await before).toBeNull()
    await after
    expect((await client.get(key(3)))?.toString()).toBe('kept')
  })

  it('fails every call of a failed write with ConnectionLost', async () => {
    daemon = await startDaemon()
    const client = await LocalCachedClient.connect(daemon.socket, { reconnect: { enabled: false } })
    clientWrites((nth) => nth === 2) // the first call goes out alone; the batch after it fails
    const first = client.get(key(0)).catch((err: unknown) => err)
    const batched = Array.from({ length: 50 }, (_, i) => rejectionOf(client.get(key(i + 1))))
    const errors = (await Promise.all(batched)) as LocalCachedError[]
    for (const err of errors) {
      expect(err).toBeInstanceOf(LocalCachedError)
      expect(err.code).toBe('ConnectionLost')
    }
    await first
    expect(((await rejectionOf(client.get(key(0)))) as LocalCachedError).code).toBe('ConnectionLost')
    await client.close()
  })
})
