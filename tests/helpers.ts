import { spawn } from 'node:child_process'
import { join } from 'node:path'

export const ROOT = join(__dirname, '..')
export const DIST = join(ROOT, 'dist', 'cjs', 'index.js')

export interface ChildResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
}

/** Runs `node <args>` and resolves when it exits (or kills it after `timeoutMs`). */
export function runNode(args: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ChildResult> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...options.env } })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started })
    })
  })
}

export function key(i: number | string): string {
  return `svc:tbl:${i}`
}

import { tmpdir } from 'node:os'
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { serve, type DaemonServer } from '../ts/server/server'
import { LocalCachedError } from '../ts/errors'
import type { ServeOptions } from '../ts/server/options'
import { LocalCachedClient } from '../ts/client/client'
import { encodeMessage, decodePayload } from '../ts/protocol/codec'
import { FrameDecoder } from '../ts/protocol/frame'

export function tempSocketPath(): string {
  return join(tmpdir(), `lc-${randomBytes(6).toString('hex')}.sock`)
}

export interface TestDaemon {
  server: DaemonServer
  socket: string
  client: LocalCachedClient
  close(): Promise<void>
}

/** A real daemon on a temporary socket, with a connected client. */
export async function startDaemon(options: ServeOptions = {}): Promise<TestDaemon> {
  // A test daemon always has its native socket: the client below connects to it.
  const socket = options.socket || tempSocketPath()
  const server = await serve({ logLevel: 'silent', ...options, socket })
  const client = await LocalCachedClient.connect(socket)
  return {
    server,
    socket,
    client,
    async close() {
      await client.close()
      await server.close()
    },
  }
}

/** A raw protocol connection for tests that need to misbehave on purpose. */
export class RawConnection {
  readonly socket: Socket
  readonly messages: Array<Record<string, unknown>> = []
  readonly #decoder = new FrameDecoder(64 * 1024 * 1024)
  #waiters: Array<() => void> = []
  closed = false

  constructor(path: string) {
    this.socket = connect(path)
    this.socket.on('data', (chunk: Buffer) => {
      this.#decoder.push(chunk)
      for (let p = this.#decoder.tryRead(); p; p = this.#decoder.tryRead()) this.messages.push(decodePayload(p) as Record<string, unknown>)
      this.#wake()
    })
    this.socket.on('close', () => {
      this.closed = true
      this.#wake()
    })
    this.socket.on('error', () => {})
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w()
  }

  send(message: object): void {
    this.socket.write(encodeMessage(message))
  }

  sendRaw(bytes: Uint8Array): void {
    this.socket.write(bytes)
  }

  async hello(): Promise<Record<string, unknown>> {
    this.send({ type: 'Hello', protocolVersion: 1 })
    return this.nextMessage()
  }

  /** Resolves with message number `index` (0-based) once it has arrived. */
  async message(index: number, timeoutMs = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs
    while (this.messages.length <= index) {
      if (this.closed) throw new Error(`connection closed after ${this.messages.length} messages`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for message ${index}`)
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve)
        setTimeout(resolve, 50)
      })
    }
    return this.messages[index]
  }

  #read = 0
  async nextMessage(): Promise<Record<string, unknown>> {
    return this.message(this.#read++)
  }

  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open')
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  destroy(): void {
    this.socket.destroy()
  }
}

/** Whatever `promise` rejects with; throws if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected a rejection')
}

/** The coded error `promise` rejects with; throws if it resolves, or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<LocalCachedError> {
  const err = await rejectionOf(promise)
  if (err instanceof LocalCachedError) return err
  throw new Error(`expected a LocalCachedError, got ${String(err)}`)
}

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, pollMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, pollMs))
  }
}

// ---- Peer tools -----------------------------------------------------------------------
// Some tests need a program from outside this repository (redis-cli, redis-server, …) or
// root. They run when it is there and are skipped with the reason in their name when it is
// not, e.g. "RESP with redis-cli (skipped: redis-cli not installed — apt-get install
// redis-tools)"; scripts/vitest-peer-skips.mjs lists them after the run. Every skip is also
// appended to $LOCALCACHED_PEER_SKIPS_FILE when set: .ci/run sets it and fails on any line.
//
//   const redisCli = requireTool('redis-cli')
//   describe.skipIf(redisCli.skip)(redisCli.title('RESP with redis-cli'), () => { … })

import { spawnSync } from 'node:child_process'
import { accessSync, appendFileSync, constants as fsConstants } from 'node:fs'

/** Each peer tool, the arguments that prove it runs, and where to get it (Debian/Ubuntu package). */
export const PEER_TOOLS = {
  'redis-cli': { probe: ['--version'], apt: 'redis-tools' },
  'redis-server': { probe: ['--version'], apt: 'redis-server' },
  memcached: { probe: ['--version'], apt: 'memcached' },
  'nats-server': { probe: ['--version'], apt: 'nats-server' },
  prometheus: { probe: ['--version'], apt: 'prometheus' },
  promtool: { probe: ['--version'], apt: 'prometheus' },
  tmux: { probe: ['-V'], apt: 'tmux' },
  openssl: { probe: ['version'], apt: 'openssl' },
} as const satisfies Record<string, { probe: readonly string[]; apt: string }>

export type PeerTool = keyof typeof PEER_TOOLS

export interface PeerRequirement {
  /** True when the requirement is not met: pass it to `it.skipIf` / `describe.skipIf`. */
  readonly skip: boolean
  /** Why it is skipped and how to fix that ('' when it is met). */
  readonly reason: string
  /** For a tool: the path to spawn (found on PATH, or in an sbin directory PATH may lack). */
  readonly command: string
  /** `name`, suffixed " (skipped: <reason>)" when skipped, so every reporter shows why. */
  title(name: string): string
}

function callerTestFile(): string {
  const match = /[^\s(]*tests\/[^\s():]+\.test\.ts/.exec(new Error().stack ?? '')
  return match ? match[0].slice(match[0].lastIndexOf('tests/')) : 'tests/?'
}

function requirement(what: string, reason: string, command: string): PeerRequirement {
  const skip = reason !== ''
  if (skip && process.env.LOCALCACHED_PEER_SKIPS_FILE) {
    appendFileSync(process.env.LOCALCACHED_PEER_SKIPS_FILE, `${callerTestFile()}: ${what} skipped: ${reason}\n`)
  }
  return {
    skip,
    reason,
    command,
    title: (name) => (skip ? `${name} (skipped: ${reason})` : name),
  }
}

/** Finds `name` on PATH, then in the sbin directories (Debian puts nats-server there). */
function findExecutable(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const dir of dirs) {
    const candidate = join(dir, name)
    try {
      accessSync(candidate, fsConstants.X_OK)
      return candidate
    } catch {
      // not here
    }
  }
  return null
}

const toolCache = new Map<PeerTool, { reason: string; command: string }>()

/** Tests that spawn `tool`: run them only when it is installed and answers its version probe. */
export function requireTool(tool: PeerTool): PeerRequirement {
  let found = toolCache.get(tool)
  if (!found) {
    const { probe, apt } = PEER_TOOLS[tool]
    const command = findExecutable(tool)
    const fix = `apt-get install ${apt}`
    let reason = ''
    if (command === null) reason = `${tool} not installed — ${fix}`
    else {
      const r = spawnSync(command, probe, { stdio: 'ignore', timeout: 10_000 })
      if (r.status !== 0) reason = `${command} ${probe.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}) — reinstall: ${fix}`
    }
    found = { reason, command: command ?? tool }
    toolCache.set(tool, found)
  }
  return requirement(tool, found.reason, found.command)
}

/**
 * Tests that act as another local user: they need root, useradd (to create the probe user)
 * and runuser. Run the suite as root, e.g. in a container or `sudo npx vitest run`.
 */
export function requireRootAndUseradd(): PeerRequirement {
  let reason = ''
  if (process.getuid?.() !== 0) reason = 'needs root to create and act as another user — run the tests as root (e.g. in a container)'
  else {
    const missing = ['useradd', 'runuser'].filter((t) => findExecutable(t) === null)
    if (missing.length > 0) reason = `${missing.join(' and ')} not installed — apt-get install passwd util-linux`
  }
  return requirement('root + useradd', reason, '')
}
