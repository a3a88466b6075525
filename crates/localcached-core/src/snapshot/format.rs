//! The snapshot file format, byte for byte (all integers little-endian):
//!
//! ```text
//! header   magic "LCSNAP\0\x01" (8) | format version u32 | fingerprint u64
//!          | saved-at wall-clock ms u64 | meta length u32 | meta bytes
//! record   tag 0x01 | key length u8 | key | flags u8 (bit 0: versioned)
//!          | version u64 (0 if unversioned) | expiry wall-clock ms u64 (0: none)
//!          | value length u32 | value | dependency count u16 | (length u8 | key) × count
//! trailer  tag 0xFF | record count u64 | CRC-32C u32 of every byte before it
//! ```
//!
//! Records come hottest first, each shard's visited entries before the others (see `save.rs`). Every length is checked against its limit
//! (`MAX_KEY_BYTES`, `MAX_VALUE_BYTES_LIMIT`, `MAX_DEPENDENCIES`, `SNAPSHOT_MAX_META_BYTES`)
//! and against what is left of the file before anything is allocated for it.

use super::crc32c::Crc32c;
use super::error::SnapshotError;
use crate::constants::{MAX_DEPENDENCIES, MAX_KEY_BYTES, MAX_TTL_MS, MAX_VALUE_BYTES_LIMIT, SNAPSHOT_MAX_META_BYTES};
use crate::key::{validate_key, KEY_RULE};
use std::io::{self, Read, Write};

pub const MAGIC: [u8; 8] = *b"LCSNAP\0\x01";
/// Bumped whenever the layout above changes; a load refuses any other.
pub const FORMAT_VERSION: u32 = 1;
pub const HEADER_FIXED_BYTES: usize = 8 + 4 + 8 + 8 + 4;
pub const TAG_ENTRY: u8 = 0x01;
pub const TAG_END: u8 = 0xFF;
pub const FLAG_VERSIONED: u8 = 1;
const KNOWN_FLAGS: u8 = FLAG_VERSIONED;

/// A 64-bit FNV-1a of everything that changes what a record means or whether this build
/// can hold it: the format version, the key rule and its length limit, the dependency, value
/// and TTL limits, and the meta limit. A snapshot written under other rules is refused as
/// incompatible rather than loaded into entries this build would not have stored. (Budget
/// tunables such as `ENTRY_OVERHEAD_BYTES` are left out: they change no entry's meaning.)
pub fn fingerprint() -> u64 {
    let rules = format!(
        "v{FORMAT_VERSION};key<={MAX_KEY_BYTES};{KEY_RULE};deps<={MAX_DEPENDENCIES};value<={MAX_VALUE_BYTES_LIMIT};ttl<={MAX_TTL_MS};meta<={SNAPSHOT_MAX_META_BYTES}"
    );
    rules.bytes().fold(0xCBF2_9CE4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3))
}

/// The header's fixed part, then `meta`.
pub fn encode_header(out: &mut Vec<u8>, saved_at_ms: u64, meta: &[u8]) {
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&fingerprint().to_le_bytes());
    out.extend_from_slice(&saved_at_ms.to_le_bytes());
    out.extend_from_slice(&(meta.len() as u32).to_le_bytes());
    out.extend_from_slice(meta);
}

/// A record up to and including its value; its dependencies follow (`encode_deps`).
pub fn encode_record_head(out: &mut Vec<u8>, key: &[u8], version: Option<u64>, expiry_wall_ms: u64, value: &[u8]) {
    out.push(TAG_ENTRY);
    out.push(key.len() as u8);
    out.extend_from_slice(key);
    out.push(if version.is_some() { FLAG_VERSIONED } else { 0 });
    out.extend_from_slice(&version.unwrap_or(0).to_le_bytes());
    out.extend_from_slice(&expiry_wall_ms.to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
}

/// The dependency list that ends a record. The store holds at most `MAX_DEPENDENCIES` edges
/// per key, each a valid key, so the u16 count and u8 lengths always suffice.
pub fn encode_deps(out: &mut Vec<u8>, deps: &[Box<[u8]>]) {
    out.extend_from_slice(&(deps.len() as u16).to_le_bytes());
    for dep in deps {
        out.push(dep.len() as u8);
        out.extend_from_slice(dep);
    }
}

/// A writer that checksums and counts what passes through it.
pub struct Output<W: Write> {
    pub inner: W,
    crc: Crc32c,
    pub written: u64,
}

impl<W: Write> Output<W> {
    pub fn new(inner: W) -> Self {
        Output { inner, crc: Crc32c::default(), written: 0 }
    }

    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.crc.update(bytes);
        self.written += bytes.len() as u64;
        self.inner.write_all(bytes)
    }

    /// The trailer: end tag and record count (both checksummed), then the checksum.
    pub fn finish(&mut self, records: u64) -> io::Result<()> {
        let mut tail = [0u8; 9];
        tail[0] = TAG_END;
        tail[1..].copy_from_slice(&records.to_le_bytes());
        self.write(&tail)?;
        let crc = self.crc.value().to_le_bytes();
        self.written += 4;
        self.inner.write_all(&crc)
    }
}

/// A reader that checksums what it reads, knows its offset, and (given the file's length)
/// refuses a length that runs past the end before anything is allocated for it.
pub struct Input<R: Read> {
    inner: R,
    crc: Crc32c,
    pub offset: u64,
    len: Option<u64>,
}

impl<R: Read> Input<R> {
    pub fn new(inner: R, len: Option<u64>) -> Self {
        Input { inner, crc: Crc32c::default(), offset: 0, len }
    }

    pub fn checksum(&self) -> u32 {
        self.crc.value()
    }

    fn read_raw(&mut self, buf: &mut [u8]) -> Result<(), SnapshotError> {
        match self.inner.read_exact(buf) {
            Ok(()) => {
                self.offset += buf.len() as u64;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Err(SnapshotError::Truncated { offset: self.len.unwrap_or(self.offset) }),
            Err(e) => Err(SnapshotError::Io { op: "read", source: e }),
        }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> Result<(), SnapshotError> {
        self.read_raw(buf)?;
        self.crc.update(buf);
        Ok(())
    }

    /// Bytes read but left out of the checksum (the checksum itself).
    pub fn read_unchecked<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let mut buf = [0u8; N];
        self.read_raw(&mut buf)?;
        Ok(buf)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], SnapshotError> {
        let mut buf = [0u8; N];
        self.read(&mut buf)?;
        Ok(buf)
    }

    pub fn u8(&mut self) -> Result<u8, SnapshotError> {
        Ok(self.array::<1>()?[0])
    }
    pub fn u16(&mut self) -> Result<u16, SnapshotError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    pub fn u32(&mut self) -> Result<u32, SnapshotError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    pub fn u64(&mut self) -> Result<u64, SnapshotError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    pub fn corrupt(&self, at: u64, what: impl Into<String>) -> SnapshotError {
        SnapshotError::Corrupt { offset: at, what: what.into() }
    }

    /// `len` (read at `at`) checked against its limit and against what is left of the file.
    pub fn check_len(&self, at: u64, len: u64, limit: u64, what: &str) -> Result<usize, SnapshotError> {
        if len > limit {
            return Err(self.corrupt(at, format!("{what} length {len} is over its limit of {limit}")));
        }
        if let Some(file_len) = self.len {
            if len > file_len.saturating_sub(self.offset) {
                return Err(SnapshotError::Truncated { offset: file_len });
            }
        }
        Ok(len as usize)
    }

    /// `len` bytes into a new vector (the length has passed `check_len`).
    pub fn bytes(&mut self, len: usize) -> Result<Vec<u8>, SnapshotError> {
        let mut out = vec![0u8; len];
        self.read(&mut out)?;
        Ok(out)
    }

    /// Reads past `len` bytes (checksumming them) without keeping them.
    pub fn skip(&mut self, mut len: usize) -> Result<(), SnapshotError> {
        let mut chunk = [0u8; 8192];
        while len > 0 {
            let n = len.min(chunk.len());
            self.read(&mut chunk[..n])?;
            len -= n;
        }
        Ok(())
    }

    /// Whether the input is at its end (reading one more byte finds none).
    pub fn at_end(&mut self) -> Result<bool, SnapshotError> {
        let mut probe = [0u8; 1];
        loop {
            match self.inner.read(&mut probe) {
                Ok(n) => return Ok(n == 0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(SnapshotError::Io { op: "read", source: e }),
            }
        }
    }
}

/// What a header holds besides the constants it is checked against.
pub struct Header {
    pub saved_at_ms: u64,
    pub meta: Vec<u8>,
}

/// Reads and checks the header: magic, format version, fingerprint, meta length.
pub fn read_header<R: Read>(input: &mut Input<R>) -> Result<Header, SnapshotError> {
    if input.array::<8>()? != MAGIC {
        return Err(SnapshotError::NotSnapshot);
    }
    let version = input.u32()?;
    if version != FORMAT_VERSION {
        return Err(SnapshotError::UnsupportedVersion { found: version, supported: FORMAT_VERSION });
    }
    let found = input.u64()?;
    if found != fingerprint() {
        return Err(SnapshotError::FingerprintMismatch { found, expected: fingerprint() });
    }
    let saved_at_ms = input.u64()?;
    let at = input.offset;
    let len = input.u32()? as u64;
    let len = input.check_len(at, len, SNAPSHOT_MAX_META_BYTES as u64, "meta")?;
    let meta = input.bytes(len)?;
    Ok(Header { saved_at_ms, meta })
}

/// One record as read (its tag already read).
pub struct Record {
    pub key: Vec<u8>,
    pub version: Option<u64>,
    /// Wall-clock ms; 0: no expiry.
    pub expiry_wall_ms: u64,
    /// `None`: the value was over the caller's `keep_limit`, and was read past.
    pub value: Option<Vec<u8>>,
    pub deps: Vec<Vec<u8>>,
}

/// Reads one record after its tag, checking every field. A value longer than `keep_limit`
/// (the store's `maxValueBytes`) is checksummed and read past, never allocated.
pub fn read_record<R: Read>(input: &mut Input<R>, keep_limit: u64) -> Result<Record, SnapshotError> {
    let key = read_key(input, "key")?;
    let at = input.offset;
    let flags = input.u8()?;
    if flags & !KNOWN_FLAGS != 0 {
        return Err(input.corrupt(at, format!("unknown record flags {flags:#04x}")));
    }
    let raw_version = input.u64()?;
    if flags & FLAG_VERSIONED == 0 && raw_version != 0 {
        return Err(input.corrupt(at, "a version on an unversioned record"));
    }
    let version = (flags & FLAG_VERSIONED != 0).then_some(raw_version);
    let expiry_wall_ms = input.u64()?;
    let at = input.offset;
    let len = input.u32()? as u64;
    let len = input.check_len(at, len, MAX_VALUE_BYTES_LIMIT, "value")?;
    let value = if len as u64 <= keep_limit {
        Some(input.bytes(len)?)
    } else {
        input.skip(len)?;
        None
    };
    let at = input.offset;
    let count = input.u16()? as u64;
    let count = input.check_len(at, count, MAX_DEPENDENCIES as u64, "dependency list")?;
    let mut deps = Vec::with_capacity(count);
    for _ in 0..count {
        deps.push(read_key(input, "dependency")?);
    }
    Ok(Record { key, version, expiry_wall_ms, value, deps })
}

/// A length-prefixed key, which must follow the key rule.
fn read_key<R: Read>(input: &mut Input<R>, what: &str) -> Result<Vec<u8>, SnapshotError> {
    let at = input.offset;
    let len = input.u8()? as u64;
    let len = input.check_len(at, len, MAX_KEY_BYTES as u64, what)?;
    let key = input.bytes(len)?;
    if let Err(problem) = validate_key(&key) {
        return Err(input.corrupt(at, format!("invalid {what}: {problem}")));
    }
    Ok(key)
}
