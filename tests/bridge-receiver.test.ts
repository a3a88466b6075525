// The gap rule on its own, without an engine: which message sequences a receiver applies, and
// which make it flush (and only once per read batch).
import { describe, expect, it } from 'vitest'
import { Receiver } from '../ts/bridge/receiver'
import { encodeMessage, type BridgeMessage } from '../ts/bridge/message'
import type { RawMessage } from '../ts/bridge/message'

const START = 1_000_000

function setup(options: { ignoreGaps?: boolean; originTimeoutMs?: number } = {}) {
  const applied: string[] = []
  const gaps: string[] = []
  let flushes = 0
  const inUse: BridgeMessage[] = []
  const receiver = new Receiver({
    hostId: 'me',
    startMs: START,
    ownEpochs: new Set(['mine']),
    originTimeoutMs: options.originTimeoutMs ?? 30_000,
    ignoreGaps: options.ignoreGaps,
    apply: (m) => applied.push(`${m.hostId}:${m.key ?? m.kind}`),
    flush: () => flushes++,
    gap: (why) => gaps.push(why),
    hostIdInUse: (m) => inUse.push(m),
  })
  return { receiver, applied, gaps, inUse, flushes: () => flushes }
}

const msg = (hostId: string, epoch: string, seq: number, extra: Partial<BridgeMessage> = {}): RawMessage => ({
  hostId,
  body: encodeMessage({ v: 1, hostId, epoch, seq, start: START - 10, ts: Date.now(), kind: 'invalidate', key: `k${seq}`, published: false, ...extra }),
})

describe('the gap rule', () => {
  it('a baseline, then seq + 1 applies; a resend is skipped', () => {
    const t = setup()
    t.receiver.messages([msg('a', 'e1', 7), msg('a', 'e1', 8), msg('a', 'e1', 8), msg('a', 'e1', 9)])
    expect(t.applied).toEqual(['a:k7', 'a:k8', 'a:k9'])
    expect([t.gaps.length, t.flushes()]).toEqual([0, 0])
  })

  it('a skipped seq is a gap: flush, then the message is applied', () => {
    const t = setup()
    t.receiver.messages([msg('a', 'e1', 1)])
    t.receiver.messages([msg('a', 'e1', 3)])
    expect(t.gaps).toEqual(['seq 3 from a after 1'])
    expect(t.flushes()).toBe(1)
    expect(t.applied).toEqual(['a:k1', 'a:k3'])
  })

  it('a new epoch is a gap unless the last one ended with bye and the new one starts at 1', () => {
    const t = setup()
    t.receiver.messages([msg('a', 'e1', 1), msg('a', 'e1', 2, { kind: 'bye', key: undefined }), msg('a', 'e2', 1)])
    expect(t.flushes()).toBe(0)
    t.receiver.messages([msg('a', 'e3', 1)])
    expect(t.gaps).toEqual(['a new epoch from a without bye'])
    t.receiver.messages([msg('a', 'e3', 2, { kind: 'bye', key: undefined })])
    t.receiver.messages([msg('a', 'e4', 2)])
    expect(t.flushes()).toBe(2)
  })

  it('several gaps in one batch flush once; a change applied in between needs another', () => {
    const t = setup()
    t.receiver.messages([msg('a', 'e', 1), msg('b', 'e', 1), msg('c', 'e', 1)])
    t.receiver.messages([msg('a', 'e', 5, { kind: 'heartbeat', key: undefined }), msg('b', 'e', 5, { kind: 'heartbeat', key: undefined })])
    expect([t.gaps.length, t.flushes()]).toEqual([2, 1])
    t.receiver.messages([msg('a', 'e', 9), msg('c', 'e', 9)])
    expect([t.gaps.length, t.flushes()]).toEqual([4, 3])
  })

  it('junk is rejected; an unreadable message from a followed host is a gap and its next message a new baseline', () => {
    const t = setup()
    t.receiver.messages([{ hostId: undefined, body: 'junk' }, { hostId: 'x', body: '{"v":2}' }, { hostId: 'a', body: undefined }])
    expect(t.receiver.counters.rejected).toBe(3)
    t.receiver.messages([msg('a', 'e', 1), { hostId: 'a', body: '{' }])
    expect(t.flushes()).toBe(1)
    t.receiver.messages([msg('a', 'e', 2)])
    expect(t.flushes()).toBe(1)
    expect(t.applied).toEqual(['a:k1', 'a:k2'])
    // A body naming another host than its envelope is foreign, not a change.
    t.receiver.messages([{ hostId: 'z', body: JSON.parse(JSON.stringify(msg('y', 'e', 1).body)) }])
    expect(t.receiver.counters.rejected).toBe(4)
  })

  it('silence without bye past the origin timeout is a gap and forgets the host; after bye it is not', () => {
    const t = setup({ originTimeoutMs: 1000 })
    t.receiver.messages([msg('a', 'e', 1), msg('b', 'e', 1), msg('b', 'e', 2, { kind: 'bye', key: undefined })])
    t.receiver.checkSilence(Date.now() + 500)
    expect(t.flushes()).toBe(0)
    t.receiver.checkSilence(Date.now() + 1500)
    expect(t.gaps).toEqual(['no message from a for 1000 ms, and no bye'])
    expect(t.receiver.origins).toBe(0)
    t.receiver.messages([msg('a', 'e', 50)]) // forgotten: a baseline again
    expect(t.flushes()).toBe(1)
  })

  it('own messages are skipped; another daemon with our host id: the younger one is told', () => {
    const t = setup()
    t.receiver.messages([msg('me', 'mine', 1)])
    expect(t.applied).toEqual([])
    t.receiver.messages([msg('me', 'other', 1, { start: START + 5 })]) // younger than us: it exits, not us
    expect(t.inUse).toEqual([])
    t.receiver.messages([msg('me', 'other', 2, { start: START - 5 })]) // older than us: we exit
    expect(t.inUse).toHaveLength(1)
  })

  it("our earlier process's messages (sent before our start) are applied as changes, never taken for another daemon; those a loaded snapshot holds are skipped", () => {
    const t = setup()
    t.receiver.seed([], START, { epoch: 'before', seq: 2 })
    t.receiver.messages([1, 2, 3].map((seq) => msg('me', 'before', seq, { start: START - 500, ts: START - 100 })))
    expect(t.applied).toEqual(['me:k3'])
    t.receiver.messages([msg('me', 'older', 1, { start: START - 900, ts: START - 1 })])
    expect(t.applied).toEqual(['me:k3', 'me:k1'])
    expect(t.inUse).toEqual([])
    expect(t.flushes()).toBe(0)
  })

  it("the snapshot's process is known by its epochs even when the clock stepped back (its messages look newer than our start)", () => {
    const t = setup()
    t.receiver.seed([], START, { epoch: 'before-2', seq: 1, epochs: ['before-1', 'before-2'] })
    t.receiver.messages([msg('me', 'before-1', 7, { start: START - 500, ts: START + 50 }), msg('me', 'before-2', 2, { start: START - 500, ts: START + 60 })])
    expect(t.applied).toEqual(['me:k7', 'me:k2'])
    expect(t.inUse).toEqual([])
  })

  it('a lost position flushes and forgets every host; ignoreGaps counts gaps and never flushes', () => {
    const t = setup()
    t.receiver.messages([msg('a', 'e', 1)])
    t.receiver.positionLost('trimmed')
    expect([t.flushes(), t.receiver.origins]).toEqual([1, 0])
    const m = setup({ ignoreGaps: true })
    m.receiver.messages([msg('a', 'e', 1), msg('a', 'e', 5)])
    expect([m.receiver.counters.gaps, m.flushes()]).toEqual([1, 0])
  })
})
