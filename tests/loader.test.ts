import { describe, expect, it } from 'vitest'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { currentTarget } from '../ts/loader'
import { ROOT, runNode } from './helpers'

const probe = `
  try {
    const { NativeStore } = require('./dist/cjs/index.js')
    new NativeStore().close()
    console.log('loaded')
  } catch (err) { console.log(err.message) }
`

describe('native loader', () => {
  it('names the platform target the way the platform packages are named', () => {
    const target = currentTarget()
    expect(existsSync(join(ROOT, 'npm', target, 'package.json'))).toBe(true)
    const pkg = JSON.parse(readFileSync(join(ROOT, 'npm', target, 'package.json'), 'utf8'))
    expect(pkg.name).toBe(`@localcached-native/${target}`)
  })

  it('loads the file named by LOCALCACHED_NATIVE_PATH first', async () => {
    const local = join(ROOT, `localcached-native.${currentTarget()}.node`)
    const r = await runNode(['-e', probe], { env: { LOCALCACHED_NATIVE_PATH: local } })
    expect(r.stdout.trim()).toBe('loaded')
  })

  it('lists every attempt and why it failed when nothing loads', async () => {
    // A copy of the package without any .node file, and a bogus override.
    const dir = mkdtempSync(join(tmpdir(), 'lc-loader-'))
    cpSync(join(ROOT, 'dist'), join(dir, 'dist'), { recursive: true })
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'localcached-native' }))
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
    const r = await runNode(['-e', probe.replace('./dist', join(dir, 'dist'))], {
      env: { LOCALCACHED_NATIVE_PATH: '/nonexistent/addon.node' },
    })
    rmSync(dir, { recursive: true, force: true })
    const text = r.stdout
    expect(text).toContain('could not load its native addon')
    expect(text).toContain('$LOCALCACHED_NATIVE_PATH (/nonexistent/addon.node)')
    expect(text).toContain(`platform package (@localcached-native/${currentTarget()})`)
    expect(text).toContain('local build')
  })
})
