// The bridge lag over the last minute: origin timestamp to applied here, clamped at 0. Kept as
// one-second buckets of bounded samples, so a burst of 50,000 changes a second costs nothing
// to remember; p99 is over the samples kept.

const BUCKETS = 60
const SAMPLES_PER_BUCKET = 256

export class LagWindow {
  readonly #buckets: Array<{ second: number; samples: number[]; seen: number }> = []

  add(nowMs: number, lagMs: number): void {
    const second = Math.floor(nowMs / 1000)
    let bucket = this.#buckets.at(-1)
    if (bucket === undefined || bucket.second !== second) {
      bucket = { second, samples: [], seen: 0 }
      this.#buckets.push(bucket)
      if (this.#buckets.length > BUCKETS) this.#buckets.shift()
    }
    bucket.seen++
    const lag = Math.max(0, lagMs)
    if (bucket.samples.length < SAMPLES_PER_BUCKET) bucket.samples.push(lag)
    else {
      // Reservoir sampling: every change of the second is equally likely to be kept.
      const at = Math.floor(Math.random() * bucket.seen)
      if (at < SAMPLES_PER_BUCKET) bucket.samples[at] = lag
    }
  }

  /** p99 of the last minute's lag in ms (0 with no samples). */
  p99(nowMs: number): number {
    const from = Math.floor(nowMs / 1000) - BUCKETS
    const all = this.#buckets.filter((b) => b.second > from).flatMap((b) => b.samples)
    if (all.length === 0) return 0
    all.sort((a, b) => a - b)
    return all[Math.min(all.length - 1, Math.ceil(all.length * 0.99) - 1)]
  }
}
