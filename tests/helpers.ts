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
  const socket = options.socket ?? tempSocketPath()
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

/** Polls `check` until it returns true (or throws after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000, pollMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, pollMs))
  }
}
