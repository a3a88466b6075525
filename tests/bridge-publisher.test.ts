// The publisher on its own, over a fake transport: seq at local apply, batches in order, a
// send held back by a step of its own (the L2 issue's hook), overflow into a new epoch, resends
// after a failed batch, and bye only after the outbox drained.
import { describe, expect, it } from 'vitest'
import { Publisher } from '../ts/bridge/publisher'
import { decodeMessage, type BridgeMessage } from '../ts/bridge/message'
import type { BridgeTransport, OutgoingMessage } from '../ts/bridge/transport'

function fakeTransport(failFirst = 0) {
  const sent: BridgeMessage[] = []
  const batches: number[] = []
  let failures = failFirst
  const transport: BridgeTransport = {
    engine: 'fake',
    start: async () => {},
    publish: async (batch: readonly OutgoingMessage[]) => {
      await new Promise((r) => setTimeout(r, 1))
      if (failures-- > 0) throw new Error('engine away')
      batches.push(batch.length)
      for (const m of batch) sent.push(decodeMessage(m.body)!)
    },
    checkPosition: async () => {},
    position: () => '0',
    close: async () => {},
  }
  return { transport, sent, batches }
}

const troubles: string[] = []
const publisher = (transport: BridgeTransport, outboxLimit = 1000) => new Publisher({ hostId: 'h', outboxLimit, startMs: 1, transport, trouble: (what) => troubles.push(what) })
const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 2))
}

describe('the bridge publisher', () => {
  it('numbers changes when they are applied and sends them in order, a tick at a time as one batch', async () => {
    const t = fakeTransport()
    const p = publisher(t.transport)
    for (let i = 0; i < 5; i++) p.change({ kind: 'invalidate', key: `a:b:${i}`, published: false })
    expect(p.seq).toBe(5)
    await until(() => t.sent.length === 5)
    expect(t.sent.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5])
    expect(t.batches).toEqual([5])
  })

  it('a change whose send waits holds back those after it, and gets the fields its step resolved to', async () => {
    const t = fakeTransport()
    const p = publisher(t.transport)
    let settle!: (extra: Partial<BridgeMessage>) => void
    p.change({ kind: 'invalidate', key: 'a:b:1', published: false })
    p.change({ kind: 'write', key: 'a:b:2', published: false }, new Promise((r) => (settle = r)))
    p.change({ kind: 'invalidate', key: 'a:b:3', published: false })
    await until(() => t.sent.length === 1)
    await new Promise((r) => setTimeout(r, 20))
    expect(t.sent.map((m) => m.seq)).toEqual([1])
    settle({ published: true })
    await until(() => t.sent.length === 3)
    expect(t.sent.map((m) => [m.seq, m.key, m.published])).toEqual([[1, 'a:b:1', false], [2, 'a:b:2', true], [3, 'a:b:3', false]])
  })

  it('an overflow discards the outbox and starts a new epoch at seq 1; the origin goes on', async () => {
    const t = fakeTransport(1_000_000) // the engine is away: nothing leaves
    const p = publisher(t.transport, 10)
    const first = p.epoch
    for (let i = 0; i < 25; i++) p.change({ kind: 'invalidate', key: `a:b:${i}`, published: false })
    expect(p.epoch).not.toBe(first)
    expect(p.overflows).toBeGreaterThanOrEqual(2)
    expect(p.outboxSize).toBeLessThanOrEqual(10)
    expect(p.epochs.has(first)).toBe(true)
    expect(troubles.some((w) => w.includes('outbox overflow'))).toBe(true)
    p.stop()
  })

  it('a failed batch is sent again; bye follows a drained outbox and carries the last seq', async () => {
    const t = fakeTransport(2)
    const p = publisher(t.transport)
    p.change({ kind: 'clear', published: true })
    p.heartbeat()
    expect(await p.drainAndBye(Date.now() + 5000)).toBe(true)
    expect(t.sent.map((m) => [m.seq, m.kind])).toEqual([[1, 'clear'], [2, 'heartbeat'], [3, 'bye']])
    p.change({ kind: 'clear', published: true }) // after bye: nothing more is taken
    expect(p.seq).toBe(3)
  })

  it('no bye when the outbox cannot drain in time', async () => {
    const t = fakeTransport(1_000_000)
    const p = publisher(t.transport)
    p.change({ kind: 'clear', published: false })
    expect(await p.drainAndBye(Date.now() + 50)).toBe(false)
    p.stop()
    expect(t.sent).toEqual([])
  })
})
