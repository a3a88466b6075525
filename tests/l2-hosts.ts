// The L2 tests' fleet: a bridge engine and a separate L2 redis-server (so L2 can be killed
// without cutting the bridge), hosts that reach L2 through their own cuttable or holding
// proxy, and Redis's own count of the scripts it ran.
import Redis from 'ioredis'
import type { ServeOptions } from '../ts/server/options'
import { startHost, type Host } from './bridge-hosts'

/** The proxy in front of a host's L2: hold it to keep an L2 read in flight, or cut it. */
export { CuttableTcpProxy as L2Link } from './tcp-proxy'

export async function startL2Host(bridgeUrl: string, name: string, hostId: string, l2Url: string, options: ServeOptions = {}): Promise<Host> {
  return startHost(bridgeUrl, name, hostId, { l2: l2Url, l2TimeoutMs: 3000, l2BreakerMs: 300, ...options })
}

/** How many times Redis ran an L2 script (EVALSHA, or EVAL the first time). */
export async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats')
  let calls = 0
  for (const m of info.matchAll(/cmdstat_(evalsha|eval):calls=(\d+)/g)) calls += Number(m[2])
  return calls
}
