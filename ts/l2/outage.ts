// What L2 missed while it could not be reached: keys whose write, delete or invalidation did
// not reach it, and generations that were not bumped. When L2 answers again these are deleted
// and bumped there, so no host refills a value the fleet has moved past. The list is bounded:
// past L2_OUTAGE_KEYS keys it gives them up and bumps the clear generation instead (every
// entry is orphaned at once), which costs a fleet-wide L2 miss but no coherence.

/** Keys remembered during an outage: ~100 bytes each, 1 MB at most; past it one clear bump replaces them. */
export const L2_OUTAGE_KEYS = 10_000

export class OutageList {
  readonly #limit: number
  readonly keys = new Set<string>()
  readonly generations = new Set<string>()
  /** Past the bound: the clear generation must be bumped. */
  overflowed = false
  /** Keys ever remembered (a counter for the log). */
  remembered = 0

  constructor(limit = L2_OUTAGE_KEYS) {
    this.#limit = limit
  }

  get empty(): boolean {
    return this.keys.size === 0 && this.generations.size === 0 && !this.overflowed
  }

  key(key: string): void {
    if (this.overflowed) return
    this.remembered++
    this.keys.add(key)
    if (this.keys.size > this.#limit) {
      this.keys.clear()
      this.overflowed = true
    }
  }

  generation(name: string): void {
    this.generations.add(name)
  }

  /** Takes everything (the caller puts back what it could not repair). */
  take(): { keys: string[]; generations: string[]; overflowed: boolean } {
    const taken = { keys: [...this.keys], generations: [...this.generations], overflowed: this.overflowed }
    this.keys.clear()
    this.generations.clear()
    this.overflowed = false
    return taken
  }
}
