// The Redis commands localcached answers, with Redis's reply shapes and error texts. Each is
// a small handler from arguments to one encoded reply; the table drives arity checks. What a
// command does to the cache is a daemon operation (server/operations.ts): RESP has no publish
// flag, so every command follows --publish-default.

import { fromNative, LocalCachedError } from '../errors'
import { INT64_MAX, INT64_MIN } from '../native-store'
import { MAX_KEY_BYTES, MAX_SCAN_LIMIT } from '../limits'
import type { Daemon } from '../server/daemon'
import type { MaybeAsync } from '../server/operations'
import { shape } from '../server/handlers'
import { compileGlob, literalPrefix } from './glob'
import { reply } from './codec'
import { int, RespError, text, type Command, type Handler, type RespContext } from './handler'
import { bgsave, info, lastsave } from './server-info'

export type { RespContext, RespSession } from './handler'

/** The code of each error reply made from a coded error, for `commands_total`'s status. */
const replyCodes = new WeakMap<Buffer, string>()

/**
 * The status an error reply is counted under: the code of the error it was made from, or
 * BadRequest for Redis's own errors (syntax, arity, unknown command, NOAUTH, WRONGPASS).
 */
export function errorReplyStatus(out: Buffer): string {
  return replyCodes.get(out) ?? 'BadRequest'
}

/** Translates our coded errors into Redis's wording where Redis has one. */
export function respError(thrown: unknown): Buffer {
  const err = fromNative(thrown)
  if (err instanceof RespError) return reply.error(err.message)
  const out = codedRespError(err)
  replyCodes.set(out, err instanceof LocalCachedError ? (err.code === 'BadArgument' ? 'BadRequest' : err.code) : 'Internal')
  return out
}

function codedRespError(err: unknown): Buffer {
  if (err instanceof LocalCachedError) {
    switch (err.code) {
      case 'InvalidKey': {
        const key = /invalid key "(.*?)"/.exec(err.message)?.[1] ?? ''
        return reply.error(`ERR invalid key '${key}': expected svc:table:pk, three non-empty segments of [A-Za-z0-9._-], at most ${MAX_KEY_BYTES} bytes`)
      }
      case 'NotAnInteger':
        return reply.error('ERR value is not an integer or out of range')
      case 'Overflow':
        return reply.error('ERR increment or decrement would overflow')
      default:
        return reply.error(`ERR ${err.message}`)
    }
  }
  return reply.error(`ERR internal error: ${(err as Error)?.message ?? String(err)}`)
}

// --- connection ---------------------------------------------------------------------------

const ping: Handler = (_ctx, args) => (args.length > 1 ? reply.bulk(args[1]) : reply.pong)
const echo: Handler = (_ctx, args) => reply.bulk(args[1])
const quit: Handler = (ctx) => {
  ctx.session.quit = true
  return reply.ok
}
const select: Handler = (_ctx, args) => (text(args[1]) === '0' ? reply.ok : reply.error('ERR DB index is out of range'))

const client: Handler = (ctx, args) => {
  const sub = text(args[1]).toUpperCase()
  if (sub === 'SETNAME' && args.length === 3) {
    ctx.session.name = text(args[2])
    return reply.ok
  }
  if (sub === 'GETNAME' && args.length === 2) return reply.bulk(ctx.session.name)
  if (sub === 'ID' && args.length === 2) return reply.integer(ctx.session.id)
  if (sub === 'SETINFO') return reply.ok
  return reply.error(`ERR unknown subcommand '${text(args[1])}'. Try CLIENT HELP.`)
}

/** HELLO [2 …] answers with the server's properties; RESP3 is not spoken (NOPROTO, as Redis). */
const hello: Handler = (ctx, args) => {
  if (args.length > 1 && text(args[1]) !== '2') return reply.error('NOPROTO unsupported protocol version')
  const props: Array<[string, Buffer]> = [
    ['server', reply.bulk('redis')],
    ['version', reply.bulk('7.0.0')],
    ['proto', reply.integer(2)],
    ['id', reply.integer(ctx.session.id)],
    ['mode', reply.bulk('standalone')],
    ['role', reply.bulk('master')],
    ['modules', reply.emptyArray],
  ]
  return reply.array(props.flatMap(([k, v]) => [reply.bulk(k), v]))
}

const command: Handler = (_ctx, args) => {
  const sub = args.length > 1 ? text(args[1]).toUpperCase() : ''
  if (sub === 'COUNT') return reply.integer(Object.keys(COMMANDS).length)
  // An empty listing or docs map: clients (redis-cli's hints) treat it as "no metadata".
  return reply.emptyArray
}

// --- strings ------------------------------------------------------------------------------

/** GET's reply, also used by the listener's fast path for plain GETs. */
export function getReply(daemon: Daemon, key: string): MaybeAsync<Buffer> {
  try {
    const value = daemon.ops.get(key)
    return value instanceof Promise ? value.then((v) => reply.bulk(v ?? null), respError) : reply.bulk(value ?? null)
  } catch (err) {
    return respError(err)
  }
}

const get: Handler = (ctx, args) => getReply(ctx.daemon, text(args[1]))

/** A plain SET's reply (the store's plain write path), also used by the listener's fast path. */
export function setReply(daemon: Daemon, key: string, value: Buffer): Buffer {
  try {
    daemon.ops.put(key, value)
    return reply.ok
  } catch (err) {
    return respError(err)
  }
}

const set: Handler = (ctx, args) => {
  const key = text(args[1])
  if (args.length === 3) return setReply(ctx.daemon, key, args[2])
  let ttlMs: number | undefined
  let when: 'always' | 'absent' | 'present' = 'always'
  let keepTtl = false
  let returnOld = false
  for (let i = 3; i < args.length; i++) {
    const opt = text(args[i]).toUpperCase()
    if ((opt === 'EX' || opt === 'PX') && i + 1 < args.length && ttlMs === undefined && !keepTtl) {
      const n = int(args[++i])
      if (n <= 0) throw new RespError(`ERR invalid expire time in 'set' command`)
      ttlMs = opt === 'EX' ? n * 1000 : n
    } else if (opt === 'NX' && when === 'always') when = 'absent'
    else if (opt === 'XX' && when === 'always') when = 'present'
    else if (opt === 'KEEPTTL' && ttlMs === undefined) keepTtl = true
    else if (opt === 'GET') returnOld = true
    else throw new RespError('ERR syntax error')
  }
  const { stored, old } = ctx.daemon.ops.setIf(key, args[2], { ttlMs, when, keepTtl, returnOld })
  if (returnOld) return reply.bulk(old)
  return stored ? reply.ok : reply.nil
}

const getdel: Handler = (ctx, args) => reply.bulk(ctx.daemon.ops.getDel(text(args[1])) ?? null)

const del: Handler = (ctx, args) => reply.integer(ctx.daemon.ops.mdel(args.slice(1).map(text)).filter(Boolean).length)

const exists: Handler = (ctx, args) => reply.integer(ctx.daemon.ops.exists(args.slice(1).map(text)))

const mget: Handler = (ctx, args) => shape(ctx.daemon.ops.mget(args.slice(1).map(text)), (values) => reply.array(values.map((v) => reply.bulk(v ?? null))))

const mset: Handler = (ctx, args) => {
  if (args.length % 2 === 0) throw new RespError(`ERR wrong number of arguments for 'mset' command`)
  const entries: Array<[string, Buffer]> = []
  for (let i = 1; i < args.length; i += 2) entries.push([text(args[i]), args[i + 1]])
  ctx.daemon.ops.mset(entries)
  return reply.ok
}

const incrBy = (ctx: RespContext, key: string, delta: bigint): Buffer => reply.integer(String(ctx.daemon.ops.incrInt64(key, delta)))

const incr: Handler = (ctx, args) => incrBy(ctx, text(args[1]), 1n)
const decr: Handler = (ctx, args) => incrBy(ctx, text(args[1]), -1n)

/** A signed 64-bit decimal argument, as Redis parses it (no rounding through a JS number). */
function i64(arg: Buffer): bigint {
  const s = text(arg)
  if (!/^-?\d{1,20}$/.test(s)) throw new RespError('ERR value is not an integer or out of range')
  const n = BigInt(s)
  if (n < INT64_MIN || n > INT64_MAX) throw new RespError('ERR value is not an integer or out of range')
  return n
}

const incrby: Handler = (ctx, args) => incrBy(ctx, text(args[1]), i64(args[2]))
const decrby: Handler = (ctx, args) => {
  const n = i64(args[2])
  if (n === INT64_MIN) throw new RespError('ERR decrement would overflow')
  return incrBy(ctx, text(args[1]), -n)
}

// --- expiry -------------------------------------------------------------------------------

// Redis: a TTL of 0 or less deletes the key (the operation does that, as a delete).
const expireMs = (ctx: RespContext, key: string, ms: number): Buffer => reply.integer(ctx.daemon.ops.expire(key, ms) ? 1 : 0)

const expire: Handler = (ctx, args) => expireMs(ctx, text(args[1]), int(args[2]) * 1000)
const pexpire: Handler = (ctx, args) => expireMs(ctx, text(args[1]), int(args[2]))

function ttlOf(ctx: RespContext, key: string, unitMs: number): Buffer {
  const meta = ctx.daemon.ops.localMeta(key)
  if (!meta) return reply.integer(-2)
  if (meta.ttlMs === null) return reply.integer(-1)
  return reply.integer(unitMs === 1 ? meta.ttlMs : Math.round(meta.ttlMs / 1000))
}

const ttl: Handler = (ctx, args) => ttlOf(ctx, text(args[1]), 1000)
const pttl: Handler = (ctx, args) => ttlOf(ctx, text(args[1]), 1)
const persist: Handler = (ctx, args) => {
  const key = text(args[1])
  const meta = ctx.daemon.ops.localMeta(key)
  if (!meta || meta.ttlMs === null) return reply.integer(0)
  return reply.integer(ctx.daemon.ops.expire(key, null) ? 1 : 0)
}

// --- keyspace -----------------------------------------------------------------------------

/** Keys fetched per step while KEYS walks the store (its reply holds them all anyway). */
const KEYS_PAGE = 10_000

const dbsize: Handler = (ctx) => reply.integer(ctx.daemon.stats().itemsCurrent)

const keys: Handler = (ctx, args) => {
  const pattern = text(args[1])
  const match = compileGlob(pattern)
  const prefix = literalPrefix(pattern) || undefined
  const out: Buffer[] = []
  let cursor: string | undefined
  do {
    const page = ctx.daemon.ops.keys({ prefix, limit: KEYS_PAGE, cursor })
    for (const k of page.keys) if (match.test(k)) out.push(reply.bulk(k))
    cursor = page.cursor ?? undefined
  } while (cursor)
  return reply.array(out)
}

/** Redis clients expect a decimal cursor; ours is `<shard>.<slot>` in base 36. */
function toRedisCursor(cursor: string | null): string {
  if (cursor === null) return '0'
  const [shard, slot] = cursor.split('.').map((p) => BigInt(parseInt(p, 36)))
  return String(((shard + 1n) << 32n) | slot)
}

function fromRedisCursor(cursor: string): string | undefined {
  if (!/^\d+$/.test(cursor)) throw new RespError('ERR invalid cursor')
  const n = BigInt(cursor)
  if (n === 0n) return undefined
  const shard = (n >> 32n) - 1n
  const slot = n & 0xffffffffn
  if (shard < 0n) throw new RespError('ERR invalid cursor')
  return `${shard.toString(36)}.${slot.toString(36)}`
}

const scan: Handler = (ctx, args) => {
  let pattern: string | undefined
  let count = 10
  for (let i = 2; i < args.length; i++) {
    const opt = text(args[i]).toUpperCase()
    if (opt === 'MATCH' && i + 1 < args.length) pattern = text(args[++i])
    else if (opt === 'COUNT' && i + 1 < args.length) {
      count = int(args[++i])
      if (count < 1) throw new RespError('ERR syntax error')
    } else if (opt === 'TYPE' && i + 1 < args.length) i++
    else throw new RespError('ERR syntax error')
  }
  const match = pattern === undefined ? null : compileGlob(pattern)
  const prefix = pattern === undefined ? undefined : literalPrefix(pattern) || undefined
  const page = ctx.daemon.ops.keys({ prefix, limit: Math.min(count, MAX_SCAN_LIMIT), cursor: fromRedisCursor(text(args[1])) })
  const found = match ? page.keys.filter((k) => match.test(k)) : page.keys
  return reply.array([reply.bulk(toRedisCursor(page.cursor)), reply.array(found.map((k) => reply.bulk(k)))])
}

const flushall: Handler = (ctx, args) => {
  if (args.length > 2 || (args.length === 2 && !/^(ASYNC|SYNC)$/i.test(text(args[1])))) throw new RespError('ERR syntax error')
  ctx.daemon.ops.clear()
  return reply.ok
}

// --- our own verbs ------------------------------------------------------------------------

const lcUpsert: Handler = (ctx, args) => {
  const [svc, table, pk] = args.slice(1, 4).map(text)
  let ttlMs: number | undefined
  let version: number | undefined
  for (let i = 5; i < args.length; i++) {
    const opt = text(args[i]).toUpperCase()
    if (opt === 'PX' && i + 1 < args.length && ttlMs === undefined) {
      ttlMs = int(args[++i])
      if (ttlMs <= 0) throw new RespError(`ERR invalid expire time in 'lc.upsert' command`)
    } else if (opt === 'VERSION' && i + 1 < args.length && version === undefined) {
      version = int(args[++i])
      if (version < 0) throw new RespError('ERR version must be a non-negative integer')
    } else throw new RespError('ERR syntax error')
  }
  ctx.daemon.ops.upsert(svc, table, pk, args[4], { ttlMs, version })
  return reply.ok
}

const lcInvalidate: Handler = (ctx, args) => reply.integer(ctx.daemon.ops.invalidate(text(args[1])) ? 1 : 0)

const lcInvalidateTable: Handler = (ctx, args) => {
  const [svc, table] = args.slice(1, 3).map(text)
  return reply.integer(ctx.daemon.ops.invalidateScope({ scope: 'table', svc, table }))
}

const lcInvalidateService: Handler = (ctx, args) => reply.integer(ctx.daemon.ops.invalidateScope({ scope: 'service', svc: text(args[1]) }))

const lcInvalidatePrefix: Handler = (ctx, args) => reply.integer(ctx.daemon.ops.invalidateScope({ scope: 'prefix', prefix: text(args[1]) }))

const lcStats: Handler = (ctx) => reply.bulk(ctx.daemon.statsBinary())

export const COMMANDS: Record<string, Command> = {
  PING: { arity: -1, run: ping },
  ECHO: { arity: 2, run: echo },
  QUIT: { arity: -1, run: quit },
  SELECT: { arity: 2, run: select },
  CLIENT: { arity: -2, run: client },
  HELLO: { arity: -1, run: hello },
  COMMAND: { arity: -1, run: command },
  GET: { arity: 2, run: get },
  SET: { arity: -3, run: set },
  GETDEL: { arity: 2, run: getdel },
  DEL: { arity: -2, run: del },
  EXISTS: { arity: -2, run: exists },
  MGET: { arity: -2, run: mget },
  MSET: { arity: -3, run: mset },
  INCR: { arity: 2, run: incr },
  DECR: { arity: 2, run: decr },
  INCRBY: { arity: 3, run: incrby },
  DECRBY: { arity: 3, run: decrby },
  EXPIRE: { arity: 3, run: expire },
  PEXPIRE: { arity: 3, run: pexpire },
  TTL: { arity: 2, run: ttl },
  PTTL: { arity: 2, run: pttl },
  PERSIST: { arity: 2, run: persist },
  DBSIZE: { arity: 1, run: dbsize },
  KEYS: { arity: 2, run: keys },
  SCAN: { arity: -2, run: scan },
  FLUSHALL: { arity: -1, run: flushall },
  FLUSHDB: { arity: -1, run: flushall },
  INFO: { arity: -1, run: info },
  BGSAVE: { arity: -1, run: bgsave },
  LASTSAVE: { arity: 1, run: lastsave },
  'LC.UPSERT': { arity: -5, run: lcUpsert },
  'LC.INVALIDATE': { arity: 2, run: lcInvalidate },
  'LC.INVALIDATETABLE': { arity: 3, run: lcInvalidateTable },
  'LC.INVALIDATESERVICE': { arity: 2, run: lcInvalidateService },
  'LC.INVALIDATEPREFIX': { arity: 2, run: lcInvalidatePrefix },
  'LC.STATS': { arity: 1, run: lcStats },
}

/**
 * The command's name in upper case. GET and SET, most of a cache's traffic, are recognised
 * from their bytes (any case: & 0xdf clears the lower-case bit) without building a string.
 */
export function commandName(arg: Buffer): string {
  if (arg.length === 3 && (arg[1] & 0xdf) === 0x45 && (arg[2] & 0xdf) === 0x54) {
    const first = arg[0] & 0xdf
    if (first === 0x47) return 'GET'
    if (first === 0x53) return 'SET'
  }
  return text(arg).toUpperCase()
}

/** Runs one command; every failure becomes an error reply, never a thrown error. */
export function runCommand(ctx: RespContext, args: Buffer[], upperName = commandName(args[0])): MaybeAsync<Buffer> {
  const name = text(args[0])
  const cmd = COMMANDS[upperName]
  if (!cmd) {
    const rest = args.slice(1).map((a) => `'${text(a).slice(0, 64)}' `).join('')
    return reply.error(`ERR unknown command '${name.slice(0, 64)}', with args beginning with: ${rest}`)
  }
  if (cmd.arity >= 0 ? args.length !== cmd.arity : args.length < -cmd.arity) {
    return reply.error(`ERR wrong number of arguments for '${name.toLowerCase()}' command`)
  }
  try {
    const out = cmd.run(ctx, args)
    return out instanceof Promise ? out.catch(respError) : out
  } catch (err) {
    return respError(err)
  }
}
