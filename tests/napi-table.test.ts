// The addon resolves its N-API functions at registration, from the process that loads it,
// into one table (crates/localcached-node/src/sys.rs), instead of linking against them.
// These tests check that under the Node running them (CI runs 20, 22 and 24): every listed
// function is exported by this Node, the addon we load leaves no napi_* symbol for the
// linker, and a second env (a worker thread) registers against the already filled table.
// The failure path (a host missing a function gets a NotSupported error naming it) is
// tested in crates/localcached-node/tests/napi_loading.rs, which plays such a host.
import { describe, expect, it } from 'vitest'
import { readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { Worker } from 'node:worker_threads'
import { currentTarget, loadBinding, packageRoot } from '../ts/loader'

const SYS_RS = join(packageRoot(), 'crates/localcached-node/src/sys.rs')

/** The function names of sys.rs's `napi_functions! { … }` list, in order. */
function listedFunctions(): string[] {
  const source = readFileSync(SYS_RS, 'utf8')
  const list = source.split('\nnapi_functions! {\n')[1]?.split('\n}\n')[0]
  if (!list) throw new Error('no napi_functions! list in sys.rs')
  return [...list.matchAll(/^\s*fn (\w+)\(/gm)].map((m) => m[1])
}

/** The dynamic symbols of an ELF64 little-endian file, split into defined and undefined. */
function dynamicSymbols(path: string): { defined: Set<string>; undefined: Set<string> } {
  const elf = readFileSync(path)
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2 || elf[5] !== 1) throw new Error(`${path}: not ELF64 LE`)
  const num = (at: number) => Number(elf.readBigUInt64LE(at))
  const shoff = num(0x28)
  const shentsize = elf.readUInt16LE(0x3a)
  const shnum = elf.readUInt16LE(0x3c)
  const section = (i: number) => shoff + i * shentsize
  let dynsym = -1
  for (let i = 0; i < shnum; i++) if (elf.readUInt32LE(section(i) + 4) === 11 /* SHT_DYNSYM */) dynsym = section(i)
  if (dynsym < 0) throw new Error(`${path}: no .dynsym`)
  const [offset, size, entsize] = [num(dynsym + 0x18), num(dynsym + 0x20), num(dynsym + 0x38)]
  const strtab = num(section(elf.readUInt32LE(dynsym + 0x28)) + 0x18)
  const defined = new Set<string>()
  const undef = new Set<string>()
  for (let sym = offset; sym < offset + size; sym += entsize) {
    const nameAt = elf.readUInt32LE(sym)
    if (nameAt === 0) continue
    const start = strtab + nameAt
    const name = elf.toString('latin1', start, elf.indexOf(0, start))
    ;(elf.readUInt16LE(sym + 6) === 0 /* SHN_UNDEF */ ? undef : defined).add(name)
  }
  return { defined, undefined: undef }
}

const elfOnly = process.platform !== 'linux'
const localBuild = join(packageRoot(), `localcached-native.${currentTarget()}.node`)

describe('N-API functions resolved at load time', () => {
  it('sys.rs lists the functions the addon calls', () => {
    const names = listedFunctions()
    expect(names.length).toBeGreaterThan(20)
    expect(new Set(names).size).toBe(names.length)
    for (const name of names) expect(name).toMatch(/^napi_\w+$/)
  })

  it.skipIf(elfOnly)('every listed function is exported by the running Node', () => {
    const { defined } = dynamicSymbols(process.execPath)
    const missing = listedFunctions().filter((name) => !defined.has(name))
    expect(missing, `missing from ${process.execPath} (${process.version})`).toEqual([])
  })

  it.skipIf(elfOnly || !existsSync(localBuild))('the built addon leaves no napi_* symbol undefined', () => {
    const symbols = dynamicSymbols(localBuild)
    expect(symbols.undefined.has('dlsym')).toBe(true) // the reader works, and this is how it resolves
    expect([...symbols.undefined].filter((s) => /^(napi|node_api)_/.test(s))).toEqual([])
    expect(symbols.defined.has('napi_register_module_v1')).toBe(true)
  })

  it('registers in this Node, and again in a worker thread (a second env, same table)', async () => {
    expect(typeof loadBinding().createStore).toBe('function')
    const worker = new Worker(
      `const { parentPort, workerData } = require('node:worker_threads')
       const { NativeStore } = require(workerData)
       const store = new NativeStore({ maxBytes: 1 << 20 })
       store.set('svc:tbl:1', 'from a worker')
       parentPort.postMessage(store.get('svc:tbl:1').toString())
       store.close()`,
      { eval: true, workerData: join(packageRoot(), 'dist/cjs/index.js') },
    )
    const message = await new Promise((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    expect(message).toBe('from a worker')
    await worker.terminate()
  })
})
