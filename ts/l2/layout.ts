// Where the shared second tier (L2) keeps things in Redis, and the form of one entry. Every
// name starts with --l2-prefix (default `lc:<bridge name>:`).
//
//   <prefix>gen              the clear generation          (INCR on clear)
//   <prefix>gen:s:<svc>      a service's generation        (INCR on a service scope)
//   <prefix>gen:t:<svc>:<t>  a table's generation          (INCR on a table scope)
//   <prefix>v:<clear gen>:<svc gen>:<table gen>:<key>      one entry
//   <prefix>l:<clear gen>:<svc gen>:<table gen>:<key>      its load lease (getOrLoad): a token
//
// A missing generation reads as 0. An entry's name holds the generations current when it was
// written, so bumping one orphans everything under it in one round trip: no SCAN, ever. The
// orphans age out by their PX, which is never more than --l2-max-ttl-ms. Generations are read
// inside the same Lua script as the entry, so a read or write and a bump are ordered by Redis
// alone: no host caches a generation, and none needs a bridge message to learn one. The
// generation keys have no TTL (one per service and table: a small, bounded set): if one
// expired and restarted at 0, entries written under an old 0 could come back.
//
// An entry's value is `<version>|<expiry>|<bytes>`: the version (empty when the write had
// none) and the absolute expiry in Unix ms (0 when the write had no TTL), so a host that fills
// from it keeps the remaining TTL and the version.

import type { InvalidationScope } from '../protocol/messages'

export interface L2Entry {
  value: Buffer
  version: number | undefined
  /** Absolute, Unix ms; undefined when the entry has no TTL. */
  expiresAt: number | undefined
}

const BAR = 0x7c // '|'

export function encodeEntry(value: Uint8Array, version: number | undefined, expiresAt: number | undefined): Buffer {
  const head = Buffer.from(`${version ?? ''}|${expiresAt ?? 0}|`, 'latin1')
  return Buffer.concat([head, value])
}

/** The entry, or undefined when the bytes are not one (written by something else). */
export function decodeEntry(bytes: Buffer): L2Entry | undefined {
  const first = bytes.indexOf(BAR)
  const second = first < 0 ? -1 : bytes.indexOf(BAR, first + 1)
  if (second < 0 || second > 40) return undefined
  const version = bytes.toString('latin1', 0, first)
  const expiry = Number(bytes.toString('latin1', first + 1, second))
  if ((version !== '' && !/^\d+$/.test(version)) || !Number.isSafeInteger(expiry)) return undefined
  return { value: bytes.subarray(second + 1), version: version === '' ? undefined : Number(version), expiresAt: expiry === 0 ? undefined : expiry }
}

/** The generation key a scope bumps. A prefix bumps the narrowest scope that holds every key it matches. */
export function generationKey(prefix: string, scope: InvalidationScope | 'clear'): string {
  if (scope === 'clear') return `${prefix}gen`
  switch (scope.scope) {
    case 'service':
      return `${prefix}gen:s:${scope.svc}`
    case 'table':
      return `${prefix}gen:t:${scope.svc}:${scope.table}`
    case 'prefix': {
      // Keys are always svc:table:pk. A prefix with two colons ends inside (or at) the pk:
      // one table. With one, it ends inside the table name: one service. With none: all.
      const parts = scope.prefix.split(':')
      if (parts.length >= 3) return `${prefix}gen:t:${parts[0]}:${parts[1]}`
      if (parts.length === 2) return `${prefix}gen:s:${parts[0]}`
      return `${prefix}gen`
    }
  }
}

/**
 * Lua shared by the scripts: `gens(k)`, the generations part of ARGV key `k`'s names under the
 * current generations; `entry(k)`, its entry's name; `lease(k)`, its load lease's name (a
 * bump orphans a lease as it orphans the entry, so a fill under an old lease is refused).
 */
export const ENTRY_NAME = `
local function gen(name) return redis.call('GET', name) or '0' end
local cleargen = gen(prefix .. 'gen')
local function gens(k)
  local a = string.find(k, ':', 1, true)
  local b = string.find(k, ':', a + 1, true)
  local svc = string.sub(k, 1, a - 1)
  local tbl = string.sub(k, 1, b - 1)
  return cleargen .. ':' .. gen(prefix .. 'gen:s:' .. svc) .. ':' .. gen(prefix .. 'gen:t:' .. tbl) .. ':' .. k
end
local function entry(k) return prefix .. 'v:' .. gens(k) end
local function lease(k) return prefix .. 'l:' .. gens(k) end
`

/** ARGV: prefix, key… → the entries (nil where absent). */
export const READ_SCRIPT = `local prefix = ARGV[1]
${ENTRY_NAME}
local out = {}
for i = 2, #ARGV do out[i - 1] = redis.call('GET', entry(ARGV[i])) end
return out`

/**
 * Lua for a write's body, after `name` and `ARGV[2..5]` are set: refuses (returns 0) a versioned
 * write older than the stored entry's version, as the local store refuses it; else stores the
 * entry, ends any load lease on the key (a write ends the load, fleet-wide) and returns 1.
 */
export const STORE = `
if ARGV[5] ~= '' then
  local cur = redis.call('GET', name)
  if cur then
    local v = string.match(cur, '^(%d+)|')
    if v and tonumber(v) > tonumber(ARGV[5]) then return 0 end
  end
end
redis.call('SET', name, ARGV[3], 'PX', ARGV[4])
redis.call('DEL', lease(ARGV[2]))
return 1`

/**
 * ARGV: prefix, key, entry, px, version ('' for none) → 1 stored, 0 refused: a versioned
 * write older than the stored entry's version is refused, as the local store refuses it.
 */
export const WRITE_SCRIPT = `local prefix = ARGV[1]
${ENTRY_NAME}
local name = entry(ARGV[2])
${STORE}`

/** ARGV: prefix, key… → how many entries it deleted; their load leases end too. */
export const DELETE_SCRIPT = `local prefix = ARGV[1]
${ENTRY_NAME}
local n = 0
for i = 2, #ARGV do
  n = n + redis.call('DEL', entry(ARGV[i]))
  redis.call('DEL', lease(ARGV[i]))
end
return n`
