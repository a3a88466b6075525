// The names and types NativeStore's constructor accepts, and the native store it makes of
// them. Ranges are the Rust core's to check (its messages name the accepted range); here a
// typo (`maxByte`) or a wrong type (`maxBytes: '64mb'`) fails at once instead of being ignored.

import { check, checkOptions, type OptionCheck, type OptionSpec } from './option-check'
import { loadBinding } from './loader'
import { dispatchRemovals, type RemovalListener } from './removals'
import type { RawStore } from '../binding'
import type { NativeStoreOptions } from './native-store-types'

const number: OptionCheck = (value, name, where) => {
  if (typeof value !== 'number') return check.integer(0)(value, name, where)
  return value
}

export const NATIVE_STORE_OPTIONS: OptionSpec = {
  maxBytes: number,
  shards: number,
  maxValueBytes: number,
  sweepIntervalMs: number,
  clock: check.oneOf(['system', 'manual']),
  maxKeys: number,
  svcCaps: check.object,
}

export function checkNativeStoreOptions<T extends object>(options: T | undefined): T {
  return checkOptions('new NativeStore()', options, NATIVE_STORE_OPTIONS)
}

/**
 * The store's native functions (of the process-wide store `shared`, if named). The removal
 * callback holds only `listeners`, never the NativeStore: the native side keeps the callback
 * alive, and it must not keep an unclosed store from being collected.
 */
export function openNative(options: NativeStoreOptions, shared: string | undefined, listeners: Set<RemovalListener>): RawStore {
  const binding = loadBinding()
  const raw = { ...options, svcCaps: options.svcCaps ? Object.entries(options.svcCaps) : undefined }
  const onRemovals = (batch: Array<string | number>) => dispatchRemovals(listeners, batch)
  const native = shared === undefined ? binding.createStore(raw, onRemovals) : binding.openStore(shared, raw, onRemovals)
  // The binding adds its ~30 functions one by one, which leaves V8 a slow dictionary-mode
  // object; a spread copy has fast properties, so `native.get` is an inline load (~10 ns
  // less per call). The functions are bound natively, so the copy calls them as well.
  return { ...native }
}

/** The option names each NativeStore method takes (their values are checked by the addon). */
const names = (...list: string[]) => new Set(list)
export const NATIVE_CALL_OPTIONS = {
  set: names('ttlMs', 'version', 'dependsOn'),
  ttl: names('ttlMs'),
  upsert: names('ttlMs', 'version'),
  setIf: names('ttlMs', 'when', 'keepTtl', 'returnOld'),
  keys: names('svc', 'table', 'prefix', 'limit', 'cursor'),
  saveSnapshot: names('meta', 'priority'),
  loadSnapshot: names('maxAgeMs'),
} as const
