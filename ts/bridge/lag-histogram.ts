// The bridge lag since start as a cumulative histogram (Prometheus `_bucket`/`_sum`/`_count`),
// kept as plain counters: one array increment per applied change, read on scrape. The bounds
// are in seconds and span what a bridge sees: a millisecond on one quiet host, seconds through
// an engine outage.

export const LAG_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30] as const

export interface LagHistogramSnapshot {
  /** Cumulative counts: buckets[i] = changes with lag ≤ LAG_BUCKETS_SECONDS[i]. */
  buckets: number[]
  sumSeconds: number
  count: number
}

export class LagHistogram {
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly #counts = new Array<number>(LAG_BUCKETS_SECONDS.length + 1).fill(0)
  #sumSeconds = 0
  #count = 0

  add(lagMs: number): void {
    const seconds = Math.max(0, lagMs) / 1000
    let i = 0
    while (i < LAG_BUCKETS_SECONDS.length && seconds > LAG_BUCKETS_SECONDS[i]) i++
    this.#counts[i]++
    this.#sumSeconds += seconds
    this.#count++
  }

  snapshot(): LagHistogramSnapshot {
    const buckets: number[] = []
    let running = 0
    for (let i = 0; i < LAG_BUCKETS_SECONDS.length; i++) buckets.push((running += this.#counts[i]))
    return { buckets, sumSeconds: this.#sumSeconds, count: this.#count }
  }
}

/** What /metrics shows without a bridge: every count 0. */
export const NO_LAG: LagHistogramSnapshot = new LagHistogram().snapshot()
