// Real bridge engines for tests: redis-server and nats-server (JetStream) on free ports, each
// in its own temporary directory, that a test can stop, restart (keeping or losing its data)
// and kill. Ports are never hard-coded: each start asks the kernel for a free one.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { requireTool } from './helpers'

export type EngineKind = 'redis' | 'nats'

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the engine exited (${child.exitCode}) before listening on ${port}`)
    const up = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)))
      s.on('error', () => resolve(false))
    })
    if (up) return
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** A server certificate (for 127.0.0.1) and the CA that signed it, as files. */
export interface EngineTls {
  cert: string
  key: string
  ca: string
}

export class Engine {
  readonly kind: EngineKind
  readonly port: number
  readonly tls: EngineTls | undefined
  #dir: string
  #child: ChildProcess | undefined
  #log = ''

  private constructor(kind: EngineKind, port: number, tls?: EngineTls) {
    this.kind = kind
    this.port = port
    this.tls = tls
    this.#dir = mkdtempSync(join(tmpdir(), `lc-${kind}-`))
  }

  /** With `tls`, the engine speaks TLS only (rediss://, tls://). */
  static async start(kind: EngineKind, tls?: EngineTls): Promise<Engine> {
    const engine = new Engine(kind, await freePort(), tls)
    await engine.#spawn()
    return engine
  }

  /** The bridge URL of this engine (or of `port`, a proxy in front of it). */
  url(port = this.port): string {
    if (this.tls) return this.kind === 'redis' ? `rediss://127.0.0.1:${port}` : `tls://127.0.0.1:${port}`
    return this.kind === 'redis' ? `redis://127.0.0.1:${port}` : `nats://127.0.0.1:${port}`
  }

  get log(): string {
    return this.#log
  }

  async #spawn(): Promise<void> {
    const command = requireTool(this.kind === 'redis' ? 'redis-server' : 'nats-server').command
    const tls = this.tls
    const args =
      this.kind === 'redis'
        ? [...(tls ? ['--port', '0', '--tls-port', String(this.port), '--tls-cert-file', tls.cert, '--tls-key-file', tls.key, '--tls-ca-cert-file', tls.ca, '--tls-auth-clients', 'no'] : ['--port', String(this.port)]), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir]
        : ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.#dir, ...(tls ? ['--tls', '--tlscert', tls.cert, '--tlskey', tls.key] : [])]
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    child.stdout!.on('data', (d) => (this.#log += d))
    child.stderr!.on('data', (d) => (this.#log += d))
    this.#child = child
    await waitForPort(this.port, child)
    if (this.kind === 'nats') {
      // JetStream answers a little after the port opens.
      const deadline = Date.now() + 10_000
      while (!/Server is ready/.test(this.#log) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    }
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.#child
    if (!child || child.exitCode !== null) return
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve())
      child.kill(signal)
    })
    this.#child = undefined
  }

  /** Restarted on the same port; `empty` throws its data away first (a new store directory). */
  async restart(empty: boolean): Promise<void> {
    await this.stop('SIGKILL')
    if (empty) {
      rmSync(this.#dir, { recursive: true, force: true })
      this.#dir = mkdtempSync(join(tmpdir(), `lc-${this.kind}-`))
    }
    await this.#spawn()
  }

  async close(): Promise<void> {
    await this.stop('SIGKILL')
    rmSync(this.#dir, { recursive: true, force: true })
  }
}
