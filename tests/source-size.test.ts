// Small files with one concern: a source file of ts/ or crates/*/src over 500 lines must say
// at its top why it is that long (a comment mentioning "500 lines" in its first ten lines).
import { describe, expect, it } from 'vitest'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'
import { ROOT } from './helpers'

const LIMIT = 500

function sources(dir: string, ext: RegExp): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) return sources(path, ext)
    return ext.test(name) ? [path] : []
  })
}

describe('source files stay small', () => {
  it(`no file of ts/ or crates/*/src is over ${LIMIT} lines without a reason at its top`, () => {
    const crates = readdirSync(join(ROOT, 'crates')).map((c) => join(ROOT, 'crates', c, 'src'))
    const files = [...sources(join(ROOT, 'ts'), /\.ts$/), ...crates.flatMap((dir) => sources(dir, /\.rs$/))]
    expect(files.length).toBeGreaterThan(50)
    const unexplained = files.filter((file) => {
      const lines = readFileSync(file, 'utf8').split('\n')
      return lines.length > LIMIT && !lines.slice(0, 10).some((l) => l.includes(`${LIMIT} lines`))
    })
    expect(unexplained.map((f) => relative(ROOT, f))).toEqual([])
  })
})
