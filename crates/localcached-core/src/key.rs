//! The strict key rule: `svc:table:pk`, three non-empty segments of `[A-Za-z0-9._-]`
//! joined by `:`, at most [`MAX_KEY_BYTES`] bytes. Checked by hand: no regex, no allocation.

use crate::constants::{max_key_bytes, MAX_KEY_BYTES};
use std::fmt;

/// The rule, worded once for every error message and the docs.
pub const KEY_RULE: &str = concat!(
    "keys are svc:table:pk: exactly three non-empty segments of [A-Za-z0-9._-] joined by ':', at most ",
    max_key_bytes!(),
    " bytes"
);

/// Why a key was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyProblem {
    Empty,
    TooLong { len: usize },
    BadByte { offset: usize, byte: u8 },
    EmptySegment { segment: usize },
    SegmentCount { found: usize },
}

/// Where the two separators of a valid key are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyParts {
    pub svc_end: usize,
    pub table_end: usize,
}

impl KeyParts {
    pub fn svc<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        &key[..self.svc_end]
    }
    pub fn table<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        &key[self.svc_end + 1..self.table_end]
    }
    pub fn pk<'k>(&self, key: &'k [u8]) -> &'k [u8] {
        &key[self.table_end + 1..]
    }
}

#[inline]
pub fn is_segment_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-'
}

/// Validates a key in one pass and returns where its separators are.
pub fn validate_key(key: &[u8]) -> Result<KeyParts, KeyProblem> {
    if key.is_empty() {
        return Err(KeyProblem::Empty);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyProblem::TooLong { len: key.len() });
    }
    let mut seps = [0usize; 2];
    let mut found = 0usize;
    let mut segment_start = 0usize;
    for (offset, &byte) in key.iter().enumerate() {
        if byte == b':' {
            if offset == segment_start {
                return Err(KeyProblem::EmptySegment { segment: found });
            }
            if found < 2 {
                seps[found] = offset;
            }
            found += 1;
            segment_start = offset + 1;
        } else if !is_segment_byte(byte) {
            return Err(KeyProblem::BadByte { offset, byte });
        }
    }
    if found != 2 {
        return Err(KeyProblem::SegmentCount { found: found + 1 });
    }
    if segment_start == key.len() {
        return Err(KeyProblem::EmptySegment { segment: 2 });
    }
    Ok(KeyParts { svc_end: seps[0], table_end: seps[1] })
}

/// Writes `svc:table:pk` into `out` and validates the result. Each part must itself be
/// a single segment, so a part that contains `:` is rejected rather than re-split.
pub fn join_key<'o>(
    svc: &[u8],
    table: &[u8],
    pk: &[u8],
    out: &'o mut [u8; MAX_KEY_BYTES],
) -> Result<&'o [u8], KeyProblem> {
    let len = svc.len() + table.len() + pk.len() + 2;
    if len > MAX_KEY_BYTES {
        return Err(KeyProblem::TooLong { len });
    }
    let mut at = 0;
    for (i, part) in [svc, table, pk].into_iter().enumerate() {
        if part.is_empty() {
            return Err(KeyProblem::EmptySegment { segment: i });
        }
        if let Some(pos) = part.iter().position(|&b| !is_segment_byte(b)) {
            return Err(KeyProblem::BadByte { offset: at + pos, byte: part[pos] });
        }
        out[at..at + part.len()].copy_from_slice(part);
        at += part.len();
        if i < 2 {
            out[at] = b':';
            at += 1;
        }
    }
    Ok(&out[..len])
}

const SEGMENT_NAMES: [&str; 3] = ["svc", "table", "pk"];

impl fmt::Display for KeyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            KeyProblem::Empty => write!(f, "the key is empty"),
            KeyProblem::TooLong { len } => write!(f, "it is {len} bytes long"),
            KeyProblem::BadByte { offset, byte } if byte.is_ascii_graphic() || byte == b' ' => {
                write!(f, "byte {offset} is '{}', which is not allowed", byte as char)
            }
            KeyProblem::BadByte { offset, byte } => {
                write!(f, "byte {offset} is 0x{byte:02x}, which is not allowed")
            }
            KeyProblem::EmptySegment { segment } => {
                write!(f, "its {} segment is empty", SEGMENT_NAMES.get(segment).unwrap_or(&"extra"))
            }
            KeyProblem::SegmentCount { found } => write!(f, "it has {found} segments, not 3"),
        }
    }
}

/// A printable, bounded rendering of a rejected key for error messages.
pub fn describe_key(key: &[u8]) -> String {
    const SHOWN: usize = 120;
    let shown = &key[..key.len().min(SHOWN)];
    let mut out: String = String::from_utf8_lossy(shown).escape_debug().collect();
    if key.len() > SHOWN {
        out.push_str(&format!("… ({} bytes)", key.len()));
    }
    out
}
