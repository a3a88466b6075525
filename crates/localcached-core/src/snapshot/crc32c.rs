//! CRC-32C (Castagnoli), the checksum of a snapshot file, computed slice-by-8 from tables
//! built at compile time.
//!
//! Why CRC-32C rather than a 64-bit hash such as FNV-1a: a CRC is *guaranteed* to detect
//! every single-bit error and every burst of up to 32 bits, the damage a disk, a copy or a
//! truncated write typically does, where a hash only makes detection likely; CRC-32C is the
//! polynomial chosen for exactly this by iSCSI, ext4 and LevelDB/RocksDB log files, so any
//! tool can check a file; and slice-by-8 runs at ~1 byte per cycle, faster than FNV-1a's
//! one multiply per byte, so the checksum is never the bottleneck of a save or a load.
//! Other corruption escapes it with probability 2^-32, and a load also checks every length,
//! the record count and the trailer position.

/// The reflected Castagnoli polynomial.
const POLY: u32 = 0x82F6_3B78;

const fn tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u32;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ POLY } else { crc >> 1 };
            bit += 1;
        }
        t[0][i] = crc;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xFF) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

static TABLES: [[u32; 256]; 8] = tables();

/// A running CRC-32C.
#[derive(Clone, Copy)]
pub struct Crc32c(u32);

impl Default for Crc32c {
    fn default() -> Self {
        Crc32c(!0)
    }
}

impl Crc32c {
    pub fn update(&mut self, bytes: &[u8]) {
        let t = &TABLES;
        let mut crc = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let lo = crc ^ u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            crc = t[7][(lo & 0xFF) as usize]
                ^ t[6][((lo >> 8) & 0xFF) as usize]
                ^ t[5][((lo >> 16) & 0xFF) as usize]
                ^ t[4][(lo >> 24) as usize]
                ^ t[3][c[4] as usize]
                ^ t[2][c[5] as usize]
                ^ t[1][c[6] as usize]
                ^ t[0][c[7] as usize];
        }
        for &b in chunks.remainder() {
            crc = (crc >> 8) ^ t[0][((crc ^ b as u32) & 0xFF) as usize];
        }
        self.0 = crc;
    }

    pub fn value(&self) -> u32 {
        !self.0
    }
}

#[cfg(test)]
mod tests {
    use super::Crc32c;

    #[test]
    fn matches_the_standard_check_values() {
        // The catalogue check value of CRC-32C, and RFC 3720's 32 zero bytes.
        let mut crc = Crc32c::default();
        crc.update(b"123456789");
        assert_eq!(crc.value(), 0xE306_9283);
        let mut crc = Crc32c::default();
        crc.update(&[0u8; 32]);
        assert_eq!(crc.value(), 0x8A91_36AA);
        // Split updates agree with one.
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut whole = Crc32c::default();
        whole.update(&data);
        let mut parts = Crc32c::default();
        for chunk in data.chunks(13) {
            parts.update(chunk);
        }
        assert_eq!(whole.value(), parts.value());
    }
}
