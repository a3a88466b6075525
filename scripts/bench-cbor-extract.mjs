#!/usr/bin/env node
// Does cbor-x's optional native string extractor (cbor-extract, the dependency whose install
// script a consumer's `npm install` warns about) speed up our protocol's frames?
//
//   node scripts/bench-cbor-extract.mjs [--iterations N] [--rounds R]     (needs npm run build)
//
// Encodes and decodes the frames the client and daemon exchange most through our own codec
// (dist/cjs/protocol/codec.js), loaded twice into this process: once as usual, so cbor-x
// picks up cbor-extract, and once with CBOR_NATIVE_ACCELERATION_DISABLED=true, cbor-x's own
// switch, so it decodes strings in JavaScript as it does when cbor-extract is not installed.
// The two copies are measured in alternating rounds, so other load on the machine hits both
// alike; a figure is ns per operation, the best of R rounds of N operations. The "extractor
// called" column says whether decoding that frame calls into cbor-extract at all.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const args = process.argv.slice(2)
const opt = (name, fallback) => {
  const i = args.indexOf(name)
  return i >= 0 ? Number(args[i + 1]) : fallback
}
const ITERATIONS = opt('--iterations', 50_000)
const ROUNDS = opt('--rounds', 9)

const value = (n) => Buffer.alloc(n, 0x61)
const keys = Array.from({ length: 100 }, (_, i) => `svc:table:pk-${i}`)
const FRAMES = {
  'Get request': { type: 'Get', key: 'svc:table:pk' },
  'Value reply, 100 B': { type: 'Value', value: value(100) },
  'Put, 100 B': { type: 'Put', key: 'svc:table:pk', value: value(100) },
  'Put, 4 KiB': { type: 'Put', key: 'svc:table:pk', value: value(4096) },
  // String-heavy frames, where a string extractor has the most to do.
  'MGet request, 100 keys': { type: 'MGet', keys },
  'Keys reply, 100 keys': { type: 'Keys', keys, cursor: null },
}

const CODEC = '../dist/cjs/protocol/codec.js'
let extract
try {
  extract = require('cbor-extract')
} catch {
  extract = null
}

/** A fresh copy of our codec and of the cbor-x it loads, with native acceleration on or off. */
function loadCodec(native) {
  for (const id of [require.resolve(CODEC), require.resolve('cbor-x')]) delete require.cache[id]
  if (native) delete process.env.CBOR_NATIVE_ACCELERATION_DISABLED
  else process.env.CBOR_NATIVE_ACCELERATION_DISABLED = 'true'
  let codec
  try {
    codec = require(CODEC)
  } catch {
    console.error('bench-cbor-extract: dist/cjs is missing: run npm run build first')
    process.exit(1)
  }
  const accelerated = require('cbor-x').isNativeAccelerationEnabled
  delete process.env.CBOR_NATIVE_ACCELERATION_DISABLED
  return { codec, accelerated }
}

// Which frames make cbor-x call the extractor: a counting wrapper, in a throwaway copy.
const called = {}
if (extract) {
  const original = extract.extractStrings
  let calls = 0
  extract.extractStrings = (...a) => (calls++, original(...a))
  const { codec } = loadCodec(true)
  for (const [name, message] of Object.entries(FRAMES)) {
    calls = 0
    codec.decodePayload(codec.encodeMessage(message).subarray(4))
    called[name] = calls > 0
  }
  extract.extractStrings = original
}

const modes = { native: loadCodec(true), js: loadCodec(false) }
if (modes.js.accelerated) throw new Error('the JS copy of cbor-x still uses cbor-extract')

let sink = 0
function time(fn) {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < ITERATIONS; i++) fn()
  return Number(process.hrtime.bigint() - t0) / ITERATIONS
}

const results = {}
for (const [name, message] of Object.entries(FRAMES)) {
  const r = (results[name] = {})
  const payload = modes.native.codec.encodeMessage(message).subarray(4)
  r.bytes = payload.length
  const ops = {}
  for (const [mode, { codec }] of Object.entries(modes)) {
    ops[`encode ${mode}`] = () => (sink += codec.encodeMessage(message).length)
    ops[`decode ${mode}`] = () => (sink += codec.decodePayload(payload) ? 1 : 0)
  }
  for (const fn of Object.values(ops)) for (let i = 0; i < 10_000; i++) fn() // warm up
  for (const op of Object.keys(ops)) r[op] = Infinity
  for (let round = 0; round < ROUNDS; round++) {
    for (const [op, fn] of Object.entries(ops)) r[op] = Math.min(r[op], time(fn))
  }
}

const cborx = require('cbor-x/package.json').version
const extractVersion = extract ? require('cbor-extract/package.json').version : 'not installed'
console.log(`cbor-x ${cborx}, cbor-extract ${extractVersion} (${modes.native.accelerated ? 'loaded' : 'NOT loaded: both columns are JavaScript'}), Node ${process.version}`)
console.log(`ns/op, best of ${ROUNDS} alternating rounds of ${ITERATIONS} ops`)
const header = ['frame', 'bytes', 'extractor called', 'encode native', 'encode JS', 'decode native', 'decode JS', 'decode JS/native']
const rows = [header]
for (const [name, r] of Object.entries(results)) {
  rows.push([
    name,
    String(r.bytes),
    extract ? (called[name] ? 'yes' : 'no') : '-',
    r['encode native'].toFixed(0),
    r['encode js'].toFixed(0),
    r['decode native'].toFixed(0),
    r['decode js'].toFixed(0),
    (r['decode js'] / r['decode native']).toFixed(2),
  ])
}
const widths = header.map((_, c) => Math.max(...rows.map((row) => row[c].length)))
for (const row of rows) console.log(row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '))
console.log('(encoding never uses cbor-extract: the two encode columns differ only by noise)')
if (sink === 0) console.log('')
