// The outage list's return (docs/tiers.md, failure modes): while a host removes from L2 what
// L2 missed during an outage, it reads nothing from L2, so a read cannot overtake the removal
// and refill the value the outage left stale. Redis's CLIENT PAUSE holds the removal's first
// command (the generation bump) so that a read is asked for while it is in flight.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import Redis from 'ioredis'
import { eventually, requireTool } from './helpers'
import { Engine } from './engines'
import { bridgeName, type Host } from './bridge-hosts'
import { L2Link, startL2Host } from './l2-hosts'

const tool = requireTool('redis-server')
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** The probe that retries the outage list runs every min(--l2-breaker-ms, 1 s). */
const PROBE_MS = 1000

describe.skipIf(tool.skip)(tool.title('L2 outage list'), () => {
  let bridge: Engine
  let l2: Engine
  let redis: Redis
  let link: L2Link
  let a: Host

  beforeAll(async () => {
    bridge = await Engine.start('redis')
    l2 = await Engine.start('redis')
    redis = new Redis(l2.port, '127.0.0.1')
    link = await new L2Link(l2.port).listen()
    a = await startL2Host(bridge.url(), bridgeName(), 'A', link.url(), { l2BreakerMs: PROBE_MS })
  }, 30_000)

  afterAll(async () => {
    await a?.close()
    await link?.close()
    redis?.disconnect()
    await l2?.close()
    await bridge?.close()
  })

  it('a delete made during an outage stays deleted while its removal from L2 is in flight (read your writes)', async () => {
    const key = 'shop:flush:1'
    await a.client.put(key, 'old') // in L2
    const clients = async () => (await redis.client('LIST')).toString().trim().split('\n').length
    const connected = await clients()
    link.cut()
    await a.client.del(key) // applied here; L2 still holds 'old', and the key is remembered
    await a.client.invalidateTable('shop', 'other') // a bump L2 missed: the removal starts with it
    expect(await a.client.get(key)).toBeNull() // nothing is read from L2 while the list holds anything
    link.restore()
    await eventually(async () => (await clients()) >= connected, 5000, 10) // A's L2 connection is back
    await sleep(50) // its ready check answered
    // Every command waits in Redis from here: the next probe's bump is sent and held.
    await redis.call('CLIENT', 'PAUSE', String(2 * PROBE_MS + 500), 'ALL')
    await sleep(PROBE_MS + 200)
    // Asked while the bump is in flight: a read of L2 sent now would run before the delete.
    expect(await a.client.get(key)).toBeNull()
    await eventually(async () => (await redis.keys(`*${key}`)).length === 0, 10_000)
    expect(await a.client.get(key)).toBeNull()
  }, 30_000)
})
