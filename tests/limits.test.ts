// Numbers the TypeScript layer names and the addon also knows: named once per language, and
// checked here to agree, so neither side can drift.
import { describe, expect, it } from 'vitest'
import { loadBinding } from '../ts/loader'
import { MAX_KEY_BYTES } from '../ts/limits'
import { READ_CODES } from '../ts/native-store'

describe('limits shared with the addon', () => {
  const binding = loadBinding() as unknown as Record<string, number>

  it('the key limit is the core\'s', () => {
    expect(MAX_KEY_BYTES).toBe(binding.MAX_KEY_BYTES)
  })

  it('the read result codes are the binding\'s', () => {
    expect(READ_CODES).toEqual({ miss: binding.READ_MISS, missExpired: binding.READ_MISS_EXPIRED, inOverflow: binding.READ_IN_OVERFLOW })
  })
})
