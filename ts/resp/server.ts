// The RESP listeners (Unix socket and/or TCP on loopback) in front of the same daemon state as
// the native socket. Each connection answers every complete command of a read in one write;
// a protocol error answers `-ERR Protocol error: …` and closes, as Redis does.

import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from '../logger'
import type { Daemon } from '../server/daemon'
import { RespParser, RespProtocolError, reply } from './codec'
import { runCommand, type RespContext } from './commands'

export interface RespServerOptions {
  daemon: Daemon
  log: Logger
  serverVersion: string
  maxBulkBytes: number
  maxPendingReplyBytes: number
}

export function createRespServer(options: RespServerOptions): { server: Server; sockets: Set<Socket> } {
  const sockets = new Set<Socket>()
  let nextId = 1
  const server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    socket.on('error', (err) => options.log.debug({ err }, 'resp connection error'))
    const parser = new RespParser(options.maxBulkBytes)
    const ctx: RespContext = {
      daemon: options.daemon,
      session: { id: nextId++, name: null, quit: false },
      serverVersion: options.serverVersion,
      connectedClients: () => sockets.size,
    }
    let waitingForDrain = false
    const pump = () => {
      const replies: Buffer[] = []
      let bytes = 0
      try {
        for (;;) {
          if (socket.writableLength + bytes > options.maxPendingReplyBytes) {
            waitingForDrain = true
            socket.pause()
            break
          }
          const args = parser.tryRead()
          if (args === null) break
          if (args.length === 0) continue
          const out = runCommand(ctx, args)
          replies.push(out)
          bytes += out.length
          if (ctx.session.quit) break
        }
      } catch (err) {
        if (!(err instanceof RespProtocolError)) throw err
        replies.push(reply.error(`ERR Protocol error: ${err.message}`))
        ctx.session.quit = true
      }
      if (replies.length) socket.write(replies.length === 1 ? replies[0] : Buffer.concat(replies))
      if (ctx.session.quit) socket.end()
    }
    socket.on('data', (chunk: Buffer) => {
      if (ctx.session.quit) return
      parser.push(chunk)
      pump()
    })
    socket.on('drain', () => {
      if (waitingForDrain) {
        waitingForDrain = false
        socket.resume()
        pump()
      }
    })
  })
  return { server, sockets }
}
