import { afterEach, describe, expect, it } from 'vitest'
import { NativeStore, type CacheEvent, type RemovalNotice } from '../ts/index'
import { startDaemon, type TestDaemon } from './helpers'

let daemon: TestDaemon | undefined
afterEach(async () => {
  await daemon?.close()
  daemon = undefined
})

describe('dependencies (NativeStore)', () => {
  it('removes dependents transitively and reports them with cause dependency', () => {
    const s = new NativeStore()
    const notices: RemovalNotice[] = []
    s.onRemoval((n) => notices.push(n))
    s.set('db:users:1', 'row')
    s.set('api:profile:1', 'p', { dependsOn: ['db:users:1'] })
    s.set('api:page:1', 'page', { dependsOn: ['api:profile:1'] })
    s.set('db:users:1', 'row v2') // an upsert of the source
    expect(s.has('api:profile:1')).toBe(false)
    expect(s.has('api:page:1')).toBe(false)
    expect(notices.map((n) => ('key' in n ? `${n.key}:${n.cause}` : n.cause)).sort()).toEqual(['api:page:1:dependency', 'api:profile:1:dependency'])
    expect(s.stats().dependencyRemovals).toBe(2)
    s.close()
  })

  it('handles a chain of depth 1000 and a cycle; tags are pseudo-keys', () => {
    const s = new NativeStore({ maxBytes: 64 * 1024 * 1024 })
    s.set('c:k:0', 'root')
    for (let i = 1; i <= 1000; i++) s.set(`c:k:${i}`, 'v', { dependsOn: [`c:k:${i - 1}`] })
    s.invalidate('c:k:0')
    expect(s.stats().itemsCurrent).toBe(0)
    // A cycle: a derives from b, then b from a. Writing b changes b, so a (derived from b)
    // goes; invalidating a then takes b. Nothing loops.
    s.set('y:k:a', 'a', { dependsOn: ['y:k:b'] })
    s.set('y:k:b', 'b', { dependsOn: ['y:k:a'] })
    expect([s.has('y:k:a'), s.has('y:k:b')]).toEqual([false, true])
    s.invalidate('y:k:a')
    expect(s.has('y:k:b')).toBe(false)
    s.set('page:p:1', 'x', { dependsOn: ['tags:product:42'] })
    s.set('page:p:2', 'x', { dependsOn: ['tags:product:7'] })
    expect(s.invalidate('tags:product:42')).toBe(false)
    expect([s.has('page:p:1'), s.has('page:p:2')]).toEqual([false, true])
    expect(() => s.set('a:b:c', 'v', { dependsOn: ['not a key'] })).toThrow(/invalid key/)
    s.close()
  })
})

describe('dependencies (daemon)', () => {
  it('publishes invalidate{cause: dependency} for each dependent removed', async () => {
    daemon = await startDaemon()
    const c = daemon.client
    const sub = await c.subscribe()
    await c.put('db:users:1', 'row')
    await c.put('api:profile:1', 'p', { dependsOn: ['db:users:1'] })
    await c.put('api:feed:1', 'f', { dependsOn: ['api:profile:1'] })
    await c.invalidate('db:users:1')
    const events: CacheEvent[] = []
    for (let i = 0; i < 3; i++) events.push((await sub.next()).value as CacheEvent)
    expect(events).toContainEqual({ type: 'invalidate', key: 'db:users:1' })
    expect(events).toContainEqual({ type: 'invalidate', key: 'api:profile:1', cause: 'dependency' })
    expect(events).toContainEqual({ type: 'invalidate', key: 'api:feed:1', cause: 'dependency' })
    expect(await c.get('api:feed:1')).toBeNull()
    expect((await c.stats()).dependencyRemovals).toBe(2)
  })
})
