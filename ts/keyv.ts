// A Keyv store adapter (`localcached-native/keyv`): Keyv, and everything built on it
// (cache-manager 6+, cacheable), on the shared daemon.
//
// Keyv's keys are free-form strings and ours are `svc:table:pk` with pk in [A-Za-z0-9._-], so
// a Keyv key goes into pk encoded, reversibly:
//
//   pk = base64url(namespace) + '.' + base64url(rest)      for a key `${namespace}:${rest}`
//   pk = '.' + base64url(key)                              without a namespace
//
// base64url never produces '.', so the split is unambiguous, and one namespace's keys share
// the prefix `svc:table:base64url(namespace).`, which is how clear() empties only its
// namespace. Values are stored with a one-byte tag so strings, Buffers and other values
// (JSON) come back as they went in.

import { EventEmitter } from 'node:events'
import { LocalCachedClient, type ConnectOptions } from './client/client'
import { LocalCachedError } from './errors'

export interface KeyvLocalcachedOptions {
  /** The daemon's socket. Default: the same default as the client and the CLI. */
  socket?: string
  /** The svc and table segments every key of this store lives under. */
  svc: string
  table: string
  /** Connection options (timeouts, reconnect, nearCache). */
  connect?: ConnectOptions
  /** Use this client instead of opening one (then disconnect() leaves it open). */
  client?: LocalCachedClient
}

const SEGMENT = /^[A-Za-z0-9._-]+$/
const TAG_STRING = 0x73 // 's'
const TAG_BYTES = 0x62 // 'b'
const TAG_JSON = 0x6a // 'j'

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64url')
const unb64 = (text: string) => Buffer.from(text, 'base64url').toString('utf8')

export function encodeValue(value: unknown): Buffer {
  if (typeof value === 'string') return Buffer.concat([Buffer.of(TAG_STRING), Buffer.from(value, 'utf8')])
  if (value instanceof Uint8Array) return Buffer.concat([Buffer.of(TAG_BYTES), value])
  const json = JSON.stringify(value)
  if (json === undefined) throw new LocalCachedError('BadArgument', `KeyvLocalcached cannot store a value of type ${typeof value}`)
  return Buffer.concat([Buffer.of(TAG_JSON), Buffer.from(json, 'utf8')])
}

export function decodeValue(bytes: Buffer): unknown {
  const body = bytes.subarray(1)
  switch (bytes[0]) {
    case TAG_STRING:
      return body.toString('utf8')
    case TAG_BYTES:
      return Buffer.from(body)
    case TAG_JSON:
      return JSON.parse(body.toString('utf8'))
    default:
      throw new LocalCachedError('BadArgument', 'not a value written by KeyvLocalcached')
  }
}

export class KeyvLocalcached extends EventEmitter {
  /** Keyv reads `dialect` and `url` from here to decide what an adapter supports. */
  readonly opts: KeyvLocalcachedOptions & { dialect: 'localcached'; url: string }
  /** Set by Keyv; keys arrive already prefixed with `${namespace}:`. */
  namespace: string | undefined
  readonly #svc: string
  readonly #table: string
  readonly #client: Promise<LocalCachedClient>
  readonly #ownsClient: boolean

  constructor(options: KeyvLocalcachedOptions) {
    super()
    if (typeof options !== 'object' || options === null) throw new LocalCachedError('BadArgument', 'KeyvLocalcached takes { svc, table, socket? }')
    for (const name of ['svc', 'table'] as const) {
      if (typeof options[name] !== 'string' || !SEGMENT.test(options[name])) {
        throw new LocalCachedError('BadArgument', `KeyvLocalcached: ${name} must be a key segment of [A-Za-z0-9._-], got ${JSON.stringify(options[name])}`)
      }
    }
    this.opts = { ...options, dialect: 'localcached', url: options.socket ?? '' }
    this.#svc = options.svc
    this.#table = options.table
    this.#ownsClient = options.client === undefined
    this.#client = options.client ? Promise.resolve(options.client) : LocalCachedClient.connect(options.socket, options.connect)
    // Keyv listens for 'error'; each call also rejects with the same error, so without a
    // listener there is nothing more to tell.
    this.#client.catch((err) => {
      if (this.listenerCount('error') > 0) this.emit('error', err)
    })
  }

  /** Our key for a Keyv key (see the module comment for the encoding). */
  toCacheKey(key: string): string {
    const ns = this.namespace
    const pk = ns !== undefined && key.startsWith(`${ns}:`) ? `${b64(ns)}.${b64(key.slice(ns.length + 1))}` : `.${b64(key)}`
    return `${this.#svc}:${this.#table}:${pk}`
  }

  /** The Keyv key a cache key came from. */
  fromCacheKey(cacheKey: string): string {
    const pk = cacheKey.slice(this.#svc.length + this.#table.length + 2)
    const dot = pk.indexOf('.')
    const ns = pk.slice(0, dot)
    const rest = unb64(pk.slice(dot + 1))
    return ns === '' ? rest : `${unb64(ns)}:${rest}`
  }

  async get<Value>(key: string): Promise<Value | undefined> {
    const bytes = await (await this.#client).get(this.toCacheKey(key))
    return bytes === null ? undefined : (decodeValue(bytes) as Value)
  }

  async getMany<Value>(keys: string[]): Promise<Array<Value | undefined>> {
    const values = await (await this.#client).mget(keys.map((k) => this.toCacheKey(k)))
    return values.map((v) => (v === null ? undefined : (decodeValue(v) as Value)))
  }

  /** `ttl` in milliseconds, as Keyv passes it; none (or 0) keeps the value until evicted. */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const ttlMs = typeof ttl === 'number' && ttl > 0 ? Math.ceil(ttl) : undefined
    await (await this.#client).put(this.toCacheKey(key), encodeValue(value), { ttlMs })
    return true
  }

  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<void> {
    // One connection pipelines these: all are in flight at once, not one round trip each.
    await Promise.all(entries.map(({ key, value, ttl }) => this.set(key, value, ttl)))
  }

  async delete(key: string): Promise<boolean> {
    return (await this.#client).del(this.toCacheKey(key))
  }

  async deleteMany(keys: string[]): Promise<boolean> {
    return (await (await this.#client).mdel(keys.map((k) => this.toCacheKey(k)))) > 0
  }

  async has(key: string): Promise<boolean> {
    return (await (await this.#client).exists([this.toCacheKey(key)])) > 0
  }

  async hasMany(keys: string[]): Promise<boolean[]> {
    const client = await this.#client
    return Promise.all(keys.map(async (k) => (await client.exists([this.toCacheKey(k)])) > 0))
  }

  /** Empties this store's namespace (or, without one, its whole svc:table). */
  async clear(): Promise<void> {
    const client = await this.#client
    if (this.namespace === undefined) await client.invalidateTable(this.#svc, this.#table)
    else await client.invalidatePrefix(`${this.#svc}:${this.#table}:${b64(this.namespace)}.`)
  }

  /**
   * Every [Keyv key, stored value] of a namespace, a page at a time. Keyv itself only wires
   * iterators of adapters it knows, so call this on the adapter: `store.iterator('ns')`.
   */
  async *iterator<Value>(namespace?: string): AsyncGenerator<[string, Value], void> {
    const client = await this.#client
    const ns = namespace ?? this.namespace
    const prefix = `${this.#svc}:${this.#table}:${ns === undefined ? '' : `${b64(ns)}.`}`
    let cursor: string | undefined
    do {
      const page = await client.keys({ prefix, limit: 500, cursor })
      const values = await client.mget(page.keys)
      for (let i = 0; i < page.keys.length; i++) {
        const v = values[i]
        if (v !== null) yield [this.fromCacheKey(page.keys[i]), decodeValue(v) as Value]
      }
      cursor = page.cursor ?? undefined
    } while (cursor !== undefined)
  }

  async disconnect(): Promise<void> {
    if (this.#ownsClient) await (await this.#client).close()
  }
}
