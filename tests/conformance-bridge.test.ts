// The bridge as a door of the conformance table (conformance-table.ts): each write operation
// runs on daemon X, and daemon Y, joined to X by a bridge over a real redis-server, must show
// what a remote change means there: the same pushes to its near caches, the same lease
// endings, the same fate for what depends on the key, and the event iff X's request published,
// with `origin` added. Values never cross, so a write on X is a removal on Y: what depends on
// the key goes too (even for a new TTL, which keeps dependents where it is made).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CacheEvent } from '../ts/index'
import { eventually, requireTool } from './helpers'
import { Engine } from './engines'
import { ROWS, closeObserved, canonical, caseKeys, observe, request, type CaseKeys, type Observation, type Observed, type Push, type Row } from './conformance-table'

const redisServer = requireTool('redis-server')

/** Whether X's request published an event for its change (X runs with --publish-writes off). */
function originPublished(row: Row, publishes: boolean): boolean {
  const event = row.expect.event
  if (event === null) return false // a plain write publishes only under --publish-writes
  return publishes
}

/** What Y must show for `row` run on X. */
function expectedRemote(row: Row, k: CaseKeys, publishes: boolean): Observation {
  const e = row.expect
  const published = originPublished(row, publishes)
  const nothing: Observation = { result: null, events: [], pushes: [], targetLeaseEnded: false, bystanderLeaseEnded: false, dependentPresent: true }
  if (!e.changed && !e.push) return nothing
  const events: CacheEvent[] = []
  const pushes: Push[] = []
  if (e.push) {
    // A scope or clear: as the local expectation, with origin on the operation's event.
    if (e.dependencyNotice) {
      events.push({ type: 'invalidate', key: k.dependent, cause: 'dependency' })
      pushes.push({ type: 'Invalidated', keys: [k.dependent] })
    }
    if (e.event) events.push({ ...e.event(k), origin: 'X' })
    pushes.push(e.push(k))
    return { result: null, events: published ? events : [], pushes, targetLeaseEnded: true, bystanderLeaseEnded: e.clearsAll === true, dependentPresent: false }
  }
  // A key change: Y removes the key and, by its own edges, what depends on it.
  events.push({ type: 'invalidate', key: k.dependent, cause: 'dependency' })
  pushes.push({ type: 'Invalidated', keys: [k.dependent] }, { type: 'Invalidated', keys: [k.target] })
  if (row.name === 'mset') pushes.push({ type: 'Invalidated', keys: [k.sibling] })
  if (published) events.push({ ...e.event!(k), origin: 'X' })
  return { result: null, events: published ? events : [], pushes, targetLeaseEnded: true, bystanderLeaseEnded: false, dependentPresent: false }
}

describe.skipIf(redisServer.skip)(redisServer.title('the bridge door: a change made on X means the same on Y'), () => {
  let engine: Engine
  let x: Observed
  let y: Observed
  const name = `conf${process.pid}`

  /** Everything `from` sent before now has been applied by `to` (the bridge keeps order). */
  async function sync(from: Observed, to: Observed, fromId: string): Promise<void> {
    const fence = `fence:b:${Math.random().toString(36).slice(2)}`
    await from.setup.invalidate(fence, { publish: true })
    await eventually(() => to.events.some((e) => 'key' in e && e.key === fence && e.origin === fromId), 10_000)
  }

  async function runBridgedCase(row: Row, door: 'native' | 'resp', publishes: boolean, k: CaseKeys): Promise<Observation> {
    await y.setup.clear({ publish: false })
    await sync(y, x, 'Y') // X is empty too
    // X's target outranks Y's by version, so Y's own writes (which cross) leave X's in place;
    // and it is below the rows' own versioned writes (3), which X must accept.
    await x.setup.put(k.target, '5', { ttlMs: 60_000, version: 2, publish: false })
    await sync(x, y, 'X')
    await y.setup.put(k.target, '5', { ttlMs: 60_000, version: 1, publish: false })
    await y.setup.put(k.sibling, 's', { publish: false })
    await y.setup.put(k.dependent, 'd', { dependsOn: [k.target], publish: false })
    await sync(y, x, 'Y')
    for (const key of [k.target, k.sibling, k.dependent]) await request(y.tracking, { type: 'GetWithMeta', key, track: true })
    expect((await request(y.holder, { type: 'Lease', key: k.target, ttlMs: 60_000 })).value).toBe(true)
    expect((await request(y.holder, { type: 'Lease', key: k.bystander, ttlMs: 60_000 })).value).toBe(true)
    const eventsFrom = y.events.length
    const pushesFrom = y.tracking.messages.length

    if (door === 'resp') {
      const [command, ...args] = row.resp!(k)
      await x.redis.call(command, ...args)
    } else {
      await request(x.native, { ...row.native!(k), publish: publishes })
    }
    const fence = `fence:b:${k.svc}`
    await x.setup.invalidate(fence, { publish: true })
    await eventually(() => y.events.slice(eventsFrom).some((e) => 'key' in e && e.key === fence), 10_000)
    const events = y.events.slice(eventsFrom, y.events.findIndex((e, i) => i >= eventsFrom && 'key' in e && e.key === fence))
    await request(y.tracking, { type: 'Ping' })
    const pushes = y.tracking.messages.slice(pushesFrom).filter((m) => m.type === 'Invalidated')
    const targetLeaseEnded = (await request(y.contender, { type: 'Lease', key: k.target, ttlMs: 60_000 })).value === true
    const bystanderLeaseEnded = (await request(y.contender, { type: 'Lease', key: k.bystander, ttlMs: 60_000 })).value === true
    for (const c of [y.holder, y.contender]) for (const key of [k.target, k.bystander]) await request(c, { type: 'LeaseRelease', key })
    const dependentPresent = (await y.setup.exists([k.dependent])) === 1
    return { result: null, events, pushes, targetLeaseEnded, bystanderLeaseEnded, dependentPresent }
  }

  beforeAll(async () => {
    engine = await Engine.start('redis')
    const bridge = { bridge: engine.url(), bridgeName: name, bridgeHeartbeatMs: 100 }
    // X: publishing follows each request's flag (native) or is off (RESP).
    x = await observe(false, false, { ...bridge, hostId: 'X' })
    y = await observe(false, false, { ...bridge, hostId: 'Y' })
    await sync(x, y, 'X')
    await sync(y, x, 'Y')
  }, 30_000)

  afterAll(async () => {
    for (const o of [x, y]) await closeObserved(o)
    await engine?.close()
  })

  for (const row of ROWS) {
    for (const publishes of [true, false]) {
      const door: 'native' | 'resp' | undefined = row.native ? 'native' : row.resp && !publishes ? 'resp' : undefined
      if (!door) continue
      it(`${row.name} (${publishes ? 'publishing' : 'not publishing'}): ${door} on X, seen on Y`, async () => {
        const k = caseKeys(false)
        const observed = canonical(await runBridgedCase(row, door, publishes, k))
        expect(observed).toEqual(canonical(expectedRemote(row, k, publishes)))
      }, 30_000)
    }
  }
})
