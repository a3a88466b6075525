// The options each client method takes, checked before anything is sent: a typo or a value
// of the wrong type is a BadArgument here, as NativeStore answers the same call, rather than
// the daemon's BadRequest (or silence) later.

import { check, checkOptions, type OptionCheck, type OptionSpec } from '../option-check'

const anyString: OptionCheck = (value, name, where) => {
  if (typeof value !== 'string') return check.string(value, name, where)
  return value
}

export const CONNECT_OPTIONS: OptionSpec = {
  timeoutMs: check.integer(1),
  waitMs: check.integer(0),
  reconnect: check.object,
  nearCache: check.object,
}

const CALL: OptionSpec = { signal: check.signal, timeoutMs: check.integer(1) }
const WRITE: OptionSpec = { ...CALL, publish: check.boolean }
const TTL_WRITE: OptionSpec = { ...WRITE, ttlMs: check.integer(1) }
const PUT: OptionSpec = { ...TTL_WRITE, version: check.integer(0), dependsOn: check.stringArray }
const UPSERT: OptionSpec = { ...TTL_WRITE, version: check.integer(0) }
const KEYS: OptionSpec = { ...CALL, svc: check.string, table: check.string, prefix: anyString, limit: check.integer(1, 100_000), cursor: anyString }

export const CALL_OPTIONS = { call: CALL, write: WRITE, ttlWrite: TTL_WRITE, put: PUT, upsert: UPSERT, keys: KEYS } as const

/** Throws BadArgument naming the method and the option if `options` has an unknown name or a wrong type. */
export function checkCallOptions<T extends object>(method: string, options: T | undefined, kind: keyof typeof CALL_OPTIONS): T {
  return checkOptions(`client.${method}()`, options, CALL_OPTIONS[kind])
}
