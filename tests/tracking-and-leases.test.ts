// The daemon's client-tracking table and load leases, as units.
import { describe, expect, it } from 'vitest'
import type { Socket } from 'node:net'
import { Tracker } from '../ts/server/tracking'
import { Leases } from '../ts/server/leases'
import { decodePayload } from '../ts/protocol/codec'

/** A socket stand-in that records frames and can pretend to be backed up. */
function fakeSocket() {
  const frames: Array<Record<string, unknown>> = []
  const socket = {
    writable: true,
    writableLength: 0,
    write(frame: Buffer) {
      frames.push(decodePayload(frame.subarray(4)) as Record<string, unknown>)
      return true
    },
  }
  return { socket: socket as unknown as Socket & { writableLength: number }, frames }
}

describe('Tracker', () => {
  it('pushes a change once to each holder, then forgets it', () => {
    const tracker = new Tracker(100, 1024)
    const a = fakeSocket()
    const b = fakeSocket()
    const pa = tracker.addPeer(a.socket)
    const pb = tracker.addPeer(b.socket)
    tracker.track('s:t:1', pa)
    tracker.track('s:t:1', pb)
    tracker.track('s:t:1', pa) // twice: still one holder entry
    tracker.changed('s:t:1')
    tracker.changed('s:t:1')
    expect(a.frames).toEqual([{ type: 'Invalidated', keys: ['s:t:1'] }])
    expect(b.frames).toEqual([{ type: 'Invalidated', keys: ['s:t:1'] }])
    expect(tracker.counters.trackedKeys).toBe(0)
  })

  it('a backed-up holder gets one lagged flush, and its earlier registrations are void', () => {
    const tracker = new Tracker(100, 1024)
    const slow = fakeSocket()
    const peer = tracker.addPeer(slow.socket)
    for (let i = 0; i < 5; i++) tracker.track(`s:t:${i}`, peer)
    slow.socket.writableLength = 4096
    tracker.changed('s:t:0')
    slow.socket.writableLength = 0
    for (let i = 1; i < 5; i++) tracker.changed(`s:t:${i}`) // registered before the flush: nothing more
    expect(slow.frames).toEqual([{ type: 'Invalidated', all: true, reason: 'lagged' }])
    tracker.track('s:t:1', peer) // a fill after the flush registers again
    tracker.changed('s:t:1')
    expect(slow.frames.at(-1)).toEqual({ type: 'Invalidated', keys: ['s:t:1'] })
    expect(tracker.counters.lagged).toBe(1)
  })

  it('past maxTrackedKeys the oldest key is pushed to its holders and forgotten', () => {
    const tracker = new Tracker(3, 1024)
    const a = fakeSocket()
    const peer = tracker.addPeer(a.socket)
    for (let i = 0; i < 5; i++) tracker.track(`s:t:${i}`, peer)
    expect(a.frames).toEqual([{ type: 'Invalidated', keys: ['s:t:0'] }, { type: 'Invalidated', keys: ['s:t:1'] }])
    expect(tracker.counters.trackedKeys).toBe(3)
    expect(tracker.counters.evictedTracking).toBe(2)
  })

  it('scopes and flushes go to every peer; a closed peer gets nothing', () => {
    const tracker = new Tracker(10, 1024)
    const a = fakeSocket()
    const b = fakeSocket()
    tracker.addPeer(a.socket)
    const pb = tracker.addPeer(b.socket)
    tracker.track('s:t:1', pb)
    tracker.removePeer(pb)
    tracker.changed('s:t:1')
    tracker.changedScope({ scope: 'table', svc: 's', table: 't' })
    tracker.flushAll('clear')
    expect(a.frames).toEqual([{ type: 'Invalidated', scope: 'table', svc: 's', table: 't' }, { type: 'Invalidated', all: true, reason: 'clear' }])
    expect(b.frames).toEqual([])
  })
})

describe('Leases', () => {
  it('grants one holder at a time until release, a write, expiry or the holder going away', () => {
    let now = 1000
    const leases = new Leases(10, () => now)
    const alive = new Set<object>()
    const a = {}
    const b = {}
    alive.add(a).add(b)
    const isAlive = (h: object) => alive.has(h)
    expect(leases.acquire('k:t:1', a, 100, isAlive)).toBe(true)
    expect(leases.acquire('k:t:1', b, 100, isAlive)).toBe(false)
    expect(leases.acquire('k:t:1', a, 100, isAlive)).toBe(true) // its own: renewed
    expect(leases.release('k:t:1', b)).toBe(false)
    expect(leases.release('k:t:1', a)).toBe(true)
    expect(leases.acquire('k:t:1', b, 100, isAlive)).toBe(true)
    leases.changed('k:t:1') // the value arrived
    expect(leases.acquire('k:t:1', a, 100, isAlive)).toBe(true)
    now += 101 // expired
    expect(leases.acquire('k:t:1', b, 100, isAlive)).toBe(true)
    alive.delete(b) // its holder disconnected
    expect(leases.acquire('k:t:1', a, 100, isAlive)).toBe(true)
    expect(leases.refused).toBe(1)
  })

  it('past max it sweeps dead leases, then refuses with LimitExceeded', () => {
    let now = 0
    const leases = new Leases(2, () => now)
    const holder = {}
    const isAlive = () => true
    leases.acquire('k:t:1', holder, 10, isAlive)
    leases.acquire('k:t:2', holder, 1000, isAlive)
    expect(() => leases.acquire('k:t:3', holder, 10, isAlive)).toThrow(expect.objectContaining({ code: 'LimitExceeded' }))
    now = 20 // k:t:1 expired: swept to make room
    expect(leases.acquire('k:t:3', holder, 10, isAlive)).toBe(true)
    leases.releaseAll(holder)
    expect(leases.size).toBe(0)
  })
})
