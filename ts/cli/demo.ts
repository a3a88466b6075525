// `localcached-native demo`: what the embedded store does, in a few lines of output.
import { NativeStore } from '../native-store'

export function runDemo(out: (line: string) => void = (l) => process.stdout.write(l + '\n')): void {
  const store = new NativeStore({ maxBytes: 4096, clock: 'manual' })
  store.onRemoval((r) => out(`  removal: ${JSON.stringify(r)}`))
  out('NativeStore demo (maxBytes 4096, manual clock)')
  store.set('shop:orders:1', JSON.stringify({ id: 1, total: 42 }))
  out(`get shop:orders:1 -> ${store.get('shop:orders:1')}`)
  out('writing 40 rows of 200 bytes into a 4096-byte budget:')
  for (let i = 2; i <= 40; i++) store.set(`shop:orders:${i}`, Buffer.alloc(200, 0x61))
  store.set('shop:sessions:abc', 'token', { ttlMs: 1000 })
  store.advanceClock(1000)
  out(`get shop:sessions:abc after its TTL -> ${store.get('shop:sessions:abc')}`)
  const s = store.stats()
  out(`stats: ${s.itemsCurrent} items, ${s.bytesCurrent}/${s.bytesMax} bytes, ${s.evictions} evictions, ${s.expiredRemovals} expired, hits ${s.getHits}/${s.getCalls}`)
  store.close()
}
