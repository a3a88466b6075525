// What every RESP command handler shares: its context (the daemon and the connection's
// session), its shape, and the argument helpers that turn bad input into Redis's error texts.

import type { Daemon } from '../server/daemon'
import type { MaybeAsync } from '../server/operations'

export interface RespSession {
  id: number
  name: string | null
  quit: boolean
}

export interface RespContext {
  daemon: Daemon
  session: RespSession
  serverVersion: string
  connectedClients: () => number
}

/** A reply now, or later (a local miss that asks L2). */
export type Handler = (ctx: RespContext, args: Buffer[]) => MaybeAsync<Buffer>

export interface Command {
  /** Redis's arity: n exact, -n at least n (counting the command name). */
  arity: number
  run: Handler
}

export const text = (b: Buffer) => b.toString('utf8')

export class RespError extends Error {}

export function int(arg: Buffer, what = 'value is not an integer or out of range'): number {
  const s = text(arg)
  if (!/^-?\d+$/.test(s)) throw new RespError(`ERR ${what}`)
  const n = Number(s)
  if (!Number.isSafeInteger(n)) throw new RespError(`ERR ${what}`)
  return n
}

