// Whether the daemon is ready to serve, for /readyz. Anything that must finish before clients
// should be sent here holds the gate under a name (the listeners binding; later a snapshot
// loading or a bridge replaying) and releases it when done; the daemon is ready while no one
// holds it. /readyz answers 503 with the names held and what each is waiting for.

export interface PendingReason {
  /** A short stable name: 'listeners', 'shutdown', 'snapshot', 'replay', … */
  reason: string
  /** What it is waiting for, for a person reading /readyz. */
  detail: string
  sinceUnixMs: number
}

/** Reasons during which the daemon is filling its store rather than starting or stopping. */
export const LOADING_REASONS: ReadonlySet<string> = new Set(['snapshot', 'replay'])

export class Readiness {
  readonly #held = new Map<symbol, PendingReason>()

  /** Holds readiness until the returned function is called (calling it again does nothing). */
  hold(reason: string, detail: string): () => void {
    const id = Symbol(reason)
    this.#held.set(id, { reason, detail, sinceUnixMs: Date.now() })
    return () => {
      this.#held.delete(id)
    }
  }

  get ready(): boolean {
    return this.#held.size === 0
  }

  /** Whether a snapshot load or a replay holds readiness (`localcached_loading`). */
  get loading(): boolean {
    for (const p of this.#held.values()) if (LOADING_REASONS.has(p.reason)) return true
    return false
  }

  pending(): PendingReason[] {
    return [...this.#held.values()]
  }
}
