// Warm restart for the daemon (--snapshot): what it records besides the entries, when it saves,
// and how requests that arrive during a save are answered. The file itself (format, checksum,
// hottest-first order, loading at the cold end) is the Rust core's; see docs/operations.md.

import { unlink } from 'node:fs/promises'
import { LocalCachedError } from '../errors'
import type { Logger } from '../logger'
import type { NativeStore } from '../native-store'
import type { SnapshotLoad } from '../native-store-types'
import { decodePayload, encodePayload } from '../protocol/codec'
import type { BridgePosition } from '../bridge/bridge'
import type { SnapshotOptions } from './options'

/** The daemon's part of a snapshot's header (CBOR): where the bridge stood when it was taken. */
export interface SnapshotMeta {
  v: 1
  /** Absent when the daemon ran without a bridge. */
  bridge?: BridgePosition
  /**
   * Written by the save at shutdown, after the last request. A file without it is an interval
   * or requested save: a process that stops without saving again has crashed, and what it
   * acknowledged after that save (deletes too) is not in the file.
   */
  final?: boolean
}

const META_VERSION = 1

export function encodeSnapshotMeta(meta: SnapshotMeta): Buffer {
  return Buffer.from(encodePayload(meta))
}

/** The meta of a loaded snapshot; undefined when it holds none we can read (then nothing is replayed). */
export function decodeSnapshotMeta(bytes: Uint8Array | undefined): SnapshotMeta | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined
  try {
    const meta = decodePayload(bytes) as Partial<SnapshotMeta> | null
    if (meta === null || typeof meta !== 'object' || meta.v !== META_VERSION) return undefined
    const b = meta.bridge as Partial<BridgePosition> | undefined
    if (b !== undefined && !isBridgePosition(b)) return undefined
    return { v: META_VERSION, bridge: b as BridgePosition | undefined, final: meta.final === true }
  } catch {
    return undefined
  }
}

function isBridgePosition(b: Partial<BridgePosition>): b is BridgePosition {
  const isSeq = (n: unknown) => Number.isSafeInteger(n) && (n as number) >= 0
  return (
    typeof b.engine === 'string' &&
    typeof b.name === 'string' &&
    typeof b.position === 'string' &&
    Array.isArray(b.origins) &&
    b.origins.every((o) => typeof o?.hostId === 'string' && typeof o.epoch === 'string' && isSeq(o.seq) && typeof o.ended === 'boolean') &&
    (b.self === undefined || (typeof b.self?.epoch === 'string' && isSeq(b.self.seq) && (b.self.epochs === undefined || (Array.isArray(b.self.epochs) && b.self.epochs.every((e) => typeof e === 'string')))))
  )
}

export interface SnapshotSaveResult {
  entries: number
  bytes: number
  durationMs: number
}

export class DaemonSnapshots {
  readonly options: SnapshotOptions
  readonly #store: NativeStore
  readonly #log: Logger
  readonly #bridgePosition: () => BridgePosition | undefined
  #running: Promise<SnapshotSaveResult> | undefined
  #next: Promise<SnapshotSaveResult> | undefined
  #interval: NodeJS.Timeout | undefined
  /** Idle while the daemon serves; normal for the last save at shutdown. */
  #priority: 'idle' | 'normal' = 'idle'
  /** The save at shutdown marks its file final. */
  #final = false
  /** Unix ms of the last save that completed (0: none yet): /metrics, LASTSAVE. */
  lastSaveUnixMs = 0
  lastSaveDurationMs = 0
  saves = 0
  saveFailures = 0
  /** The last save failed (INFO's rdb_last_bgsave_status). */
  lastSaveFailed = false

  constructor(store: NativeStore, options: SnapshotOptions, log: Logger, bridgePosition: () => BridgePosition | undefined) {
    this.#store = store
    this.options = options
    this.#log = log
    this.#bridgePosition = bridgePosition
  }

  /** Loads the file into the (empty) store; never throws for a bad file (the store stays empty). */
  async load(): Promise<{ report: SnapshotLoad; meta: SnapshotMeta | undefined }> {
    const started = performance.now()
    const report = await this.#store.loadSnapshot(this.options.path, { maxAgeMs: this.options.maxAgeMs })
    const meta = report.status === 'loaded' ? decodeSnapshotMeta(report.meta) : undefined
    const fields = { snapshot: this.options.path, ms: Math.round(performance.now() - started) }
    if (report.status === 'loaded') {
      this.lastSaveUnixMs = report.savedAtMs
      this.#log.info({ ...fields, loaded: report.loaded, skippedExpired: report.skippedExpired, skippedOverBudget: report.skippedOverBudget, savedAt: new Date(report.savedAtMs).toISOString() }, 'snapshot loaded')
    } else if (report.status === 'missing') {
      this.#log.info(fields, 'no snapshot to load: starting empty')
    } else {
      const what = report.movedTo ? 'snapshot refused: moved aside, starting empty' : 'snapshot could not be read: left in place, starting empty'
      this.#log.warn({ ...fields, code: report.reason?.code, reason: report.reason?.message, movedTo: report.movedTo }, what)
    }
    return { report, meta }
  }

  /**
   * Removes the file once what it held is in the store: from now on only this process's own
   * saves describe the cache. Otherwise a crash of this process would leave an older file
   * that looks like a clean shutdown's, and the next start would load values this process
   * had since deleted.
   */
  async consume(): Promise<void> {
    await unlink(this.options.path).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') this.#log.warn({ snapshot: this.options.path, err: err.message }, 'could not remove the loaded snapshot; a crash before the next save would load it again')
    })
  }

  /**
   * Saves now. A call while a save runs waits for it and then shares the next save, so every
   * caller's answer comes from a save that began after it asked.
   */
  save(): Promise<SnapshotSaveResult> {
    if (this.#running === undefined) return this.#start()
    this.#next ??= this.#running
      .catch(() => {})
      .then(() => {
        this.#next = undefined
        return this.#start()
      })
    return this.#next
  }

  get saving(): boolean {
    return this.#running !== undefined
  }

  /** Saves every --snapshot-interval-ms; a failure is logged (the old file stays) and the next interval tries again. */
  startInterval(): void {
    if (this.options.intervalMs === undefined) return
    this.#interval = setInterval(() => {
      if (this.#running === undefined) this.save().catch(() => {})
    }, this.options.intervalMs)
    this.#interval.unref()
  }

  /**
   * Shutdown: no more interval saves; the save in progress (if any) is waited for, then one
   * last save at normal priority: nobody is served any more, and on a busy host an idle-
   * priority save could wait past the supervisor's stop timeout.
   */
  async saveForShutdown(): Promise<SnapshotSaveResult | undefined> {
    if (this.#interval) clearInterval(this.#interval)
    this.#priority = 'normal'
    this.#final = true
    try {
      return await this.save()
    } catch {
      return undefined
    }
  }

  #start(): Promise<SnapshotSaveResult> {
    const run = this.#saveOnce().finally(() => {
      if (this.#running === run) this.#running = undefined
    })
    this.#running = run
    return run
  }

  async #saveOnce(): Promise<SnapshotSaveResult> {
    // Where the bridge stands, taken before the save reads the first shard: what the store
    // holds from then on is at least as new, so a replay from here misses nothing.
    const meta = encodeSnapshotMeta({ v: META_VERSION, bridge: this.#bridgePosition(), final: this.#final || undefined })
    const started = performance.now()
    try {
      const { entries, bytes } = await this.#store.saveSnapshot(this.options.path, { meta, priority: this.#priority })
      const durationMs = performance.now() - started
      this.saves++
      this.lastSaveFailed = false
      this.lastSaveUnixMs = Date.now()
      this.lastSaveDurationMs = durationMs
      this.#log.info({ snapshot: this.options.path, entries, bytes, ms: Math.round(durationMs) }, 'snapshot saved')
      return { entries, bytes, durationMs }
    } catch (err) {
      this.saveFailures++
      this.lastSaveFailed = true
      this.#log.error({ snapshot: this.options.path, code: (err as LocalCachedError).code, err: (err as Error).message }, 'snapshot save failed: the previous file is kept')
      throw err
    }
  }
}

/** The Snapshot request (and RESP SAVE) on a daemon without --snapshot. */
export function noSnapshotFile(): LocalCachedError {
  return new LocalCachedError('BadRequest', 'this daemon has no snapshot file: start it with --snapshot <file>')
}
