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

