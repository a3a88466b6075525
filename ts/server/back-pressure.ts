// Reply back-pressure shared by the native and RESP connections.

import type { Socket } from 'node:net'

/**
 * The unsent-reply bytes past which a connection stops being read. Reading resumes on the
 * socket's 'drain', which Node emits only after a write found more than its high-water mark
 * (16 KiB) queued: a smaller limit would pause the connection with no 'drain' to come.
 */
export function pauseAbove(socket: Socket, maxPendingReplyBytes: number): number {
  return Math.max(maxPendingReplyBytes, socket.writableHighWaterMark)
}


/**
 * Call after the write that follows a pause. 'drain' comes only for a write that left the
 * socket's queue past its high-water mark; a write the socket took at once (the usual case on
 * a Unix socket, however large) leaves no 'drain' to come, and the connection would stay
 * paused for good. Then `onDrain` runs on the next turn instead, after pending I/O.
 */
export function unlessDrainComes(socket: Socket, onDrain: () => void): void {
  if (!socket.writableNeedDrain) setImmediate(onDrain)
}
