// The daemon fuzzer: seeded, time-bounded generation of hostile inputs against the native
// protocol, and the checks that every input is answered with a coded error (or a valid reply)
// or ends that one connection, while other connections keep being served.
// Used by tests/fuzz.test.ts (short budget) and scripts/fuzz.mjs (npm run fuzz -- --seconds N).
import { connect } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cjs');
const { encodeMessage, decodePayload } = require(join(dist, 'protocol', 'codec.js'));
const { FrameDecoder, encodeFrame } = require(join(dist, 'protocol', 'frame.js'));
const { ERROR_CODES } = require(join(dist, 'errors.js'));

const HELLO = encodeMessage({ type: 'Hello', protocolVersion: 1 });
const PING = encodeMessage({ type: 'Ping' });
const RESPONSE_TYPES = new Set(['HelloOk', 'Pong', 'Value', 'Ok', 'Deleted', 'StatsBinary', 'Err']);

/** SplitMix64 on BigInt-free 32-bit halves: small, seedable, reproducible. */
export function rng(seed) {
  let a = seed >>> 0;
  return {
    next() {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
    int(n) {
      return Math.floor(this.next() * n);
    },
    pick(list) {
      return list[this.int(list.length)];
    },
    bytes(n) {
      const b = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) b[i] = this.int(256);
      return b;
    },
  };
}

function lengthPrefix(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function randomCbor(r, depth = 0) {
  switch (r.int(depth > 3 ? 5 : 8)) {
    case 0: return r.int(1e9) - 5e8;
    case 1: return r.next();
    case 2: return r.bytes(r.int(40)).toString('latin1');
    case 3: return r.bytes(r.int(40));
    case 4: return r.pick([null, true, false, undefined]);
    case 5: return Array.from({ length: r.int(5) }, () => randomCbor(r, depth + 1));
    case 6: {
      const o = {};
      for (let i = r.int(5); i > 0; i--) o[r.pick(['type', 'key', 'value', 'ttlMs', 'publish', 'svc', 'table', 'pk', 'protocolVersion', r.bytes(4).toString('hex')])] = randomCbor(r, depth + 1);
      return o;
    }
    default: return { type: r.pick(['Get', 'Put', 'Del', 'Invalidate', 'TableChangedUpsert', 'Subscribe', 'Stats', 'Ping', 'Hello', 'Nope']), key: randomCbor(r, depth + 1), value: randomCbor(r, depth + 1) };
  }
}

function hostileKey(r) {
  const seg = () => r.pick(['a', 'svc', 'x'.repeat(r.int(300)), '', 'é', '\u0000', 'a\u0000b', ' ', 'ok-seg', ':', '\uffff', '😀']);
  return r.pick([`${seg()}:${seg()}:${seg()}`, seg(), `${seg()}:${seg()}`, `a:b:${'p'.repeat(240 + r.int(20))}`, `a:b:c:${seg()}`]);
}

/**
 * One case: the bytes to send, whether to handshake first, and whether the bytes leave the
 * stream on a frame boundary (then a Ping after them must be answered, or the connection closed).
 */
export function makeCase(r, index, limits) {
  const kind = index % 11;
  const valid = encodeMessage({ type: 'Put', key: 'fuzz:t:1', value: r.bytes(64) });
  switch (kind) {
    case 0: return { name: 'random bytes before the handshake', hello: false, bytes: r.bytes(r.int(2000)), aligned: false };
    case 1: return { name: 'random bytes after the handshake', hello: true, bytes: r.bytes(1 + r.int(2000)), aligned: false };
    case 2: {
      const cut = Math.floor(index / 11) % valid.length; // sweeps every offset in turn
      return { name: `frame truncated at ${cut}`, hello: true, bytes: valid.subarray(0, cut), aligned: cut === 0 };
    }
    case 3: {
      const n = r.pick([0, 1, 0xffffffff]);
      return { name: `length prefix ${n}`, hello: true, bytes: Buffer.concat([lengthPrefix(n), r.bytes(n === 0 ? 0 : 1)]), aligned: n === 0 };
    }
    case 4: return { name: 'invalid CBOR', hello: true, bytes: encodeFrame(Buffer.concat([Buffer.from([r.pick([0xff, 0x1c, 0x5f, 0x7f, 0x9f, 0xbf, 0xfc])]), r.bytes(r.int(30))])), aligned: true };
    case 5: return { name: 'valid CBOR of the wrong shape', hello: true, bytes: encodeMessage(randomCbor(r) ?? null), aligned: true };
    case 6: {
      const depth = r.pick([100, 10_000, 200_000]);
      const body = r.int(2) === 0 ? Buffer.alloc(depth, 0x81) : Buffer.concat(Array.from({ length: depth }, () => Buffer.from([0xa1, 0x61, 0x61])));
      const capped = body.subarray(0, Math.min(body.length, limits.maxFrameBytes));
      return { name: `CBOR nested ${depth} deep`, hello: true, bytes: encodeFrame(capped), aligned: true };
    }
    case 7: {
      const bomb = r.pick([
        [0x5a, 0xff, 0xff, 0xff, 0xff], // byte string of 4 GiB
        [0x7a, 0x7f, 0xff, 0xff, 0xff], // text string of 2 GiB
        [0x9b, 0, 0, 0, 1, 0, 0, 0, 0], // array of 2^32 items
        [0xbb, 0x0f, 0, 0, 0, 0, 0, 0, 0], // map of 2^60 pairs
        [0xba, 0xff, 0xff, 0xff, 0xff, 0x61, 0x61], // map of 2^32 pairs, one key
      ]);
      return { name: 'CBOR huge declared length', hello: true, bytes: encodeFrame(Buffer.concat([Buffer.from(bomb), r.bytes(r.int(16))])), aligned: true };
    }
    case 8: return { name: 'request before the handshake', hello: false, bytes: encodeMessage({ type: r.pick(['Get', 'Ping', 'Subscribe', 'Stats']), key: 'a:b:c' }), aligned: true };
    case 9: {
      const key = hostileKey(r);
      const msg = r.pick([{ type: 'Get', key }, { type: 'Put', key, value: Buffer.from('v') }, { type: 'Del', key }, { type: 'Invalidate', key }, { type: 'TableChangedUpsert', svc: key, table: 't', pk: 'p', value: Buffer.from('v') }]);
      return { name: 'hostile key', hello: true, bytes: encodeMessage(msg), aligned: true };
    }
    default: {
      const size = limits.maxValueBytes + r.pick([-1, 0, 1]);
      return { name: `value of ${size} bytes`, hello: true, bytes: encodeMessage({ type: 'Put', key: `fuzz:big:${r.int(50)}`, value: Buffer.alloc(size, 7) }), aligned: true };
    }
  }
}

/** Sends one case on a fresh connection and checks the daemon's behaviour. */
export function runCase(path, fuzzCase, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const socket = connect(path);
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    const replies = [];
    let phase = fuzzCase.hello ? 'hello' : 'sent';
    let settled = false;
    const done = (outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ ...outcome, name: fuzzCase.name, replies });
    };
    const timer = setTimeout(() => done({ ok: false, problem: 'no answer and no close: the connection hung' }), timeoutMs);
    socket.on('error', () => {});
    socket.on('close', () => done(checkReplies(replies, true)));
    socket.on('connect', () => {
      if (fuzzCase.hello) socket.write(HELLO);
      else send();
    });
    const send = () => {
      socket.write(fuzzCase.bytes);
      if (fuzzCase.aligned) socket.write(PING);
      else setTimeout(() => done(checkReplies(replies, false)), 5); // partial input: just hang up
    };
    socket.on('data', (chunk) => {
      decoder.push(chunk);
      try {
        for (let p = decoder.tryRead(); p; p = decoder.tryRead()) {
          const message = decodePayload(p);
          if (phase === 'hello') {
            if (message.type !== 'HelloOk') return done({ ok: false, problem: `handshake failed: ${JSON.stringify(message)}` });
            phase = 'sent';
            send();
            continue;
          }
          replies.push(message);
          if (message.type === 'Pong' && fuzzCase.aligned) return done(checkReplies(replies, false));
        }
      } catch (err) {
        done({ ok: false, problem: `the daemon sent undecodable data: ${err.message}` });
      }
    });
  });
}

function checkReplies(replies, closed) {
  for (const m of replies) {
    if (!m || !RESPONSE_TYPES.has(m.type)) return { ok: false, problem: `not a response: ${JSON.stringify(m)?.slice(0, 200)}` };
    if (m.type === 'Err' && !Object.hasOwn(ERROR_CODES, m.code)) return { ok: false, problem: `uncoded error: ${m.code}` };
    if (m.type === 'Err' && m.code === 'Internal') return { ok: false, problem: `internal error: ${m.message}` };
  }
  return { ok: true, closed };
}

/**
 * Runs cases for `seconds`; pings on a separate connection between batches to prove others are
 * served. The native protocol's generator and runner are the default; the RESP fuzzer passes its own.
 */
export async function fuzz({ path, seconds, seed = 1, limits, control, onProblem = () => {}, makeCase: make = makeCase, runCase: run = runCase }) {
  const r = rng(seed);
  const deadline = Date.now() + seconds * 1000;
  const stats = { cases: 0, problems: 0, closed: 0, answered: 0, byKind: {} };
  for (let i = 0; Date.now() < deadline; i++) {
    const fuzzCase = make(r, i, limits);
    const outcome = await run(path, fuzzCase);
    stats.cases++;
    const kind = fuzzCase.name.replace(/\d+/g, 'N');
    stats.byKind[kind] = (stats.byKind[kind] ?? 0) + 1;
    if (!outcome.ok) {
      stats.problems++;
      onProblem(fuzzCase, outcome);
    } else if (outcome.closed) stats.closed++;
    else stats.answered++;
    if (i % 50 === 0) await control();
  }
  await control();
  return stats;
}
