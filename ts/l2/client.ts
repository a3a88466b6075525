// The L2 connection: one ioredis client whose every command has a deadline (--l2-timeout-ms)
// and passes the breaker. Nothing waits for Redis to come back: with no offline queue a
// command while disconnected fails at once, and the caller falls back to local-only.

import Redis, { type RedisOptions } from 'ioredis'
import { LocalCachedError } from '../errors'
import { redisOptionsFromUrl } from '../bridge/redis-transport'
import { redactSecrets } from '../server/redact'
import { Breaker } from './breaker'
import { DELETE_SCRIPT, READ_SCRIPT, WRITE_SCRIPT } from './layout'
import { FILL_SCRIPT, LEASE_SCRIPT, RELEASE_SCRIPT } from './lease-scripts'

/** The longest wait between reconnection attempts: a returning Redis is noticed within it. */
const RECONNECT_MAX_MS = 500

/** An L2 step that did not run: the breaker is open. */
export class BreakerOpen extends Error {
  constructor() {
    super('the L2 breaker is open')
  }
}

type Scripted = Redis & {
  l2readBuffer(...args: Array<string | Buffer>): Promise<Array<Buffer | null>>
  l2write(...args: Array<string | Buffer>): Promise<number>
  l2del(...args: string[]): Promise<number>
  l2lease(...args: string[]): Promise<number>
  l2release(...args: string[]): Promise<number>
  l2fill(...args: Array<string | Buffer>): Promise<number>
}

export interface L2ClientOptions {
  url: string
  timeoutMs: number
  breakerMs: number
  /** A command failed (for the log; called at most once per breaker opening and per success after). */
  trouble(what: string, err: unknown): void
}

export class L2Client {
  readonly #redis: Scripted
  readonly breaker: Breaker
  readonly #trouble: L2ClientOptions['trouble']
  /** Commands that failed or timed out. */
  errors = 0
  /** The last command failed: the next success is "L2 is back". */
  #failing = false
  #onBack: (() => void) | undefined

  constructor(options: L2ClientOptions) {
    const scheme = /^([a-z+]+):\/\//i.exec(options.url)?.[1]?.toLowerCase()
    if (scheme !== 'redis' && scheme !== 'rediss' && scheme !== 'redis+unix') {
      throw new LocalCachedError('BadArgument', `--l2 ${redactSecrets(options.url)}: the URL must start with redis://, rediss:// or redis+unix://`)
    }
    const { target, options: base } = redisOptionsFromUrl(options.url)
    const all: RedisOptions = {
      ...base,
      protocol: 2,
      lazyConnect: true,
      commandTimeout: options.timeoutMs,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      enableAutoPipelining: true,
      retryStrategy: (times) => Math.min(times * 20, RECONNECT_MAX_MS),
    }
    this.#redis = (typeof target === 'string' ? new Redis(target, all) : new Redis({ ...target, ...all })) as Scripted
    this.#redis.on('error', () => {}) // every command reports its own failure
    this.#redis.defineCommand('l2read', { numberOfKeys: 0, lua: READ_SCRIPT })
    this.#redis.defineCommand('l2write', { numberOfKeys: 0, lua: WRITE_SCRIPT })
    this.#redis.defineCommand('l2del', { numberOfKeys: 0, lua: DELETE_SCRIPT })
    this.#redis.defineCommand('l2lease', { numberOfKeys: 0, lua: LEASE_SCRIPT })
    this.#redis.defineCommand('l2release', { numberOfKeys: 0, lua: RELEASE_SCRIPT })
    this.#redis.defineCommand('l2fill', { numberOfKeys: 0, lua: FILL_SCRIPT })
    this.breaker = new Breaker(options.breakerMs)
    this.#trouble = options.trouble
  }

  /** Connects, waiting at most `timeoutMs`; false when Redis did not answer (the daemon runs local-only until it does). */
  async connect(timeoutMs: number): Promise<boolean> {
    const attempt = this.#redis.connect().then(
      () => true,
      () => false,
    )
    const late = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref())
    return Promise.race([attempt, late])
  }

  /** Called after a success that follows a failure. */
  onBack(handler: () => void): void {
    this.#onBack = handler
  }

  /** The entries of `keys` (null where absent), in one round trip. */
  read(prefix: string, keys: readonly string[]): Promise<Array<Buffer | null>> {
    return this.#run(() => this.#redis.l2readBuffer(prefix, ...keys))
  }

  /** Stores an entry (PX `px`); false when its version is older than the stored one. */
  async write(prefix: string, key: string, entry: Buffer, px: number, version: number | undefined): Promise<boolean> {
    return (await this.#run(() => this.#redis.l2write(prefix, key, entry, String(px), version === undefined ? '' : String(version)))) === 1
  }

  delete(prefix: string, keys: readonly string[]): Promise<number> {
    return this.#run(() => this.#redis.l2del(prefix, ...keys))
  }

  /** Takes (or renews) the load lease on `key` for `token`; false when another token holds it. */
  async lease(prefix: string, key: string, token: string, px: number): Promise<boolean> {
    return (await this.#run(() => this.#redis.l2lease(prefix, key, token, String(px)))) === 1
  }

  /** Ends each lease that still holds its token (compare-and-delete). */
  release(prefix: string, held: ReadonlyArray<readonly [key: string, token: string]>): Promise<number> {
    return this.#run(() => this.#redis.l2release(prefix, ...held.flat()))
  }

  /** Stores a loader's fill only while `token` holds the key's lease, ending it; false when refused. */
  async fill(prefix: string, key: string, entry: Buffer, px: number, version: number | undefined, token: string): Promise<boolean> {
    return (await this.#run(() => this.#redis.l2fill(prefix, key, entry, String(px), version === undefined ? '' : String(version), token))) === 1
  }

  bump(generationKeys: readonly string[]): Promise<unknown> {
    if (generationKeys.length === 1) return this.#run(() => this.#redis.incr(generationKeys[0]))
    return this.#run(async () => {
      const results = await this.#redis.multi(generationKeys.map((k) => ['incr', k])).exec()
      for (const [err] of results ?? []) if (err) throw err
    })
  }

  async close(): Promise<void> {
    this.#redis.disconnect()
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (!this.breaker.allows) throw new BreakerOpen()
    try {
      const result = await command()
      this.breaker.success()
      if (this.#failing) {
        this.#failing = false
        this.#onBack?.()
      }
      return result
    } catch (err) {
      this.errors++
      if (!this.#failing) this.#trouble('L2 command failed; falling back to local-only', err)
      this.#failing = true
      if (this.breaker.failure()) this.#trouble('L2 breaker open', err)
      throw err
    }
  }
}
