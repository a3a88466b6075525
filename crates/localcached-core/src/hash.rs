//! A small seeded hash for keys. Keys are short ASCII strings, so a folded 64x64->128
//! multiply per 8 bytes beats SipHash several times over; the per-store random seed keeps
//! a client from choosing keys that collide on purpose.

const MUL_A: u64 = 0x9E37_79B9_7F4A_7C15;
const MUL_B: u64 = 0xD6E8_FEB8_6659_FD93;

#[inline(always)]
fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = (a as u128).wrapping_mul(b as u128);
    (product as u64) ^ ((product >> 64) as u64)
}

#[inline]
pub fn hash_key(seed: u64, key: &[u8]) -> u64 {
    let mut h = seed ^ (key.len() as u64).wrapping_mul(MUL_A);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = folded_multiply(h ^ u64::from_le_bytes(word), MUL_B);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        h = folded_multiply(h ^ tail_word(rest), MUL_A);
    }
    folded_multiply(h, MUL_B ^ seed)
}

/// The 1 to 7 bytes after the last whole word, as one word, from fixed-size loads (two
/// overlapping 4-byte reads, or three single bytes) rather than a copy of variable length,
/// which compiles to a call to `memcpy` on every hash. The key's length is already mixed
/// in, and for each length the bytes read cover every byte, so distinct tails of one length
/// give distinct words.
#[inline(always)]
fn tail_word(rest: &[u8]) -> u64 {
    let n = rest.len();
    if n >= 4 {
        let lo = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as u64;
        let hi = u32::from_le_bytes([rest[n - 4], rest[n - 3], rest[n - 2], rest[n - 1]]) as u64;
        lo | (hi << 32)
    } else {
        rest[0] as u64 | (rest[n / 2] as u64) << 8 | (rest[n - 1] as u64) << 16
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_short_keys_hash_apart() {
        // Every key of 1 to 11 bytes over a small alphabet: no two share a 64-bit hash.
        let alphabet = b"a:0";
        let mut seen = std::collections::HashSet::new();
        let mut total = 0;
        for len in 1..=11u32 {
            for mut code in 0..alphabet.len().pow(len.min(7)) {
                let mut key = vec![b'x'; len as usize];
                for byte in key.iter_mut().rev().take(7) {
                    *byte = alphabet[code % alphabet.len()];
                    code /= alphabet.len();
                }
                assert!(seen.insert(hash_key(7, &key)), "collision at {:?}", String::from_utf8_lossy(&key));
                total += 1;
            }
        }
        assert_eq!(seen.len(), total);
    }
}

/// A fresh random seed from the standard library's per-process random keys.
pub fn random_seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    RandomState::new().hash_one(0x6c63_u64)
}
