// Near-cache tracking, as Redis's client tracking: the daemon remembers which keys each
// tracking connection was served, and on any change to one of them pushes an `Invalidated`
// message on that same connection. Pushes share the connection's ordered stream with its
// replies, so a client always sees an invalidation and the replies around it in the order the
// daemon acted on them — the basis of the near cache's fill-race rule (docs/near-cache.md).
//
// Bounded: at most maxTrackedKeys keys are remembered; past that the oldest is forgotten and
// its holders are told to drop it, so a client never holds a key the daemon does not track.
// A holder whose socket is backed up past maxPendingBytes is sent one `all` invalidation
// (reason 'lagged') instead of more pushes, and everything it held is forgotten.

import type { Socket } from 'node:net'
import { encodeMessage } from '../protocol/codec'
import type { FlushAllReason, InvalidationScope, Push } from '../protocol/messages'

export interface TrackingPeer {
  readonly socket: Socket
  /** Bumped on each lagged flush: registrations made before it are void. */
  epoch: number
  closed: boolean
}

export interface TrackingCounters {
  /** Keys currently remembered. */
  trackedKeys: number
  /** Invalidation pushes written (a key, a scope or everything). */
  pushes: number
  /** Holders flushed because their socket was backed up. */
  lagged: number
  /** Keys forgotten because the table was full (their holders were told). */
  evictedTracking: number
}

export class Tracker {
  /** key -> [peer, epoch, peer, epoch, …]; Map order is registration order (oldest first). */
  readonly #holders = new Map<string, Array<TrackingPeer | number>>()
  readonly #peers = new Set<TrackingPeer>()
  readonly #maxTrackedKeys: number
  readonly #maxPendingBytes: number
  readonly counters: TrackingCounters = { trackedKeys: 0, pushes: 0, lagged: 0, evictedTracking: 0 }

  constructor(maxTrackedKeys: number, maxPendingBytes: number) {
    this.#maxTrackedKeys = maxTrackedKeys
    this.#maxPendingBytes = maxPendingBytes
  }

  get peers(): number {
    return this.#peers.size
  }

  addPeer(socket: Socket): TrackingPeer {
    const peer: TrackingPeer = { socket, epoch: 0, closed: false }
    this.#peers.add(peer)
    return peer
  }

  /** Its registrations are skipped from now on and dropped as they are met. */
  removePeer(peer: TrackingPeer): void {
    peer.closed = true
    this.#peers.delete(peer)
    if (this.#peers.size === 0) this.#forgetAll()
  }

  /** Remembers that `peer` was served `key`. */
  track(key: string, peer: TrackingPeer): void {
    const holders = this.#holders.get(key)
    if (holders === undefined) {
      if (this.#holders.size >= this.#maxTrackedKeys) this.#evictOldest()
      this.#holders.set(key, [peer, peer.epoch])
      this.counters.trackedKeys = this.#holders.size
      return
    }
    for (let i = 0; i < holders.length; i += 2) {
      if (holders[i] === peer) {
        holders[i + 1] = peer.epoch
        return
      }
    }
    // A new array of the exact size: push() would grow it to 17+ slots, ~130 bytes per key.
    const grown = new Array<TrackingPeer | number>(holders.length + 2)
    for (let i = 0; i < holders.length; i++) grown[i] = holders[i]
    grown[holders.length] = peer
    grown[holders.length + 1] = peer.epoch
    this.#holders.set(key, grown)
  }

  /** A key's value changed or it left the store: tell whoever holds it, then forget it. */
  changed(key: string): void {
    if (this.#holders.size === 0) return
    const holders = this.#holders.get(key)
    if (holders === undefined) return
    this.#holders.delete(key)
    this.counters.trackedKeys = this.#holders.size
    let frame: Buffer | undefined
    for (let i = 0; i < holders.length; i += 2) {
      const peer = holders[i] as TrackingPeer
      if (peer.closed || holders[i + 1] !== peer.epoch) continue
      frame ??= encodeMessage({ type: 'Invalidated', keys: [key] } satisfies Push)
      this.#push(peer, frame)
    }
  }

  /** A scoped invalidation: every holder drops the scope itself (keys stay remembered). */
  changedScope(scope: InvalidationScope): void {
    if (this.#peers.size === 0) return
    const frame = encodeMessage({ type: 'Invalidated', ...scope } satisfies Push)
    for (const peer of this.#peers) this.#push(peer, frame)
  }

  /** Everything may have changed (clear, lost removal notices, a bridge gap): every holder flushes. */
  flushAll(reason: FlushAllReason): void {
    if (this.#peers.size === 0) return
    const frame = encodeMessage({ type: 'Invalidated', all: true, reason } satisfies Push)
    for (const peer of this.#peers) this.#push(peer, frame, true)
    this.#forgetAll()
  }

  heartbeat(frame: Buffer): void {
    for (const peer of this.#peers) {
      if (peer.socket.writable && peer.socket.writableLength < this.#maxPendingBytes) peer.socket.write(frame)
    }
  }

  #push(peer: TrackingPeer, frame: Buffer, evenIfBackedUp = false): void {
    if (!peer.socket.writable) return
    if (!evenIfBackedUp && peer.socket.writableLength > this.#maxPendingBytes) {
      // It is not reading: one small `all` replaces every push it would be sent from now
      // until it fills again, and it sits in the stream exactly where they would have.
      peer.epoch++
      this.counters.lagged++
      this.counters.pushes++
      peer.socket.write(encodeMessage({ type: 'Invalidated', all: true, reason: 'lagged' } satisfies Push))
      return
    }
    this.counters.pushes++
    peer.socket.write(frame)
  }

  #evictOldest(): void {
    const oldest = this.#holders.keys().next()
    if (oldest.done) return
    this.counters.evictedTracking++
    this.changed(oldest.value)
  }

  #forgetAll(): void {
    this.#holders.clear()
    this.counters.trackedKeys = 0
  }
}
