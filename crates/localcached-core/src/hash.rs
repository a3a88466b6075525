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
        let mut word = [0u8; 8];
        word[..rest.len()].copy_from_slice(rest);
        h = folded_multiply(h ^ u64::from_le_bytes(word), MUL_A);
    }
    folded_multiply(h, MUL_B ^ seed)
}

/// A fresh random seed from the standard library's per-process random keys.
pub fn random_seed() -> u64 {
    use std::collections::hash_map::RandomState;
    use std::hash::BuildHasher;
    RandomState::new().hash_one(0x6c63_u64)
}
