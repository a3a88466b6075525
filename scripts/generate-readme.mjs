#!/usr/bin/env node
// Writes the README's `serve` flag table from the option table (ts/server/option-table.ts,
// built into dist/cjs). `--check` only reports whether the README is up to date (exit 1 if not).
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const { renderFlagTable, README_TABLE_BEGIN, README_TABLE_END } = createRequire(import.meta.url)(join(root, 'dist/cjs/server/option-table.js'))
const path = join(root, 'README.md')
const readme = readFileSync(path, 'utf8')
const begin = readme.indexOf(README_TABLE_BEGIN)
const end = readme.indexOf(README_TABLE_END)
if (begin < 0 || end < begin) {
  console.error(`README.md lacks the markers:\n${README_TABLE_BEGIN}\n${README_TABLE_END}`)
  process.exit(1)
}
const next = `${readme.slice(0, begin)}${README_TABLE_BEGIN}\n${renderFlagTable()}\n${readme.slice(end)}`
if (process.argv.includes('--check')) {
  if (next !== readme) {
    console.error('README.md flag table is out of date: run npm run generate:readme')
    process.exit(1)
  }
} else if (next !== readme) {
  writeFileSync(path, next)
  console.log('README.md flag table updated')
}
