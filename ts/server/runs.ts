// What the doors share to execute runs of gets and plain puts (Operations.getRun, putRun):
// the scratch a run of gets writes its values into, the spans of a run's keys and values,
// and the run's outcome. A run is executed and its replies assembled before anything else
// runs, so one of each serves every connection of the process.

import { RunOutcome } from '../native-store-runs'

/** Most requests executed in one run: bounds what a run's replies add before back-pressure is checked again. */
export const MAX_RUN = 256
/**
 * The scratch a run of gets copies values into. A value that does not fit in what is left
 * of it ends the native call (it comes back as its own Buffer), so one call adds at most
 * this much plus one value to a connection's replies.
 */
export const RUN_TARGET_BYTES = 64 * 1024

export const runScratch = {
  target: Buffer.allocUnsafeSlow(RUN_TARGET_BYTES),
  /** Key start and end (and for a put, value start and end) of each request of the run. */
  spans: new Int32Array(MAX_RUN * 4),
  outcome: new RunOutcome(),
}
