// Typed values over either cache (reference 004's typed SDK): `typed<T>({ codec })` returns a
// Cache<T> whose get/set/delete/getOrLoad encode and decode T with one codec.

import { encode as cborEncode, decode as cborDecode } from 'cbor-x'
import { LocalCachedError } from './errors'
import type { GetOrLoadOptions } from './load/get-or-load'

export interface Codec<T> {
  encode(value: T): Buffer | Uint8Array | string
  decode(bytes: Buffer): T
}

/** 'raw' (Buffer in, Buffer out; the default), 'json', 'cbor' (cbor-x), or your own. */
export type CodecSpec<T> = 'raw' | 'json' | 'cbor' | Codec<T>

export interface TypedOptions<T> {
  codec?: CodecSpec<T>
}

/** What the typed facade needs of a cache; NativeStore and LocalCachedClient both provide it. */
export interface ByteCache {
  get(key: string): Promise<Buffer | null>
  set(key: string, value: Buffer | Uint8Array | string, options?: { ttlMs?: number }): Promise<void>
  delete(key: string): Promise<boolean>
  getOrLoad(key: string, loader: (key: string) => Promise<Buffer | Uint8Array | string>, options?: GetOrLoadOptions): Promise<Buffer>
}

export interface Cache<T> {
  get(key: string): Promise<T | undefined>
  set(key: string, value: T, options?: { ttlMs?: number }): Promise<void>
  delete(key: string): Promise<boolean>
  getOrLoad(key: string, loader: (key: string) => T | Promise<T>, options?: GetOrLoadOptions): Promise<T>
}

const RAW: Codec<Buffer> = {
  encode(value) {
    if (!(value instanceof Uint8Array)) throw new LocalCachedError('BadArgument', "the 'raw' codec takes a Buffer or Uint8Array")
    return value
  },
  decode: (bytes) => bytes,
}

const JSON_CODEC: Codec<unknown> = {
  encode(value) {
    const text = JSON.stringify(value)
    if (text === undefined) throw new LocalCachedError('BadArgument', `the 'json' codec cannot encode ${typeof value}`)
    return text
  },
  decode: (bytes) => JSON.parse(bytes.toString('utf8')),
}

const CBOR_CODEC: Codec<unknown> = {
  encode: (value) => cborEncode(value),
  decode: (bytes) => cborDecode(bytes),
}

export function resolveCodec<T>(spec: CodecSpec<T> | undefined): Codec<T> {
  if (spec === undefined || spec === 'raw') return RAW as unknown as Codec<T>
  if (spec === 'json') return JSON_CODEC as Codec<T>
  if (spec === 'cbor') return CBOR_CODEC as Codec<T>
  if (typeof spec === 'object' && spec !== null && typeof spec.encode === 'function' && typeof spec.decode === 'function') return spec
  throw new LocalCachedError('BadArgument', "codec must be 'raw', 'json', 'cbor' or { encode, decode }")
}

export function typedCache<T>(cache: ByteCache, options: TypedOptions<T> = {}): Cache<T> {
  const codec = resolveCodec(options.codec)
  const decode = (bytes: Buffer): T => {
    try {
      return codec.decode(bytes)
    } catch (err) {
      throw new LocalCachedError('BadArgument', `the codec could not decode the stored value: ${(err as Error).message}`, { cause: err })
    }
  }
  return {
    async get(key) {
      const bytes = await cache.get(key)
      return bytes === null ? undefined : decode(bytes)
    },
    async set(key, value, setOptions) {
      await cache.set(key, codec.encode(value), setOptions)
    },
    delete: (key) => cache.delete(key),
    async getOrLoad(key, loader, loadOptions) {
      // The loader's value is encoded once; what comes back (ours or another process's) is decoded.
      const bytes = await cache.getOrLoad(key, async (k) => codec.encode(await loader(k)), loadOptions)
      return decode(bytes)
    },
  }
}
