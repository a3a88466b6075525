// The client's side of one connection: connect, handshake, then frames in and out.
// Shared by request connections and subscription connections.

import { connect, type Socket } from 'node:net'
import { LocalCachedError, isErrorCode } from '../errors'
import { FrameDecoder } from '../protocol/frame'
import { encodeMessage } from '../protocol/codec'
import { decodeReply } from '../protocol/reply-frames'
import { isResponse, PROTOCOL_VERSION, type Response, type ServerLimits } from '../protocol/messages'

/** Frames from the daemon are never larger than this unless it says so in HelloOk. */
const INITIAL_MAX_FRAME = 64 * 1024 * 1024

export interface Handshake {
  serverVersion: string
  limits: ServerLimits
}

export function wireError(response: Extract<Response, { type: 'Err' }>): LocalCachedError {
  const code = isErrorCode(response.code) ? response.code : 'Internal'
  return new LocalCachedError(code, String(response.message))
}

export function connectionLost(path: string, cause?: unknown): LocalCachedError {
  const detail = cause instanceof Error ? `: ${cause.message}` : ''
  return new LocalCachedError('ConnectionLost', `connection to the daemon at ${path} is not up${detail}`, { cause })
}

export const START_HINT = 'is the daemon running? start it with `npx localcached-native serve`'

/** Why a connection could not be opened, with what to do about it. */
export function cannotConnect(path: string, err: NodeJS.ErrnoException): LocalCachedError {
  const why =
    err.code === 'ENOENT' ? `no socket at that path (ENOENT) — ${START_HINT}`
    : err.code === 'ECONNREFUSED' ? `nothing listens on the socket (ECONNREFUSED; a stopped daemon left it) — ${START_HINT}`
    : err.code === 'EACCES' ? 'permission denied (EACCES): the socket belongs to another user; run as that user, or start the daemon with a wider --socket-mode (e.g. 0660 and a shared group)'
    : err.message
  return new LocalCachedError('ConnectionLost', `connection to the daemon at ${path} is not up: ${why}`, { cause: err })
}

/**
 * Opens a connection and completes the handshake. `onMessage` then receives every later
 * decoded message; `onClose` runs once when the connection ends, with the reason.
 */
export function openWire(
  path: string,
  timeoutMs: number,
  onMessage: (message: Response | Record<string, unknown>) => void,
  onClose: (reason: LocalCachedError) => void,
): Promise<{ socket: Socket; handshake: Handshake }> {
  return new Promise((resolve, reject) => {
    const socket = connect(path)
    const decoder = new FrameDecoder(INITIAL_MAX_FRAME)
    let handshake: Handshake | undefined
    let closed = false
    const fail = (err: LocalCachedError) => {
      if (closed) return
      closed = true
      clearTimeout(timer)
      socket.destroy()
      if (!handshake) reject(err)
      else onClose(err)
    }
    const timer = setTimeout(() => fail(new LocalCachedError('Timeout', `no handshake from ${path} within ${timeoutMs} ms`)), timeoutMs)
    socket.once('connect', () => socket.write(encodeMessage({ type: 'Hello', protocolVersion: PROTOCOL_VERSION })))
    let connected = false
    socket.once('connect', () => (connected = true))
    socket.on('error', (err) => fail(connected ? connectionLost(path, err) : cannotConnect(path, err)))
    socket.on('close', () => fail(connectionLost(path)))
    socket.on('end', () => socket.end())
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk)
      try {
        for (let payload = decoder.tryRead(); payload !== null; payload = decoder.tryRead()) {
          const message = decodeReply(payload)
          if (!isResponse(message)) throw new LocalCachedError('Internal', 'the daemon sent a message without a type')
          if (handshake) {
            onMessage(message)
            continue
          }
          if (message.type === 'Err') return fail(wireError(message))
          if (message.type !== 'HelloOk') throw new LocalCachedError('Internal', `expected HelloOk, got ${message.type}`)
          handshake = { serverVersion: message.serverVersion, limits: message.limits }
          clearTimeout(timer)
          resolve({ socket, handshake })
        }
      } catch (err) {
        fail(err instanceof LocalCachedError ? err : new LocalCachedError('Internal', `bad data from the daemon: ${(err as Error).message}`))
      }
    })
  })
}
