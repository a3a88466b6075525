// Commands answered at each door (native, RESP), for `localcached_commands_total`. The doors
// count; a scrape reads. Counting a success is one Map increment keyed by the name the door
// already holds (the request's type, the RESP command's upper-case name), so it costs the hot
// path nothing measurable (scripts/bench-counting.mjs); names become metric labels only when a
// scrape asks.

import { LocalCachedError } from '../errors'

export type Protocol = 'native' | 'resp'

export interface CommandCount {
  /** The operation's name: a native request type in snake_case, a RESP command in lower case. */
  command: string
  protocol: Protocol
  /** 'ok', or the error code answered (docs/errors.md). */
  status: string
  count: number
}

/** A native request that could not be parsed has no type: it is counted under this name. */
export const INVALID_COMMAND = '(invalid)'
/** RESP commands the daemon does not know are counted under one name, not one label each. */
export const UNKNOWN_COMMAND = '(unknown)'

interface ErrorCount {
  command: string
  protocol: Protocol
  status: string
  count: number
}

export class CommandCounts {
  // One lookup per count: the Map holds a mutable cell, not the number itself.
  readonly #nativeOk = new Map<string, { n: number }>()
  readonly #respOk = new Map<string, { n: number }>()
  /** Failures are rare: one record per (protocol, command, code). */
  readonly #errors = new Map<string, ErrorCount>()

  /** A native request answered with a reply other than Err; `type` is its request type. */
  nativeOk(type: string): void {
    const cell = this.#nativeOk.get(type)
    if (cell !== undefined) cell.n++
    else this.#nativeOk.set(type, { n: 1 })
  }

  /** A RESP command answered with a reply other than an error; `name` is upper case. */
  respOk(name: string): void {
    const cell = this.#respOk.get(name)
    if (cell !== undefined) cell.n++
    else this.#respOk.set(name, { n: 1 })
  }

  /** A command answered with an error; `command` is the door's own name for it. */
  error(protocol: Protocol, command: string, status: string): void {
    const id = `${protocol}\u0000${command}\u0000${status}`
    const known = this.#errors.get(id)
    if (known) known.count++
    else this.#errors.set(id, { protocol, command, status, count: 1 })
  }

  /** Every count so far, with the commands' names as labels. */
  entries(): CommandCount[] {
    const out: CommandCount[] = []
    for (const [type, { n }] of this.#nativeOk) out.push({ command: nativeLabel(type), protocol: 'native', status: 'ok', count: n })
    for (const [name, { n }] of this.#respOk) out.push({ command: respLabel(name), protocol: 'resp', status: 'ok', count: n })
    for (const e of this.#errors.values()) {
      out.push({ command: e.protocol === 'native' ? nativeLabel(e.command) : respLabel(e.command), protocol: e.protocol, status: e.status, count: e.count })
    }
    return out
  }

  /** Commands of either door answered with `status` (an error code). */
  errorsWithStatus(status: string): number {
    let n = 0
    for (const e of this.#errors.values()) if (e.status === status) n += e.count
    return n
  }
}

/** 'GetWithMeta' → 'get_with_meta', 'MGet' → 'mget'. */
export function nativeLabel(type: string): string {
  if (type.startsWith('(')) return type
  return type.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()
}

function respLabel(name: string): string {
  return name.startsWith('(') ? name : name.toLowerCase()
}

/** The code an error is answered with on the wire (the native door answers BadArgument as BadRequest). */
export function wireCode(err: unknown): string {
  if (!(err instanceof LocalCachedError)) return 'Internal'
  return err.code === 'BadArgument' ? 'BadRequest' : err.code
}
