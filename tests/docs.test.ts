import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ERROR_CODES } from '../ts/errors'
import { DAEMON_STATS_FIELDS, STATS_FIELDS } from '../ts/stats'
import { REQUEST_TYPES, RESPONSE_TYPES } from '../ts/protocol/messages'
import { COMMANDS } from '../ts/resp/commands'
import { ROOT, runNode } from './helpers'

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

describe('docs agree with the code', () => {
  it('every error code in the table is documented, and no other', () => {
    const doc = read('docs/errors.md')
    const documented = [...doc.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort())
  })

  it('the stats fields match the Rust encoder, the daemon\'s appended fields and docs/stats-format.md, in order', () => {
    const rust = read('crates/localcached-core/src/stats.rs')
    const block = rust.slice(rust.indexOf('pub const FIELD_NAMES'), rust.indexOf('];', rust.indexOf('pub const FIELD_NAMES')))
    const rustFields = [...block.matchAll(/"(\w+)"/g)].map((m) => m[1])
    expect(rustFields).toEqual([...STATS_FIELDS])
    const doc = read('docs/stats-format.md')
    const docFields = [...doc.matchAll(/^\| (\d+) \| `(\w+)` \|/gm)].map((m) => [Number(m[1]), m[2]])
    expect(docFields).toEqual([...STATS_FIELDS, ...DAEMON_STATS_FIELDS].map((name, i) => [i, name]))
  })

  it('docs/protocol.md covers every request, response and published event type', () => {
    const doc = read('docs/protocol.md')
    for (const type of [...REQUEST_TYPES, ...RESPONSE_TYPES]) expect(doc, type).toContain(`${type}`)
    for (const event of ['invalidate', 'table_changed', 'evicted', 'lagged']) expect(doc, event).toContain(`| \`${event}\` |`)
    for (const reason of ['memory_pressure', 'expired']) expect(doc, reason).toContain(`reason: "${reason}"`)
    for (const code of ['InvalidKey', 'ValueTooLarge', 'BadRequest', 'NotSupported', 'FrameTooLarge', 'ProtocolVersion']) expect(doc, code).toContain(code)
  })

  it('docs/resp.md lists every RESP command the daemon answers', () => {
    const doc = read('docs/resp.md')
    for (const name of Object.keys(COMMANDS)) expect(doc, name).toMatch(new RegExp(`\`${name.replace('.', '\\.')}[\` ]`))
  })

  it('every removal cause and every event type is documented where users read about them', () => {
    const readme = read('README.md')
    for (const cause of ['evicted', 'expired', 'dependency', 'overflow']) expect(readme, cause).toContain(`'${cause}'`)
    const protocol = read('docs/protocol.md')
    for (const event of ['invalidate', 'table_changed', 'evicted', 'lagged', 'flush', 'invalidate_scope']) expect(protocol, event).toContain(`| \`${event}\` |`)
    for (const cause of ['dependency', 'write']) expect(protocol, cause).toContain(`cause: "${cause}"`)
    for (const reason of ['clear', 'lagged']) expect(protocol, reason).toContain(`"${reason}"`)
  })

  it('the README documents every CLI command and serve flag', async () => {
    const readme = read('README.md')
    const { buildProgram } = await import('../ts/cli')
    const program = buildProgram(() => {})
    for (const command of program.commands) {
      expect(readme, command.name()).toContain(command.name())
      for (const option of command.options) expect(readme, `${command.name()} ${option.long}`).toContain(option.long!)
    }
  })

  it('the platform packages and optionalDependencies are generated from the target table', async () => {
    const r = await runNode(['scripts/generate-npm.mjs', '--check'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })
})
