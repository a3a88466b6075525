// A TCP proxy between a daemon and its bridge engine that a test can cut and restore: a cut
// breaks every connection through it and refuses new ones until restored.
import { createServer, connect, type Server, type Socket } from 'node:net'

export class CuttableTcpProxy {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
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
      client.pipe(upstream)
      upstream.pipe(client)
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

  /** Breaks every connection and refuses new ones. */
  cut(): void {
    this.#cut = true
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
