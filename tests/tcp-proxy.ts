// A TCP proxy between a daemon and a server it talks to (a bridge engine, an L2 Redis) that a
// test can cut and restore, or hold: a cut breaks every connection through it and refuses new
// ones until restored; a hold keeps the server's replies back (a request left in flight) until
// released.
import { createServer, connect, type Server, type Socket } from 'node:net'

export class CuttableTcpProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #held: Array<() => void> = []
  /** While true, the server's replies are kept back (in order) until release(). */
  hold = false
  #cut = false
  port = 0

  constructor(targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#cut) return void client.destroy()
      const upstream = connect(targetPort, '127.0.0.1')
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('close', () => this.#sockets.delete(s))
        s.on('error', () => {})
      }
      client.on('data', (d) => upstream.write(d))
      upstream.on('data', (d) => (this.hold ? this.#held.push(() => client.write(d)) : client.write(d)))
      const end = () => (client.destroy(), upstream.destroy())
      client.on('close', end)
      upstream.on('close', end)
    })
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve))
    this.port = (this.#server.address() as { port: number }).port
    return this
  }

  /** A redis:// URL through the proxy. */
  url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  /** Delivers what was held, in order, and stops holding. */
  release(): void {
    this.hold = false
    for (const deliver of this.#held.splice(0)) deliver()
  }

  /** Breaks every connection (dropping what was held) and refuses new ones. */
  cut(): void {
    this.#cut = true
    this.#held = []
    for (const s of this.#sockets) s.destroy()
  }

  restore(): void {
    this.#cut = false
  }

  async close(): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
