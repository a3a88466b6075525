// The L2 tests' fleet: a bridge engine and a separate L2 redis-server (so L2 can be killed
// without cutting the bridge), hosts that reach L2 through their own cuttable or holding
// proxy, and Redis's own count of the scripts it ran.
import { createServer, connect, type Server, type Socket } from 'node:net'
import Redis from 'ioredis'
import type { ServeOptions } from '../ts/server/options'
import { startHost, type Host } from './bridge-hosts'

/** A TCP proxy to L2 that can hold its replies back (an L2 read kept in flight) or be cut. */
export class L2Link {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #held: Array<() => void> = []
  hold = false
  #cut = false
  port = 0

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#cut) return void client.destroy()
      const upstream = connect(targetPort, '127.0.0.1')
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('close', () => this.#sockets.delete(s))
        s.on('error', () => {})
      }
      client.on('data', (d) => upstream.write(d))
      upstream.on('data', (d) => (this.hold ? this.#held.push(() => client.write(d)) : client.write(d)))
      const end = () => (client.destroy(), upstream.destroy())
      client.on('close', end)
      upstream.on('close', end)
    })
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.port = (this.#server.address() as { port: number }).port
    return this
  }

  url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  release(): void {
    this.hold = false
    for (const deliver of this.#held.splice(0)) deliver()
  }

  cut(): void {
    this.#cut = true
    this.#held = []
    for (const s of this.#sockets) s.destroy()
  }

  restore(): void {
    this.#cut = false
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}

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
