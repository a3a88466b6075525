// The RESP listeners (Unix socket and/or TCP on loopback) in front of the same daemon state as
// the native socket. Each connection answers every complete command of a read in one write
// (consecutive plain GETs, or SETs, are executed as runs: answerRun); a protocol error
// answers `-ERR Protocol error: …` and closes, as Redis does. With a
// password, a connection must authenticate (auth.ts) before any other command, the GET/SET
// fast path included. A command answered later (a local miss that asks L2, a write waiting for
// L2 under --l2-write through) holds the commands after it until its reply is written.

import { createServer, type Server, type Socket } from 'node:net'
import type { Logger } from '../logger'
import { LocalCachedError } from '../errors'
import type { Daemon } from '../server/daemon'
import { RespParser, RespProtocolError, reply } from './codec'
import { COMMANDS, commandName, errorReplyStatus, getReply, respError, runCommand, setReply, type RespContext } from './commands'
import { INVALID_COMMAND, UNKNOWN_COMMAND } from '../server/command-counts'
import { RespSubscriber } from './pubsub'
import { ALLOWED_BEFORE_AUTH, authCommand, helloAuth, NOAUTH, type RespPassword } from './auth'
import { pauseAbove, unlessDrainComes } from '../server/back-pressure'
import type { MaybeAsync } from '../server/operations'
import { MAX_RUN, runScratch } from '../server/runs'
import { getRunReplies, setRunReplies } from './runs'
import { READ_CODES } from '../native-store'

/** Where each command of a run ends (RespParser.scanHotRun). */
const runEnds = new Int32Array(MAX_RUN)
const PUBSUB_COMMANDS = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'UNSUBSCRIBE', 'PUNSUBSCRIBE'])
/** What a connection in subscribed mode may still send, as in Redis. */
const ALLOWED_WHILE_SUBSCRIBED = new Set([...PUBSUB_COMMANDS, 'PING', 'QUIT', 'RESET'])
/** Command names counted under their own label; any other is counted as UNKNOWN_COMMAND. */
const KNOWN_COMMANDS = new Set([...Object.keys(COMMANDS), ...PUBSUB_COMMANDS, 'AUTH', 'RESET'])
/** An error reply starts with '-'. */
const MINUS = 0x2d

export interface RespServerOptions {
  daemon: Daemon
  log: Logger
  serverVersion: string
  maxBulkBytes: number
  maxPendingReplyBytes: number
  /** Clients must AUTH with this before anything else; undefined: no authentication. */
  password?: RespPassword
}

export function createRespServer(options: RespServerOptions): { server: Server; sockets: Set<Socket> } {
  const sockets = new Set<Socket>()
  const counts = options.daemon.commands
  /** Counts a command by its reply: an error reply under its code, anything else as ok. */
  const count = (name: string, out: Buffer) => {
    if (out[0] !== MINUS) counts.respOk(name)
    else counts.error('resp', KNOWN_COMMANDS.has(name) ? name : UNKNOWN_COMMAND, errorReplyStatus(out))
  }
  let nextId = 1
  const server = createServer((socket) => {
    options.daemon.traffic.open(socket, 'resp')
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
    let subscriber: RespSubscriber | undefined
    let authenticated = options.password === undefined
    socket.once('close', () => {
      if (subscriber) options.daemon.pubsub.removeSink(subscriber)
    })
    /** The pub/sub commands, which change the connection's mode; null for any other. */
    const pubsubCommand = (args: Buffer[], name: string): Buffer | null => {
      if (subscriber === undefined && !PUBSUB_COMMANDS.has(name)) return null // the common case
      if (PUBSUB_COMMANDS.has(name)) {
        if ((name === 'SUBSCRIBE' || name === 'PSUBSCRIBE') && args.length < 2) {
          return reply.error(`ERR wrong number of arguments for '${name.toLowerCase()}' command`)
        }
        if (!subscriber) subscriber = new RespSubscriber(socket)
        const wasListening = subscriber.count > 0
        const out = Buffer.concat(subscriber.change(name, args.slice(1).map((a) => a.toString())))
        if (!wasListening && subscriber.count > 0) options.daemon.pubsub.addSink(subscriber)
        if (wasListening && subscriber.count === 0) options.daemon.pubsub.removeSink(subscriber)
        return out
      }
      if (subscriber && subscriber.count > 0 && !ALLOWED_WHILE_SUBSCRIBED.has(name)) {
        return reply.error(`ERR Can't execute '${name.toLowerCase()}': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`)
      }
      if (subscriber && subscriber.count > 0 && name === 'PING') return reply.array([reply.bulk('pong'), reply.bulk(args[1] ?? '')])
      return null
    }
    /** AUTH, HELLO's AUTH, RESET, and NOAUTH for the rest before authentication; null for any other. */
    const connectionCommand = (args: Buffer[], name: string): Buffer | null => {
      if (name === 'AUTH') {
        const result = authCommand(options.password, args)
        if (result.authenticated) authenticated = true
        return result.out
      }
      if (name === 'HELLO') {
        const result = helloAuth(options.password, args, authenticated)
        authenticated = result.authenticated
        return result.out
      }
      if (name === 'RESET') {
        // As Redis: leave subscribed mode, forget the name, and authenticate again.
        if (subscriber && subscriber.count > 0) options.daemon.pubsub.removeSink(subscriber)
        subscriber = undefined
        ctx.session.name = null
        authenticated = options.password === undefined
        return reply.simple('RESET')
      }
      if (!authenticated && !ALLOWED_BEFORE_AUTH.has(name)) return NOAUTH
      return null
    }
    let waitingForDrain = false
    /** A reply is being waited for: later commands wait behind it. */
    let waiting = false
    /** Writes `later`'s reply when it settles, then answers what arrived meanwhile. */
    const waitFor = (name: string, later: Promise<Buffer>) => {
      waiting = true
      void later.then((out) => {
        waiting = false
        count(name, out)
        if (socket.destroyed) return
        if (waitingForDrain) socket.write(out)
        else pump(out)
      })
    }
    /** The command's reply, or false when it is answered later (by waitFor). */
    const settle = (name: string, out: MaybeAsync<Buffer>): Buffer | false => {
      const ack = options.daemon.ops.takeAckWait()
      if (!(out instanceof Promise) && ack === undefined) {
        count(name, out)
        return out
      }
      waitFor(name, ack === undefined ? (out as Promise<Buffer>) : ack.then(() => out))
      return false
    }
    /** The next plain GET or SET goes through the single path (a run stopped before it). */
    let singleNext = false
    /**
     * Answers the `n` plain GETs (or SETs) parser.scanHotRun found, as runs (Operations.getRun,
     * putRun), consuming what it answers. Stops before a command left to the single path
     * (`single`), and when back-pressure says so (`pending`: the bytes of replies before the
     * run): what is not consumed is read again.
     */
    const answerRun = (n: number, isSet: boolean, pending: number): { replies: Buffer[]; single: boolean; later?: Promise<Buffer> } => {
      const ops = options.daemon.ops
      const { spans, target, outcome } = runScratch
      const width = isSet ? 4 : 2
      const name = isSet ? 'SET' : 'GET'
      const source = parser.source
      const out: Buffer[] = []
      let bytes = pending
      let i = 0
      while (i < n) {
        const at = i === 0 ? spans : spans.subarray(i * width)
        let done: number
        try {
          done = isSet ? ops.putRun(source, at, n - i, outcome) : ops.getRun(source, at, n - i, target, outcome)
        } catch (err) {
          // Thrown, not reported through `outcome` (the store closed under us, or a bug of
          // ours): it costs the command the run was at, as on the single path, and the run
          // goes on after it; never the daemon.
          if (!(err instanceof LocalCachedError)) options.log.error({ err, command: name }, 'resp run failed')
          const failed = respError(err)
          count(name, failed)
          out.push(failed)
          bytes += failed.length
          parser.consumeTo(runEnds[i++])
          continue
        }
        // Under L2 the last key read may be a miss L2 answers: its reply is that answer.
        const missAnswer = outcome.missAnswer
        const answered = missAnswer === undefined ? done : done - 1
        if (answered > 0) {
          const written = isSet ? setRunReplies(answered) : getRunReplies(outcome, target, answered)
          out.push(written)
          bytes += written.length
          for (let j = 0; j < answered; j++) counts.respOk(name)
        }
        if (done > 0) {
          i += done
          parser.consumeTo(runEnds[i - 1])
        }
        if (missAnswer !== undefined) {
          const { value } = missAnswer
          if (value instanceof Promise) return { replies: out, single: false, later: value.then((v) => reply.bulk(v ?? null), respError) }
          const answer = reply.bulk(value ?? null)
          count(name, answer)
          out.push(answer)
          bytes += answer.length
        } else if (i === n) break
        else if (outcome.failure !== undefined) {
          // Failed, doing nothing: answered as the single path answers it.
          const failed = respError(outcome.failure)
          count(name, failed)
          out.push(failed)
          bytes += failed.length
          parser.consumeTo(runEnds[i++])
        } else if (!(isSet ? outcome.removalsPending : done > 0 && outcome.results[done - 1] === READ_CODES.inOverflow)) {
          return { replies: out, single: true }
        }
        if (i < n && socket.writableLength + bytes > pauseAbove(socket, options.maxPendingReplyBytes)) break
      }
      return { replies: out, single: false }
    }
    const pump = (first?: Buffer) => {
      const replies: Buffer[] = first ? [first] : []
      let bytes = first?.length ?? 0
      try {
        for (;;) {
          if (socket.writableLength + bytes > pauseAbove(socket, options.maxPendingReplyBytes)) {
            waitingForDrain = true
            socket.pause()
            break
          }
          if (subscriber === undefined && authenticated) {
            if (!singleNext) {
              const n = parser.scanHotRun(runScratch.spans, runEnds, MAX_RUN, options.daemon.ops.putRunsServed)
              if (n > 0 && (!parser.hotRunIsSet || options.daemon.ops.putRunsServed)) {
                const run = answerRun(n, parser.hotRunIsSet, bytes)
                for (const out of run.replies) {
                  replies.push(out)
                  bytes += out.length
                }
                singleNext = run.single
                if (run.later !== undefined) {
                  waitFor('GET', run.later)
                  break
                }
                continue
              }
            }
            singleNext = false
            const hot = parser.tryReadHot()
            if (hot !== undefined) {
              const out = settle(hot.name, hot.name === 'GET' ? getReply(options.daemon, hot.key) : setReply(options.daemon, hot.key, hot.value))
              if (out === false) break
              replies.push(out)
              bytes += out.length
              continue
            }
          }
          const args = parser.tryRead()
          if (args === null) break
          if (args.length === 0) continue
          let out: Buffer
          const name = commandName(args[0])
          try {
            const answer = settle(name, connectionCommand(args, name) ?? pubsubCommand(args, name) ?? runCommand(ctx, args, name))
            if (answer === false) break
            out = answer
          } catch (err) {
            options.daemon.ops.takeAckWait()
            // A bug of ours must cost this one command, not the daemon: log it and answer.
            options.log.error({ err, command: args[0].toString('latin1').slice(0, 64) }, 'resp command failed')
            out = reply.error(`ERR internal error: ${(err as Error)?.message ?? String(err)}`)
            counts.error('resp', KNOWN_COMMANDS.has(name) ? name : UNKNOWN_COMMAND, 'Internal')
          }
          replies.push(out)
          bytes += out.length
          if (ctx.session.quit) break
        }
      } catch (err) {
        if (!(err instanceof RespProtocolError)) throw err
        counts.error('resp', INVALID_COMMAND, 'BadRequest')
        replies.push(reply.error(`ERR Protocol error: ${err.message}`))
        ctx.session.quit = true
      }
      if (replies.length) socket.write(replies.length === 1 ? replies[0] : Buffer.concat(replies))
      if (waitingForDrain) unlessDrainComes(socket, onDrain)
      if (ctx.session.quit) socket.end()
    }
    socket.on('data', (chunk: Buffer) => {
      if (ctx.session.quit) return
      parser.push(chunk)
      if (!waiting) pump()
    })
    const onDrain = () => {
      if (waitingForDrain) {
        waitingForDrain = false
        socket.resume()
        if (!waiting) pump()
      }
    }
    socket.on('drain', onDrain)
  })
  return { server, sockets }
}
