// Connections and bytes per door. Nothing is counted per request: Node already counts each
// socket's bytes (bytesRead, bytesWritten), so a connection's are added to the totals when it
// closes, and a scrape adds those of the connections still open.

import type { Socket } from 'node:net'
import type { Protocol } from './command-counts'

export interface DoorTraffic {
  currentConnections: number
  /** Connections accepted and served, open or closed (refused ones are not counted). */
  connectionsTotal: number
  /** Connections refused by a limit (--max-connections). */
  connectionsRejected: number
  readBytes: number
  writtenBytes: number
}

class Door {
  readonly open = new Set<Socket>()
  accepted = 0
  rejected = 0
  closedRead = 0
  closedWritten = 0
}

export class Traffic {
  readonly #doors: Record<Protocol, Door> = { native: new Door(), resp: new Door() }

  /** A connection accepted at `protocol`'s door; it is forgotten when it closes. */
  open(socket: Socket, protocol: Protocol): void {
    const door = this.#doors[protocol]
    door.accepted++
    door.open.add(socket)
    socket.once('close', () => {
      door.open.delete(socket)
      door.closedRead += socket.bytesRead
      door.closedWritten += socket.bytesWritten
    })
  }

  rejected(protocol: Protocol): void {
    this.#doors[protocol].rejected++
  }

  of(protocol: Protocol): DoorTraffic {
    const door = this.#doors[protocol]
    let readBytes = door.closedRead
    let writtenBytes = door.closedWritten
    for (const socket of door.open) {
      readBytes += socket.bytesRead
      writtenBytes += socket.bytesWritten
    }
    return { currentConnections: door.open.size, connectionsTotal: door.accepted, connectionsRejected: door.rejected, readBytes, writtenBytes }
  }

  /** Both doors summed, for the stats' daemon fields. */
  total(): DoorTraffic {
    const a = this.of('native')
    const b = this.of('resp')
    return {
      currentConnections: a.currentConnections + b.currentConnections,
      connectionsTotal: a.connectionsTotal + b.connectionsTotal,
      connectionsRejected: a.connectionsRejected + b.connectionsRejected,
      readBytes: a.readBytes + b.readBytes,
      writtenBytes: a.writtenBytes + b.writtenBytes,
    }
  }
}
