// The L2 breaker: after L2_BREAKER_FAILURES consecutive failed commands it opens, and for
// --l2-breaker-ms every L2 step fails at once (the caller falls back to local-only) instead of
// waiting out a timeout per request. When the time is up the next command tries again (half
// open): a success closes it, a failure opens it for another period.

/** Consecutive failures that open the breaker: one lost packet or slow command is not an outage, five in a row are. */
export const L2_BREAKER_FAILURES = 5

export class Breaker {
  readonly #openMs: number
  readonly #now: () => number
  #failures = 0
  #openUntil = 0
  /** Times it opened. */
  opened = 0

  constructor(openMs: number, now: () => number = Date.now) {
    this.#openMs = openMs
    this.#now = now
  }

  /** Whether a command may be tried now. */
  get allows(): boolean {
    return this.#now() >= this.#openUntil
  }

  /** Open now: commands fail fast. */
  get open(): boolean {
    return !this.allows
  }

  success(): void {
    this.#failures = 0
    this.#openUntil = 0
  }

  /** Returns true when this failure opened the breaker. */
  failure(): boolean {
    this.#failures++
    if (this.#failures < L2_BREAKER_FAILURES && this.#openUntil === 0) return false
    // Past the threshold, or a failed half-open try: open (again).
    this.#failures = 0
    this.#openUntil = this.#now() + this.#openMs
    this.opened++
    return true
  }
}
