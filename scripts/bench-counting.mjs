#!/usr/bin/env node
// node scripts/bench-counting.mjs — what counting a command at a door costs: the calls the
// native connection and the RESP listener make per command (CommandCounts.nativeOk/respOk),
// in ns per call, against the same loop without them. Needs `npm run build:ts`.
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { CommandCounts } = require(join(root, 'dist/cjs/server/command-counts.js'));

const N = 20_000_000;
// As the doors hand them over: parseRequest returns its request types as literals, and so
// does the RESP fast path for GET and SET; other RESP names are fresh strings (toUpperCase).
const types = ['Get', 'Put', 'MGet', 'Del'];
const names = ['GET', 'SET', 'GET', 'SET'];
const freshNames = ['MGET', 'DEL', 'INCR', 'EXPIRE'].map((t) => Buffer.from(t).toString());

function time(label, body) {
  let best = Infinity;
  for (let round = 0; round < 5; round++) {
    const started = process.hrtime.bigint();
    body();
    best = Math.min(best, Number(process.hrtime.bigint() - started) / N);
  }
  return best;
}

let sink = 0;
const baseline = time('baseline', () => {
  for (let i = 0; i < N; i++) sink += types[i & 3].length;
});
const counts = new CommandCounts();
const native = time('nativeOk', () => {
  for (let i = 0; i < N; i++) {
    sink += types[i & 3].length;
    counts.nativeOk(types[i & 3]);
  }
});
const resp = time('respOk', () => {
  for (let i = 0; i < N; i++) {
    sink += names[i & 3].length;
    counts.respOk(names[i & 3]);
  }
});
const respOther = time('respOk fresh', () => {
  for (let i = 0; i < N; i++) {
    sink += freshNames[i & 3].length;
    counts.respOk(freshNames[i & 3]);
  }
});
console.log(`node ${process.version}; ${N.toLocaleString('en-US')} calls, best of 5`);
console.log(`native door, nativeOk(type): ${(native - baseline).toFixed(1)} ns per command`);
console.log(`RESP door, GET/SET fast path: ${(resp - baseline).toFixed(1)} ns per command`);
console.log(`RESP door, other commands:  ${(respOther - baseline).toFixed(1)} ns per command (a command name the parser built)`);
if (sink === -1) console.log(sink);
