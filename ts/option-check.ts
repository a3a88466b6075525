// Checks an options object against the names and types a function accepts, so a typo
// (`ttl`, `maxByte`) or a value of the wrong type (`timeoutMs: '100'`) fails at the call with
// a BadArgument naming the option, instead of being ignored or failing later far away.

import { LocalCachedError } from './errors'

/** Takes the value given for `name`; returns it (possibly normalised) or throws BadArgument. */
export type OptionCheck = (value: unknown, name: string, where: string) => unknown

export type OptionSpec = Record<string, OptionCheck>

function describe(value: unknown): string {
  if (typeof value === 'string') return `the string '${value.length > 40 ? value.slice(0, 40) + '…' : value}'`
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  return `${typeof value} ${String(value)}`
}

function bad(where: string, name: string, wanted: string, value: unknown): LocalCachedError {
  return new LocalCachedError('BadArgument', `${where}: ${name} must be ${wanted}, got ${describe(value)}`)
}

export const check = {
  integer(min: number, max = Number.MAX_SAFE_INTEGER): OptionCheck {
    const wanted = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`
    return (value, name, where) => {
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw bad(where, name, wanted, value)
      return value
    }
  },
  boolean: ((value, name, where) => {
    if (typeof value !== 'boolean') throw bad(where, name, 'true or false', value)
    return value
  }) as OptionCheck,
  string: ((value, name, where) => {
    if (typeof value !== 'string' || value === '') throw bad(where, name, 'a non-empty string', value)
    return value
  }) as OptionCheck,
  stringArray: ((value, name, where) => {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) throw bad(where, name, 'an array of strings', value)
    return value
  }) as OptionCheck,
  oneOf(choices: readonly unknown[]): OptionCheck {
    return (value, name, where) => {
      if (!choices.includes(value)) throw bad(where, name, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, value)
      return value
    }
  },
  object: ((value, name, where) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(where, name, 'an object', value)
    return value
  }) as OptionCheck,
  signal: ((value, name, where) => {
    if (!(value instanceof AbortSignal)) throw bad(where, name, 'an AbortSignal', value)
    return value
  }) as OptionCheck,
}

/**
 * Checks every option present (undefined counts as absent) and returns a copy with the
 * checks' normalised values. `where` names the call in messages, e.g. 'new NativeStore()'.
 */
export function checkOptions<T extends object>(where: string, options: T | undefined, spec: OptionSpec): T {
  if (options === undefined) return {} as T
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new LocalCachedError('BadArgument', `${where}: options must be an object, got ${describe(options)}`)
  }
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(options)) {
    const checkOne = Object.prototype.hasOwnProperty.call(spec, name) ? spec[name] : undefined
    if (!checkOne) {
      const near = closest(name, Object.keys(spec))
      throw new LocalCachedError('BadArgument', `${where}: unknown option '${name}'${near ? ` (did you mean '${near}'?)` : ''}; accepted: ${Object.keys(spec).join(', ')}`)
    }
    if (value !== undefined) out[name] = checkOne(value, name, where)
  }
  return out as T
}

/** The accepted name nearest to a typo, if it is near enough to be a likely intent. */
function closest(name: string, names: string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of names) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase())
    if (d < bestDistance) {
      best = candidate
      bestDistance = d
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length]
}

/**
 * The cheap check for hot calls (NativeStore's per-call options, whose values the addon
 * checks itself): throws BadArgument for a name outside `names`, allocating nothing otherwise.
 */
export function rejectUnknownOptions(where: string, options: object | undefined, names: ReadonlySet<string>): void {
  if (options === undefined) return
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new LocalCachedError('BadArgument', `${where}: options must be an object, got ${describe(options)}`)
  }
  for (const name in options) {
    if (!names.has(name)) {
      const near = closest(name, [...names])
      throw new LocalCachedError('BadArgument', `${where}: unknown option '${name}'${near ? ` (did you mean '${near}'?)` : ''}; accepted: ${[...names].join(', ')}`)
    }
  }
}
