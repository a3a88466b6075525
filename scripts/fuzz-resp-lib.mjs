// The RESP fuzzer: seeded, time-bounded hostile input against the daemon's RESP listener.
// Every input must be answered with well-formed RESP replies (errors included, never an
// internal one), or end in `-ERR Protocol error: …` and a close, as Redis does; and the
// daemon must keep serving everyone else. Shares the rng and the loop with fuzz-lib.mjs.
// Used by tests/fuzz.test.ts (short budget) and scripts/fuzz.mjs --resp.
import { connect } from 'node:net';
import { rng } from './fuzz-lib.mjs';

const COMMAND_NAMES = [
  'PING', 'ECHO', 'SELECT', 'CLIENT', 'HELLO', 'COMMAND', 'GET', 'SET', 'GETDEL', 'DEL', 'EXISTS', 'MGET', 'MSET',
  'INCR', 'DECR', 'INCRBY', 'DECRBY', 'EXPIRE', 'PEXPIRE', 'TTL', 'PTTL', 'PERSIST', 'DBSIZE', 'KEYS', 'SCAN',
  'INFO', 'LC.UPSERT', 'LC.INVALIDATE', 'LC.INVALIDATETABLE', 'LC.STATS', 'SUBSCRIBE', 'PSUBSCRIBE',
  'UNSUBSCRIBE', 'PUNSUBSCRIBE', 'RESET', 'NOPE', 'get', 'sEt',
];

/** Encodes a command as a RESP array of bulk strings. */
export function respCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
    parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
  }
  return Buffer.concat(parts);
}

function fuzzArg(r) {
  switch (r.int(6)) {
    case 0: return r.pick(['0', '-1', '1', '100', '9223372036854775807', '-9223372036854775808', '9223372036854775808', '1e3', '3.5', '', ' 1', '0x10', '-0']);
    case 1: return r.pick(['EX', 'PX', 'NX', 'XX', 'GET', 'KEEPTTL', 'MATCH', 'COUNT', 'VERSION', 'ex', 'SETNAME', 'GETNAME', 'ID', 'DOCS', 'COUNT', '*', '3', '2']);
    case 2: return `fz:${r.pick(['t', 'u'])}:${r.int(20)}`;
    case 3: return r.bytes(r.int(40));
    case 4: return r.pick(['a:b', 'a::b', ':::', 'x'.repeat(300), 'fz:t:é', 'localcached:*', 'fz:*', '[a-', '\\', '?*?*?*?*?*?*?*?*x']);
    default: return `fz:t:${'p'.repeat(r.int(260))}`;
  }
}

function randomCommand(r) {
  const args = [r.pick(COMMAND_NAMES)];
  for (let i = r.int(7); i > 0; i--) args.push(fuzzArg(r));
  return args;
}

/**
 * One case: bytes to send, and whether they leave the stream on a command boundary; then a
 * `PING <token>` sent after them must be answered, unless a protocol error closed the stream.
 */
export function makeRespCase(r, index, limits) {
  const kind = index % 11;
  switch (kind) {
    case 0: return { name: 'random bytes', bytes: r.bytes(1 + r.int(2000)), aligned: false };
    case 1: return { name: 'random bytes after a RESP type byte', bytes: Buffer.concat([Buffer.from(r.pick(['*', '$', '*1\r\n$', '*2\r\n$3\r\nGET\r\n'])), r.bytes(r.int(200))]), aligned: false };
    case 2: {
      const valid = respCommand(['SET', 'fz:t:split', r.bytes(64)]);
      const cut = Math.floor(index / 11) % valid.length; // sweeps every offset in turn
      return { name: `command split at ${cut}`, bytes: valid, splitAt: cut, aligned: true };
    }
    case 3: {
      const bad = r.pick(['*abc\r\n', '*-5\r\n', '*99999999999\r\n', '*1\r\n:5\r\n', '*1\r\n$abc\r\n', '*1\r\n$-1\r\n', '*1\r\n$3\r\nabcXY', '*2\r\n$3\r\nGET\r\n*1\r\n', '*1\r\n$3.5\r\nabc\r\n', '*\r\n']);
      return { name: 'malformed multibulk', bytes: Buffer.from(bad, 'latin1'), aligned: true };
    }
    case 4: {
      const size = limits.maxValueBytes + r.pick([0, 1, 1_000_000_000]);
      return { name: `bulk length ${size}`, bytes: Buffer.from(`*3\r\n$3\r\nSET\r\n$5\r\nfz:t:1\r\n$${size}\r\n`), aligned: true };
    }
    case 5: {
      const printable = Buffer.from(Array.from({ length: r.int(80) }, () => r.pick([32, 9, 65, 97, 58, 0, 200, 34, 39, 92])));
      return { name: 'inline garbage', bytes: Buffer.concat([printable, Buffer.from('\r\n')]), aligned: true };
    }
    // No newline, so nothing may follow: the daemon must refuse the line once it passes 64 KiB.
    case 6: return { name: 'inline line over 64 KiB', bytes: Buffer.alloc(64 * 1024 + 1 + r.int(8192), 0x41), aligned: true, expectClose: true };
    case 7: return { name: 'random command', bytes: respCommand(randomCommand(r)), aligned: true };
    case 8: {
      const key = fuzzArg(r);
      const cmd = r.pick([['GET', key], ['SET', key, 'v'], ['DEL', key, key], ['INCR', key], ['EXPIRE', key, '10'], ['LC.INVALIDATE', key], ['LC.UPSERT', key, key, key, 'v'], ['MSET', key, 'v', 'fz:t:1', 'w']]);
      return { name: 'hostile key', bytes: respCommand(cmd), aligned: true };
    }
    case 9: return { name: 'value at the limit', bytes: respCommand(['SET', `fz:big:${r.int(20)}`, Buffer.alloc(limits.maxValueBytes, 7)]), aligned: true };
    default: {
      const cmds = Array.from({ length: 2 + r.int(30) }, () => respCommand(randomCommand(r)));
      return { name: 'pipeline of random commands', bytes: Buffer.concat(cmds), aligned: true };
    }
  }
}

/** Reads one RESP reply at `at`; null when incomplete. Throws on malformed output. */
function readReply(buf, at) {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return null;
  const head = buf.toString('latin1', at + 1, eol);
  const next = eol + 2;
  switch (buf[at]) {
    case 0x2b: return { value: { simple: head }, end: next };
    case 0x2d: return { value: { error: head }, end: next };
    case 0x3a:
      if (!/^-?\d+$/.test(head)) throw new Error(`bad integer reply '${head}'`);
      return { value: { integer: head }, end: next };
    case 0x24: {
      const n = Number(head);
      if (n === -1) return { value: { bulk: null }, end: next };
      if (!Number.isInteger(n) || n < 0) throw new Error(`bad bulk length '${head}'`);
      if (buf.length < next + n + 2) return null;
      if (buf[next + n] !== 0x0d || buf[next + n + 1] !== 0x0a) throw new Error('bulk reply not terminated by CRLF');
      return { value: { bulk: buf.subarray(next, next + n) }, end: next + n + 2 };
    }
    case 0x2a: {
      const n = Number(head);
      if (n === -1) return { value: { array: null }, end: next };
      if (!Number.isInteger(n) || n < 0) throw new Error(`bad array length '${head}'`);
      const items = [];
      let p = next;
      for (let i = 0; i < n; i++) {
        const item = readReply(buf, p);
        if (!item) return null;
        items.push(item.value);
        p = item.end;
      }
      return { value: { array: items }, end: p };
    }
    default: throw new Error(`reply starts with byte ${buf[at]}`);
  }
}

function isToken(reply, token) {
  if (reply.bulk && reply.bulk.toString('latin1') === token) return true;
  // In subscribed mode PING answers ["pong", token].
  return Array.isArray(reply.array) && reply.array.length === 2 && reply.array[1].bulk?.toString('latin1') === token;
}

/** Sends one case on a fresh connection and checks the daemon's answers. */
export function runRespCase(path, fuzzCase, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const socket = connect(path);
    const token = `fuzz-${Math.random().toString(36).slice(2)}`;
    let buf = Buffer.alloc(0);
    let offset = 0;
    const replies = [];
    let settled = false;
    const check = (closed) => {
      for (const rep of replies) {
        if (rep.error !== undefined) {
          if (!/^[A-Z]+ /.test(rep.error)) return { ok: false, problem: `error without a Redis-style code: ${rep.error.slice(0, 120)}` };
          if (/internal error/i.test(rep.error)) return { ok: false, problem: `internal error: ${rep.error.slice(0, 200)}` };
        }
      }
      const protocolError = replies.some((rep) => rep.error?.startsWith('ERR Protocol error'));
      // The generator never sends QUIT, so an aligned case may only close after a protocol error.
      if (closed && fuzzCase.aligned && !protocolError) return { ok: false, problem: 'closed without a protocol error' };
      if (fuzzCase.expectClose && !protocolError) return { ok: false, problem: 'expected a protocol error and a close' };
      return { ok: true, closed };
    };
    const done = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...outcome, name: fuzzCase.name });
    };
    const timer = setTimeout(() => done({ ok: false, problem: 'no answer and no close: the connection hung' }), timeoutMs);
    socket.on('error', () => {});
    socket.on('close', () => done(check(true)));
    socket.on('connect', () => {
      const { bytes, splitAt } = fuzzCase;
      if (splitAt !== undefined) {
        socket.write(bytes.subarray(0, splitAt));
        setTimeout(() => {
          socket.write(bytes.subarray(splitAt));
          socket.write(respCommand(['PING', token]));
        }, 1);
        return;
      }
      socket.write(bytes);
      if (fuzzCase.expectClose) return;
      if (fuzzCase.aligned) socket.write(respCommand(['PING', token]));
      else setTimeout(() => done(check(false)), 5); // partial input: just hang up
    });
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        for (let r = readReply(buf, offset); r; r = readReply(buf, offset)) {
          offset = r.end;
          replies.push(r.value);
          if (fuzzCase.aligned && isToken(r.value, token)) return done(check(false));
        }
      } catch (err) {
        done({ ok: false, problem: `the daemon sent malformed RESP: ${err.message}` });
      }
    });
  });
}

export { rng };
