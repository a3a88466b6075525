// The L2 tests' fleet: a bridge engine and a separate L2 redis-server (so L2 can be killed
// without cutting the bridge), hosts that reach L2 through their own cuttable or holding
// proxy, and Redis's own count of the scripts it ran.
import Redis from 'ioredis'
import type { ServeOptions } from '../ts/server/options'
import { bridgeName, startHost, type Host } from './bridge-hosts'
import { Engine } from './engines'
import { CuttableTcpProxy } from './tcp-proxy'

/** The proxy in front of a host's L2: hold it to keep an L2 read in flight, or cut it. */
export { CuttableTcpProxy as L2Link } from './tcp-proxy'

export async function startL2Host(bridgeUrl: string, name: string, hostId: string, l2Url: string, options: ServeOptions = {}): Promise<Host> {
  return startHost(bridgeUrl, name, hostId, { l2: l2Url, l2TimeoutMs: 3000, l2BreakerMs: 300, ...options })
}

export interface L2Fleet {
  /** The bridge's engine. */
  bridge: Engine
  /** L2's own redis-server, apart from the bridge's so it can be killed alone. */
  l2: Engine
  /** A plain client of L2, to look at what it holds. */
  redis: Redis
  /** Each host's proxy to L2, in host order. */
  links: CuttableTcpProxy[]
  hosts: Host[]
  close(): Promise<void>
}

/** One host per entry of `options` (ids A, B, C, …) on one bridge, each reaching L2 through its own proxy. */
export async function startL2Fleet(options: ServeOptions[]): Promise<L2Fleet> {
  const bridge = await Engine.start('redis')
  const l2 = await Engine.start('redis')
  const redis = new Redis(l2.port, '127.0.0.1')
  const links: CuttableTcpProxy[] = []
  const hosts: Host[] = []
  const name = bridgeName()
  for (const [i, o] of options.entries()) {
    links.push(await new CuttableTcpProxy(l2.port).listen())
    hosts.push(await startL2Host(bridge.url(), name, String.fromCharCode(65 + i), links[i].url(), o))
  }
  return {
    bridge,
    l2,
    redis,
    links,
    hosts,
    async close() {
      for (const h of hosts) await h.close()
      for (const link of links) await link.close()
      redis.disconnect()
      await l2.close()
      await bridge.close()
    },
  }
}

/** How many times Redis ran an L2 script (EVALSHA, or EVAL the first time). */
export async function scriptCalls(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats')
  let calls = 0
  for (const m of info.matchAll(/cmdstat_(evalsha|eval):calls=(\d+)/g)) calls += Number(m[2])
  return calls
}
