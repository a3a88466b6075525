import { describe, expect, it } from 'vitest'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ERROR_CODES } from '../ts/errors'
import { STATS_FIELDS } from '../ts/stats'
import { ROOT, runNode } from './helpers'

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8')

describe('docs agree with the code', () => {
  it('every error code in the table is documented, and no other', () => {
    const doc = read('docs/errors.md')
    const documented = [...doc.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1])
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort())
  })

  it('the stats fields match the Rust encoder and docs/stats-format.md, in order', () => {
    const rust = read('crates/localcached-core/src/stats.rs')
    const block = rust.slice(rust.indexOf('pub const FIELD_NAMES'), rust.indexOf('];', rust.indexOf('pub const FIELD_NAMES')))
    const rustFields = [...block.matchAll(/"(\w+)"/g)].map((m) => m[1])
    expect(rustFields).toEqual([...STATS_FIELDS])
    const doc = read('docs/stats-format.md')
    const docFields = [...doc.matchAll(/^\| (\d+) \| `(\w+)` \|/gm)].map((m) => m[2])
    expect(docFields).toEqual([...STATS_FIELDS])
  })

  it('the platform packages and optionalDependencies are generated from the target table', async () => {
    const r = await runNode(['scripts/generate-npm.mjs', '--check'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
  })
})
