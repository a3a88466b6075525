// The names and types NativeStore's constructor accepts. Ranges are the Rust core's to check
// (its messages name the accepted range); here a typo (`maxByte`) or a wrong type
// (`maxBytes: '64mb'`) fails at once instead of being ignored.

import { check, checkOptions, type OptionCheck, type OptionSpec } from './option-check'

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
