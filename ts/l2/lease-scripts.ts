// The Lua of the fleet-wide load leases (docs/tiers.md, "Single flight across hosts"). A lease
// is `<prefix>l:<generations>:<key>` holding its holder's token; like the entry's name, it
// carries the generations, so a scope bump or a clear orphans it (and refuses its fill).

import { ENTRY_NAME, STORE } from './layout'

/** ARGV: prefix, key, token, px → 1 granted (free, or already this token's: PX renewed), 0 held by another token. */
export const LEASE_SCRIPT = `local prefix = ARGV[1]
${ENTRY_NAME}
local name = lease(ARGV[2])
local cur = redis.call('GET', name)
if not cur then
  redis.call('SET', name, ARGV[3], 'PX', ARGV[4])
  return 1
end
if cur == ARGV[3] then
  redis.call('PEXPIRE', name, ARGV[4])
  return 1
end
return 0`

/** ARGV: prefix, then key, token pairs → how many leases it ended (compare-and-delete: only a lease still holding its token). */
export const RELEASE_SCRIPT = `local prefix = ARGV[1]
${ENTRY_NAME}
local n = 0
for i = 2, #ARGV, 2 do
  local name = lease(ARGV[i])
  if redis.call('GET', name) == ARGV[i + 1] then n = n + redis.call('DEL', name) end
end
return n`

/**
 * ARGV: prefix, key, entry, px, version ('' for none), token → 1 stored, 0 refused: the loader's
 * fill is stored only while its token still holds the lease (no write, scope or clear came
 * since, and it did not run out), and then ends it; a versioned fill older than the stored
 * entry is refused as any write is.
 */
export const FILL_SCRIPT = `local prefix = ARGV[1]
${ENTRY_NAME}
local held = lease(ARGV[2])
if redis.call('GET', held) ~= ARGV[6] then return 0 end
redis.call('DEL', held)
local name = entry(ARGV[2])
${STORE}`
