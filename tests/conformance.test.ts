// One table, every door: each write operation runs through the native protocol (with the
// publish flag left to --publish-default, and set explicitly against it), through RESP, and
// through NativeStore where it has the operation, against real daemons. Every door must
// produce the same result, the same events, the same tracking pushes to a near cache, the same
// lease endings and the same fate for an entry that depends on the key, with publishing on
// and off, and (for operations that write a value) with an eviction forced by the write.
// The rules themselves live once, in ts/server/operations.ts; this table keeps them there.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { NativeStore, type CacheEvent } from '../ts/index'
import type { RemovalNotice } from '../ts/removals'
import { ROOT } from './helpers'
import { FILLER_BYTES, ROWS, closeObserved, STORE_OPTIONS, canonical, caseKeys, expectedObservation, observe, runDaemonCase, runPipelinedCase, spelledForCase, type Door, type Observed } from './conformance-table'

let on: Observed
let off: Observed
/** --publish-writes on, --publish-default on. */
let writes: Observed

beforeAll(async () => {
  on = await observe(true)
  off = await observe(false)
  writes = await observe(true, true)
})

afterAll(async () => {
  for (const o of [on, off, writes]) await closeObserved(o)
})

describe('every write operation means the same through every door', () => {
  for (const row of ROWS) {
    for (const evicting of row.evicts ? [false, true] : [false]) {
      for (const publishes of [true, false]) {
        const doors: Array<Exclude<Door, 'store'>> = []
        if (row.native) doors.push('native', 'native-explicit')
        if (row.resp) doors.push('resp')
        const variant = `${publishes ? 'publishing' : 'not publishing'}${evicting ? ', forcing an eviction' : ''}`
        it(`${row.name} (${variant}): ${doors.join(', ')}`, async () => {
          for (const door of doors) {
            // 'native-explicit' sets the flag against the daemon's default; the others follow it.
            const daemon = door === 'native-explicit' ? (publishes ? off : on) : publishes ? on : off
            const k = caseKeys(evicting)
            const observed = canonical(await runDaemonCase(daemon, row, door, publishes, k, evicting))
            expect(observed, `${door}`).toEqual(canonical(expectedObservation(row, k, publishes, evicting)))
          }
        })
      }
    }
  }
})

describe('with --publish-writes, every write that publishes also announces each key it changed', () => {
  for (const row of ROWS) {
    for (const publishes of [true, false]) {
      const doors: Array<Exclude<Door, 'store'>> = []
      if (row.native) doors.push(publishes ? 'native' : 'native-explicit')
      if (row.resp && publishes) doors.push('resp')
      if (doors.length === 0) continue
      it(`${row.name} (${publishes ? 'publishing' : 'not publishing'}): ${doors.join(', ')}`, async () => {
        for (const door of doors) {
          const k = caseKeys(false)
          // 'native-explicit' turns publishing off on this request against the default.
          const observed = canonical(await runDaemonCase(writes, row, door, publishes, k, false))
          expect(observed, door).toEqual(canonical(expectedObservation(row, k, publishes, false, true)))
        }
      })
    }
  }
})

describe('pipelined runs of gets and plain puts mean what the same requests mean one by one', () => {
  // Each row's request sits among runs of gets (hits, a miss, an expired entry, a bad key)
  // and of plain puts, sent in one socket write, which the daemon executes as runs; the same
  // requests sent one at a time in a form it reads through its single path must give the
  // same replies, events (in the same order), pushes, lease endings and dependent's fate.
  let piped: Observed
  beforeAll(async () => {
    // No sweeper: the expired entry is found expired by the get, in both cases.
    piped = await observe(true, false, { sweepIntervalMs: 0 })
  })
  afterAll(async () => closeObserved(piped))
  for (const row of ROWS) {
    for (const door of ['native', 'resp'] as const) {
      if (!(door === 'native' ? row.native : row.resp)) continue
      it(`${row.name}: ${door}`, async () => {
        const ks = caseKeys(false)
        const single = spelledForCase(await runPipelinedCase(piped, row, door, ks, false), ks)
        const kr = caseKeys(false)
        const runs = spelledForCase(await runPipelinedCase(piped, row, door, kr, true), kr)
        expect(runs).toEqual(single)
      })
    }
  }
})

describe('NativeStore reports the same removals for the operations it has', () => {
  for (const row of ROWS.filter((r) => r.store)) {
    for (const evicting of row.evicts ? [false, true] : [false]) {
      it(`${row.name}${evicting ? ', forcing an eviction' : ''}`, () => {
        const k = caseKeys(evicting)
        const store = new NativeStore({ sweepIntervalMs: 0, ...STORE_OPTIONS })
        try {
          if (evicting) store.set(k.filler, 'f'.repeat(FILLER_BYTES))
          store.set(k.target, '5', { ttlMs: 60_000 })
          store.set(k.sibling, 's')
          store.set(k.dependent, 'd', { dependsOn: [k.target] })
          for (const key of [k.target, k.sibling, k.dependent]) store.get(key)
          const notices: RemovalNotice[] = []
          store.onRemoval((n) => notices.push(n))
          const result = row.store!(store, k)
          const expected = expectedObservation(row, k, true, evicting)
          // The store's removal notices are the daemon's removal-caused events, one for one.
          const asEvents = notices.map((n): CacheEvent =>
            n.cause === 'evicted' ? { type: 'evicted', key: n.key, reason: 'memory_pressure' } : n.cause === 'dependency' ? { type: 'invalidate', key: n.key, cause: 'dependency' } : { type: 'flush' },
          )
          const removalEvents = expected.events.filter((e) => e.type === 'evicted' || ('cause' in e && e.cause === 'dependency'))
          expect(canonical({ ...expected, events: asEvents, pushes: [] })).toEqual(canonical({ ...expected, events: removalEvents, pushes: [] }))
          expect(result).toEqual(expected.result)
          expect(store.has(k.dependent)).toBe(expected.dependentPresent)
        } finally {
          store.close()
        }
      })
    }
  }
})

describe('the doors hold no rules of their own', () => {
  it('native handlers, RESP commands and the bridge never touch the store or publish', () => {
    // The bridge is a door too: remote changes go through Operations.applyRemote / flushForBridge.
    for (const file of ['ts/server/handlers.ts', 'ts/resp/commands.ts', 'ts/resp/server.ts', 'ts/server/connection.ts', 'ts/bridge/bridge.ts', 'ts/bridge/receiver.ts']) {
      const source = readFileSync(join(ROOT, file), 'utf8')
      expect(source, file).not.toMatch(/\.store\b|rawStoreOf|\.publish\(|publishDefault|\.tracker\.(changed|flushAll)|\.leases\.(changed|clear)/)
    }
  })
})
