// Reconnect timing: exponential backoff with jitter, so a fleet of clients that lost the
// same daemon does not reconnect in lock-step.

export interface ReconnectOptions {
  /** Reconnect on its own after the connection breaks. Default true. */
  enabled?: boolean
  /** First retry delay. Default 50 ms. */
  initialDelayMs?: number
  /** Longest delay between retries. Default 2000 ms. */
  maxDelayMs?: number
}

export interface ResolvedReconnect {
  enabled: boolean
  initialDelayMs: number
  maxDelayMs: number
}

export function resolveReconnect(options: ReconnectOptions | undefined): ResolvedReconnect {
  const initialDelayMs = options?.initialDelayMs ?? 50
  return {
    enabled: options?.enabled ?? true,
    initialDelayMs,
    maxDelayMs: Math.max(initialDelayMs, options?.maxDelayMs ?? 2000),
  }
}

/** Delay before retry number `attempt` (0-based): doubling, capped, with ±20% jitter. */
export function backoffDelay(r: ResolvedReconnect, attempt: number): number {
  const base = Math.min(r.maxDelayMs, r.initialDelayMs * 2 ** Math.min(attempt, 30))
  return Math.round(base * (0.8 + 0.4 * Math.random()))
}
