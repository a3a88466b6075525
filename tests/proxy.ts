// A Unix-socket proxy between a client and the daemon that can hold back either direction:
// how the near-cache tests order a request, a change and a reply deterministically.
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tempSocketPath } from './helpers'

export class HoldingProxy {
  readonly path = tempSocketPath()
  readonly #server: Server
  readonly #pairs = new Set<{ client: Socket; upstream: Socket }>()
  /** While true, bytes from the client to the daemon are kept here. */
  holdRequests = false
  /** While true, bytes from the daemon to the client are kept here. */
  holdReplies = false
  /** While true (with holdReplies), the proxy stops reading the daemon, so the daemon's writes back up. */
  stallReplies = false
  #held: Array<() => void> = []

  constructor(upstreamPath: string) {
    this.#server = createServer((client) => {
      const upstream = connect(upstreamPath)
      const pair = { client, upstream }
      this.#pairs.add(pair)
      const forward = (from: Socket, to: Socket, held: () => boolean) => {
        from.on('data', (chunk) => {
          if (held()) {
            if (from === upstream && this.stallReplies) upstream.pause()
            this.#held.push(() => to.write(chunk))
          } else to.write(chunk)
        })
      }
      forward(client, upstream, () => this.holdRequests)
      forward(upstream, client, () => this.holdReplies)
      const end = () => {
        client.destroy()
        upstream.destroy()
        this.#pairs.delete(pair)
      }
      client.on('close', end).on('error', end)
      upstream.on('close', end).on('error', end)
    })
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.#server.listen(this.path, resolve))
    return this
  }

  /** Stops holding and delivers what was held, in order. */
  release(): void {
    this.holdRequests = this.holdReplies = this.stallReplies = false
    for (const deliver of this.#held.splice(0)) deliver()
    for (const { upstream } of this.#pairs) upstream.resume()
  }

  /** Breaks every connection through the proxy (the client sees its connection drop). */
  dropConnections(): void {
    for (const { client, upstream } of this.#pairs) {
      client.destroy()
      upstream.destroy()
    }
  }

  async close(): Promise<void> {
    this.dropConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
