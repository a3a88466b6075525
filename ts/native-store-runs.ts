// Runs: many gets, or many set(key, value) without options, in one call into the store, for
// the daemon's doors (server/operations.ts getRun, putRun). Keys and values are spans of
// bytes of the bytes a door received, not strings and Buffers, and a get's value is copied
// into the caller's target: a run makes no string and no Buffer per request. Each request is
// executed (and counted) exactly as the single call would execute it.

import { fromNative, isErrorCode, LocalCachedError } from './errors'
import { READ_CODES } from './native-store-types'
import type { RawStore } from '../binding'

/** What a run reports besides its count. A caller keeps one and passes it to every run. */
export class RunOutcome {
  /**
   * getRun: for key i, the value's length n ≥ 0 when it was copied into the target (values
   * follow each other, so value i starts where value i − 1 ended), READ_CODES.miss,
   * READ_CODES.missExpired, or READ_CODES.inOverflow when it is in `overflow[i]` instead.
   */
  results = new Int32Array(256)
  /** getRun: the values that did not fit in the target, at their key's index. */
  overflow: Buffer[] = []
  /**
   * The error of the request the run stopped before, when that request failed (doing
   * nothing); undefined when the run stopped for another reason.
   */
  failure: LocalCachedError | undefined
  /** putRun: the last put stored left removals waiting (StoreRuns.deliverRemovals). */
  removalsPending = false
  /**
   * Operations.getRun under L2: the run stopped after a local miss, and this is what get()
   * answers for that key (L2's value, now or later); the run's last result is not its answer.
   * Undefined otherwise.
   */
  missAnswer: { value: Buffer | undefined | Promise<Buffer | undefined> } | undefined

  /** Room for `count` results; forgets the last run's overflow and failure. */
  prepare(count: number): void {
    if (this.results.length < count) this.results = new Int32Array(Math.max(count, this.results.length * 2))
    if (this.overflow.length !== 0) this.overflow = []
    this.failure = undefined
    this.missAnswer = undefined
  }

  /** Takes the run's `[code, message]`, if it stopped at a failure. */
  settle(failure: unknown[]): void {
    const [code, message] = failure
    this.failure = isErrorCode(code) ? new LocalCachedError(code, String(message)) : undefined
  }
}

/** A store's runs (NativeStore.runs). */
export class StoreRuns {
  readonly #native: () => RawStore
  readonly #deliverRemovals: () => void

  constructor(native: () => RawStore, deliverRemovals: () => void) {
    this.#native = native
    this.#deliverRemovals = deliverRemovals
  }

  /**
   * get() of key i = `source[spans[2i]..spans[2i+1]]`, for i < count, in order. Each value
   * is copied into `target`, one after the other from `target[0]`; `run.results[i]` says
   * what became of key i (see RunOutcome). Returns how many keys were read: fewer than
   * `count` after a value that did not fit (in `run.overflow[i]`), before a key that broke
   * the key rule (`run.failure`; nothing counted), or before a key the caller must read with
   * get() (not ASCII; `run.failure` undefined), or with `stopAtMiss` after a miss. Removals
   * of expired entries are delivered before it returns, as get() delivers them.
   */
  getRun(source: Uint8Array, spans: Int32Array, count: number, target: Uint8Array, run: RunOutcome, stopAtMiss = false): number {
    run.prepare(count)
    const failure: unknown[] = []
    let done: number
    try {
      done = this.#native().getRun(source, spans, count, target, run.results, run.overflow, failure, stopAtMiss)
    } catch (err) {
      throw fromNative(err)
    }
    run.settle(failure)
    const results = run.results
    for (let i = 0; i < done; i++) {
      if (results[i] === READ_CODES.missExpired) {
        this.#deliverRemovals()
        break
      }
    }
    return done
  }

  /**
   * set(key, value) without options of put i = value `source[spans[4i+2]..spans[4i+3]]`
   * under key `source[spans[4i]..spans[4i+1]]`, for i < count, in order. Returns how many
   * were stored: fewer than `count` before a put that failed (`run.failure`; nothing stored),
   * before a key the caller must write with set() (`run.failure` undefined), or after a put
   * that left removals (`run.removalsPending`). Those are not delivered here: the caller
   * delivers them (deliverRemovals) where set() would have, among the puts' consequences.
   */
  putRun(source: Uint8Array, spans: Int32Array, count: number, run: RunOutcome): number {
    run.prepare(0)
    const failure: unknown[] = []
    let packed: number
    try {
      packed = this.#native().putRun(source, spans, count, failure)
    } catch (err) {
      throw fromNative(err)
    }
    run.settle(failure)
    run.removalsPending = (packed & 1) === 1
    return packed >>> 1
  }

  /** Delivers the removals a putRun left waiting. */
  deliverRemovals(): void {
    this.#deliverRemovals()
  }
}
