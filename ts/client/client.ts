// LocalCachedClient: the daemon's client. Calls pipeline over one connection (replies come
// back in request order); every call has a timeout and takes an AbortSignal; a call on a
// closed or broken connection fails at once with a coded error and never hangs. After the
// connection breaks the client reconnects on its own, with backoff (reconnect option).

import type { Socket } from 'node:net'
import { LocalCachedError } from '../errors'
import type { Invalidation, Push, Response, ServerLimits } from '../protocol/messages'
import { decodeStats, type Stats } from '../stats'
import { defaultSocketPath } from '../server/options'
import { connectionLost, openWire, wireError } from './wire'
import { RequestWriter } from './request-writer'
import { PendingCalls, type PendingCall } from './pending-calls'
import { performance } from 'node:perf_hooks'
import { Subscription, type SubscribeOptions } from './subscription'
import { backoffDelay, resolveReconnect, type ResolvedReconnect } from './backoff'
import { NearCache, type NearCacheStats } from './near-cache'
import { LoadCoordinator, type GetOrLoadOptions, type Loader } from '../load/get-or-load'
import { typedCache, type Cache, type TypedOptions } from '../typed'
import { checkCallOptions, CONNECT_OPTIONS, copy, toBytes, type CallOptions, type ClientEntryMeta, type ClientKeysOptions, type ClientValue, type ConnectOptions, type PutOptions, type TtlWriteOptions, type WriteOptions } from './call-options'
import { checkOptions } from '../option-check'
import { MAX_KEY_BYTES } from '../limits'

export type { ConnectOptions, CallOptions, WriteOptions, PutOptions, TtlWriteOptions, ClientEntryMeta, ClientKeysOptions, ClientValue } from './call-options'

/** A Snapshot request's default wait: saving a large store takes seconds, not the usual milliseconds. */
const SNAPSHOT_TIMEOUT_MS = 10 * 60 * 1000

export class LocalCachedClient {
  readonly socketPath: string
  serverVersion = ''
  limits: ServerLimits = { maxFrameBytes: 0, maxValueBytes: 0, maxKeyBytes: MAX_KEY_BYTES, heartbeatMs: 1000 }
  readonly #timeoutMs: number
  readonly #reconnect: ResolvedReconnect
  readonly #subscriptions = new Set<Subscription>()
  #socket: Socket | undefined
  /** The current connection's requests go out through it (written at once, or coalesced). */
  #writer: RequestWriter | undefined
  /** Replies owed on the current connection, in request order. */
  #pending = new PendingCalls()
  /** Why calls fail right now: Closed (for good), or ConnectionLost (until reconnected). */
  #failure: LocalCachedError | undefined
  #reconnectTimer: NodeJS.Timeout | undefined
  #attempt = 0
  #reconnects = 0
  #everConnected = false
  readonly #near: NearCache | undefined
  /** Near-cache misses in flight, one per key, shared by concurrent gets. */
  readonly #nearGets = new Map<string, Promise<Buffer | null>>()
  #loads: LoadCoordinator | undefined

  private constructor(socketPath: string, options: ConnectOptions) {
    this.socketPath = socketPath
    this.#timeoutMs = options.timeoutMs ?? 5000
    this.#reconnect = resolveReconnect(options.reconnect)
    this.#near = options.nearCache === undefined ? undefined : new NearCache(options.nearCache)
  }

  /** Connects and completes the handshake; rejects (ConnectionLost, Timeout, …) if it cannot. */
  static async connect(socketPath: string = defaultSocketPath(), options: ConnectOptions = {}): Promise<LocalCachedClient> {
    checkOptions('LocalCachedClient.connect()', options, CONNECT_OPTIONS)
    if (typeof socketPath !== 'string' || socketPath === '') throw new LocalCachedError('BadArgument', 'LocalCachedClient.connect(): the socket path must be a non-empty string')
    const deadline = Date.now() + (options.waitMs ?? 0)
    for (let attempt = 0; ; attempt++) {
      const client = new LocalCachedClient(socketPath, options)
      try {
        await client.#open()
        return client
      } catch (err) {
        client.#near?.close()
        // Only "not up yet" is worth waiting out; a refusal (version, limit) will not change.
        const left = deadline - Date.now()
        if (!(err instanceof LocalCachedError && err.code === 'ConnectionLost') || left <= 0) throw err
        await new Promise((resolve) => setTimeout(resolve, Math.min(left, 25 * 2 ** Math.min(attempt, 3))))
      }
    }
  }

  /** Whether calls can be made now (false while reconnecting, or after close). */
  get connected(): boolean {
    return this.#failure === undefined
  }

  /** How many times the client has reconnected. */
  get reconnects(): number {
    return this.#reconnects
  }

  async #open(): Promise<void> {
    let socket: Socket | undefined
    const pending = new PendingCalls()
    const opened = await openWire(
      this.socketPath,
      this.#timeoutMs,
      (message) => this.#onReply(pending, message as Response),
      (reason) => this.#onLost(socket, pending, reason),
    )
    socket = opened.socket
    if (this.#failure?.code === 'Closed') {
      socket.destroy()
      return
    }
    this.#socket = socket
    this.#writer = new RequestWriter(socket)
    this.#pending = pending
    this.serverVersion = opened.handshake.serverVersion
    this.limits = opened.handshake.limits
    this.#failure = undefined
    this.#attempt = 0
    // Counted as the client becomes connected again, not after the Track below: a caller that
    // sees `connected` must see the reconnect too.
    if (this.#everConnected) this.#reconnects++
    this.#everConnected = true
    if (this.#near) {
      // Tracking is asked for on every (re)connection; until it is on, reads skip the near cache.
      try {
        await this.#call({ type: 'Track' }, 'Ok')
      } catch (err) {
        socket.destroy()
        throw err
      }
      if (this.#socket === socket) this.#near.connected(this.limits.heartbeatMs)
    }
  }

  async ping(options?: CallOptions): Promise<void> {
    checkCallOptions('ping', options, 'call')
    await this.#call({ type: 'Ping' }, 'Pong', options)
  }

  /** The value, or null on a miss (like Redis clients). */
  async get(key: string, options?: CallOptions): Promise<Buffer | null> {
    checkCallOptions('get', options, 'call')
    const near = this.#near
    if (near !== undefined && near.active) {
      const hit = near.lookup(key)
      if (hit !== undefined) return hit
      const shared = this.#nearGets.get(key)
      if (shared) return copy(await shared)
      const fetch = this.#fetchAndFill(near, key, options).then((meta) => meta?.value ?? null).finally(() => this.#nearGets.delete(key))
      this.#nearGets.set(key, fetch)
      return fetch
    }
    const reply = await this.#call({ type: 'Get', key }, 'Value', options)
    // A Buffer of its own, not a view of a socket read (decodeReply copies Value replies).
    return reply.value as Buffer | null
  }

  /** A near miss: fetch with tracking, and fill unless the key changed meanwhile. */
  async #fetchAndFill(near: NearCache, key: string, options: CallOptions | undefined): Promise<{ value: Buffer; ttlMs: number | null } | null> {
    const fill = near.beginFill(key)
    let reply: Extract<Response, { type: 'Meta' }>
    try {
      reply = await this.#call({ type: 'GetWithMeta', key, track: true }, 'Meta', options)
    } catch (err) {
      near.abandonFill(key, fill)
      throw err
    }
    const value = reply.value === null ? null : Buffer.from(reply.value)
    near.finishFill(key, fill, value, reply.ttlMs)
    return value === null ? null : { value, ttlMs: reply.ttlMs }
  }

  /** Runs a write, then drops what it changed from the near cache (also when its outcome is unknown). */
  async #write<T>(changed: Invalidation, run: () => Promise<T>): Promise<T> {
    try {
      return await run()
    } finally {
      this.#near?.invalidate(changed)
    }
  }

  async put(key: string, value: ClientValue, options: PutOptions = {}): Promise<void> {
    checkCallOptions('put', options, 'put')
    await this.#write({ keys: [key] }, () => this.#call({ type: 'Put', key, value: toBytes(value), ttlMs: options.ttlMs, version: options.version, dependsOn: options.dependsOn, publish: options.publish }, 'Ok', options))
  }

  /** Values (null for misses) in key order, in one request. */
  async mget(keys: readonly string[], options?: CallOptions): Promise<Array<Buffer | null>> {
    checkCallOptions('mget', options, 'call')
    const near = this.#near
    if (near === undefined || !near.active) {
      const reply = await this.#call({ type: 'MGet', keys }, 'Values', options)
      return reply.values.map((v) => (v === null ? null : Buffer.from(v)))
    }
    // Near hits answer here; the rest come from the daemon in one request (and are not filled).
    const out: Array<Buffer | null> = keys.map((k) => near.lookup(k) ?? null)
    const missing = keys.filter((_, i) => out[i] === null)
    if (missing.length === 0) return out
    const reply = await this.#call({ type: 'MGet', keys: missing }, 'Values', options)
    let j = 0
    for (let i = 0; i < out.length; i++) {
      if (out[i] !== null) continue
      const v = reply.values[j++]
      out[i] = v === null ? null : Buffer.from(v)
    }
    return out
  }

  /** Stores every entry or none, in one request. */
  async mset(entries: ReadonlyArray<readonly [string, ClientValue]>, options: TtlWriteOptions = {}): Promise<void> {
    checkCallOptions('mset', options, 'ttlWrite')
    const wire = entries.map(([k, v]) => [k, toBytes(v)])
    await this.#write({ keys: entries.map(([k]) => k) }, () => this.#call({ type: 'MSet', entries: wire, ttlMs: options.ttlMs, publish: options.publish }, 'Ok', options))
  }

  /** Deletes the keys; resolves how many existed. Publishes invalidate for each that did. */
  async mdel(keys: readonly string[], options: WriteOptions = {}): Promise<number> {
    checkCallOptions('mdel', options, 'write')
    return (await this.#write({ keys: [...keys] }, () => this.#call({ type: 'MDel', keys, publish: options.publish }, 'Integer', options))).value
  }

  /** How many of the keys are present (a key named twice counts twice). */
  async exists(keys: readonly string[], options?: CallOptions): Promise<number> {
    checkCallOptions('exists', options, 'call')
    return (await this.#call({ type: 'Exists', keys }, 'Integer', options)).value
  }

  /** Atomically adds `delta` (default 1) to the integer at `key`; resolves the new value. */
  async incr(key: string, delta = 1, options: TtlWriteOptions = {}): Promise<number> {
    checkCallOptions('incr', options, 'ttlWrite')
    return (await this.#write({ keys: [key] }, () => this.#call({ type: 'Incr', key, delta, ttlMs: options.ttlMs, publish: options.publish }, 'Integer', options))).value
  }

  /** The value with its version and remaining TTL, or null on a miss. */
  async getWithMeta(key: string, options?: CallOptions): Promise<ClientEntryMeta | null> {
    checkCallOptions('getWithMeta', options, 'call')
    const reply = await this.#call({ type: 'GetWithMeta', key }, 'Meta', options)
    return reply.value === null ? null : { value: Buffer.from(reply.value), version: reply.version, ttlMs: reply.ttlMs }
  }

  /** Stores `next` only if the value equals `expected` (null: only if absent); resolves whether it swapped. */
  async cas(key: string, expected: ClientValue | null, next: ClientValue, options: WriteOptions = {}): Promise<boolean> {
    checkCallOptions('cas', options, 'write')
    const message = { type: 'Cas', key, expected: expected === null ? null : toBytes(expected), next: toBytes(next), publish: options.publish }
    return (await this.#write({ keys: [key] }, () => this.#call(message, 'Bool', options))).value
  }

  /** A page of keys; pass `cursor` back until it is null. See NativeStore.keys for the guarantees. */
  async keys(options: ClientKeysOptions = {}): Promise<{ keys: string[]; cursor: string | null }> {
    checkCallOptions('keys', options, 'keys')
    const { svc, table, prefix, limit, cursor } = options
    const reply = await this.#call({ type: 'Keys', svc, table, prefix, limit, cursor }, 'Keys', options)
    return { keys: reply.keys, cursor: reply.cursor }
  }

  /** Removes a table's entries; publishes one invalidate_scope event. */
  async invalidateTable(svc: string, table: string, options: WriteOptions = {}): Promise<{ removed: number }> {
    checkCallOptions('invalidateTable', options, 'write')
    const reply = await this.#write({ scope: 'table', svc, table }, () => this.#call({ type: 'InvalidateTable', svc, table, publish: options.publish }, 'Integer', options))
    return { removed: reply.value }
  }

  /** Removes a service's entries; publishes one invalidate_scope event. */
  async invalidateService(svc: string, options: WriteOptions = {}): Promise<{ removed: number }> {
    checkCallOptions('invalidateService', options, 'write')
    const reply = await this.#write({ scope: 'service', svc }, () => this.#call({ type: 'InvalidateService', svc, publish: options.publish }, 'Integer', options))
    return { removed: reply.value }
  }

  /** Removes the entries whose key starts with `prefix`; publishes one invalidate_scope event. */
  async invalidatePrefix(prefix: string, options: WriteOptions = {}): Promise<{ removed: number }> {
    checkCallOptions('invalidatePrefix', options, 'write')
    const reply = await this.#write({ scope: 'prefix', prefix }, () => this.#call({ type: 'InvalidatePrefix', prefix, publish: options.publish }, 'Integer', options))
    return { removed: reply.value }
  }

  /** Empties the daemon's store; resolves how many entries it held. Publishes one flush event. */
  async clear(options: WriteOptions = {}): Promise<number> {
    checkCallOptions('clear', options, 'write')
    return (await this.#write({ all: true, reason: 'clear' }, () => this.#call({ type: 'Clear', publish: options.publish }, 'Integer', options))).value
  }

  /** Deletes the key; resolves whether it existed. */
  async del(key: string, options: WriteOptions = {}): Promise<boolean> {
    checkCallOptions('del', options, 'write')
    return (await this.#write({ keys: [key] }, () => this.#call({ type: 'Del', key, publish: options.publish }, 'Deleted', options))).existed
  }

  async invalidate(key: string, options: WriteOptions = {}): Promise<void> {
    checkCallOptions('invalidate', options, 'write')
    await this.#write({ keys: [key] }, () => this.#call({ type: 'Invalidate', key, publish: options.publish }, 'Ok', options))
  }

  async tableChangedUpsert(svc: string, table: string, pk: string, value: ClientValue, options: PutOptions = {}): Promise<void> {
    checkCallOptions('tableChangedUpsert', options, 'upsert')
    await this.#write({ keys: [`${svc}:${table}:${pk}`] }, () =>
      this.#call(
        { type: 'TableChangedUpsert', svc, table, pk, value: toBytes(value), ttlMs: options.ttlMs, version: options.version, publish: options.publish },
        'Ok',
        options,
      ),
    )
  }

  async stats(options?: CallOptions): Promise<Stats> {
    checkCallOptions('stats', options, 'call')
    return decodeStats(await this.statsBinary(options))
  }

  /**
   * Saves the daemon's snapshot (`serve --snapshot`) now; resolves the entries written, once
   * the file is in place. A save can take seconds on a large store: the default timeout is
   * 10 minutes. BadRequest when the daemon has no snapshot file.
   */
  async snapshot(options?: CallOptions): Promise<number> {
    checkCallOptions('snapshot', options, 'call')
    return (await this.#call({ type: 'Snapshot' }, 'Integer', { timeoutMs: SNAPSHOT_TIMEOUT_MS, ...options })).value
  }

  /** The stats exactly as the daemon's Rust core encoded them. */
  async statsBinary(options?: CallOptions): Promise<Buffer> {
    checkCallOptions('statsBinary', options, 'call')
    return Buffer.from((await this.#call({ type: 'Stats' }, 'StatsBinary', options)).stats)
  }

  /**
   * Opens a connection of its own for events; resolves once the daemon acknowledged. With
   * reconnect on, it resubscribes after any interruption and yields `{ type: 'reset' }`.
   */
  async subscribe(options: SubscribeOptions = {}): Promise<Subscription> {
    checkCallOptions('subscribe', options, 'subscribe')
    if (this.#failure?.code === 'Closed') throw new LocalCachedError('Closed', this.#failure.message)
    const subscription = await Subscription.open(this.socketPath, this.#timeoutMs, options, this.#reconnect)
    this.#subscriptions.add(subscription)
    subscription.onClose(() => this.#subscriptions.delete(subscription))
    return subscription
  }

  /**
   * The value, or the loader's on a miss (stored in the daemon with options.ttlMs). Concurrent
   * misses in this process share one loader call; across processes a lease in the daemon lets
   * one load while the others wait for its value (up to lockTimeoutMs). See GetOrLoadOptions.
   */
  getOrLoad(key: string, loader: Loader, options?: GetOrLoadOptions): Promise<Buffer> {
    this.#loads ??= new LoadCoordinator({
      read: async (k, staleBelowMs) => {
        const near = this.#near
        if (near === undefined || !near.active) {
          const meta = await this.getWithMeta(k)
          return meta ? { value: meta.value, ttlMs: meta.ttlMs } : null
        }
        // A near copy's TTL may be cut short by nearCache.ttlMs: only a copy with more than the
        // stale window left is proof of freshness; otherwise the daemon's TTL decides.
        const hit = near.lookupMeta(k)
        if (hit && (hit.ttlMs === null || hit.ttlMs > staleBelowMs)) return hit
        return this.#fetchAndFill(near, k, undefined)
      },
      // A leased fill says so: with L2, the daemon stores it only while the lease still holds.
      write: (k, value, ttlMs, leased) =>
        leased ? this.#write({ keys: [k] }, async () => void (await this.#call({ type: 'Put', key: k, value, ttlMs, lease: true }, 'Ok'))) : this.put(k, value, { ttlMs }),
      lease: async (k, ttlMs) => (await this.#call({ type: 'Lease', key: k, ttlMs }, 'Bool')).value,
      release: async (k) => {
        await this.#call({ type: 'LeaseRelease', key: k }, 'Bool')
      },
    })
    return this.#loads.getOrLoad(key, loader, options)
  }

  /** A Cache<T> over this client that encodes values with one codec ('raw', 'json', 'cbor' or yours). */
  typed<T>(options?: TypedOptions<T>): Cache<T> {
    return typedCache<T>(
      {
        get: (key) => this.get(key),
        set: (key, value, setOptions) => this.put(key, value, setOptions),
        delete: (key) => this.del(key),
        getOrLoad: (key, loader, loadOptions) => this.getOrLoad(key, loader, loadOptions),
      },
      options,
    )
  }

  /** The near cache's counters; throws BadArgument if the client was made without nearCache. */
  nearCacheStats(): NearCacheStats {
    if (!this.#near) throw new LocalCachedError('BadArgument', 'this client has no near cache: connect with { nearCache: { maxBytes } }')
    return this.#near.stats()
  }

  /** Closes the connection and every subscription; pending calls fail with `Closed`. */
  async close(): Promise<void> {
    if (this.#failure?.code === 'Closed') return
    this.#failure = new LocalCachedError('Closed', 'the client was closed')
    clearTimeout(this.#reconnectTimer)
    this.#pending.rejectAll(this.#failure)
    for (const subscription of this.#subscriptions) subscription.close()
    this.#near?.close()
    this.#writer?.flush()
    this.#writer = undefined
    this.#socket?.end()
    this.#socket?.destroySoon()
    this.#socket = undefined
  }

  #call<T extends Response['type']>(message: object, expected: T, options: CallOptions = {}): Promise<Extract<Response, { type: T }>> {
    return new Promise((resolve, reject) => {
      const writer = this.#writer
      if (this.#failure || !writer) {
        const failure = this.#failure ?? connectionLost(this.socketPath)
        return reject(new LocalCachedError(failure.code, failure.message))
      }
      const { signal } = options
      if (signal?.aborted) return reject(signal.reason)
      try {
        writer.send(message, this.limits.maxFrameBytes)
      } catch (err) {
        return reject(err)
      }
      const timeoutMs = options.timeoutMs ?? this.#timeoutMs
      const call: PendingCall = {
        resolve: (response) => {
          if (response.type === 'Err') reject(wireError(response))
          else if (response.type !== expected) reject(new LocalCachedError('Internal', `expected ${expected}, got ${response.type}`))
          else resolve(response as Extract<Response, { type: T }>)
        },
        reject,
        deadline: performance.now() + timeoutMs,
        timeoutMs,
        settled: false,
        signal,
        onAbort: undefined,
      }
      if (signal) {
        call.onAbort = () => {
          if (PendingCalls.settle(call)) reject(signal.reason)
        }
        signal.addEventListener('abort', call.onAbort, { once: true })
      }
      this.#pending.add(call)
    })
  }

  #onReply(pending: PendingCalls, response: Response | Push): void {
    if (this.#near) {
      if (pending !== this.#pending) return // an older connection's last bytes
      this.#near.onMessage(response)
    }
    if (response.type === 'Invalidated' || response.type === 'Heartbeat' || response.type === 'Event') return
    const call = pending.next()
    if (!call) {
      this.#socket?.destroy(new Error(`unexpected ${response.type} with no call pending`))
      return
    }
    if (PendingCalls.settle(call)) call.resolve(response)
  }

  /** A connection ended without close(): fail what was in flight, then reconnect or give up. */
  #onLost(socket: Socket | undefined, pending: PendingCalls, reason: LocalCachedError): void {
    const failure = reason.code === 'ConnectionLost' ? reason : connectionLost(this.socketPath, reason)
    pending.rejectAll(failure)
    if (socket !== undefined && socket !== this.#socket) return // an older connection
    this.#near?.disconnected()
    this.#socket = undefined
    this.#writer = undefined
    if (this.#failure?.code === 'Closed') return
    this.#failure = failure
    if (this.#reconnect.enabled) this.#scheduleReconnect()
  }

  #scheduleReconnect(): void {
    clearTimeout(this.#reconnectTimer)
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined
      this.#open().then(
        () => {},
        () => {
          this.#attempt++
          if (this.#failure?.code !== 'Closed') this.#scheduleReconnect()
        },
      )
    }, backoffDelay(this.#reconnect, this.#attempt))
  }
}
