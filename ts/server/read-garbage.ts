// Frees socket read buffers promptly. Every read from a client arrives in a fresh Buffer
// whose memory sits outside the V8 heap; the daemon copies values into the store at once,
// so these are garbage immediately, but V8 collects them only when its young generation
// fills, which small Buffer objects do slowly. Under a write flood that let 20–40 MiB of
// dead read buffers pile up (48 MiB budget: peak RSS 140 MiB). A minor GC costs ~65 µs
// here; one per READ_BYTES_PER_GC read keeps that garbage small for about 3 ms of CPU per
// second at 350 MiB/s.

import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

export const READ_BYTES_PER_GC = 4 * 1024 * 1024

type Gc = (options: { type: 'minor' | 'major'; execution?: 'sync' }) => void

let gc: Gc | null | undefined

function minorGc(): Gc | null {
  if (gc === undefined) {
    try {
      // Exposes gc to contexts created from now on; the application's own global is untouched.
      setFlagsFromString('--expose-gc')
      gc = runInNewContext('gc') as Gc
    } catch {
      gc = null
    }
  }
  return gc
}

/** Returns a function to call with each read's size; it runs a minor GC every READ_BYTES_PER_GC. */
export function readGarbageCollector(): (bytes: number) => void {
  const collect = minorGc()
  if (!collect) return () => {}
  let sinceLast = 0
  return (bytes) => {
    sinceLast += bytes
    if (sinceLast >= READ_BYTES_PER_GC) {
      sinceLast = 0
      collect({ type: 'minor', execution: 'sync' })
    }
  }
}
