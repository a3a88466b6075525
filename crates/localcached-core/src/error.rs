//! Errors of the core, each with the stable code the JS side exposes as `err.code`.

use crate::key::{describe_key, KeyProblem, KEY_RULE};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    InvalidKey { key: String, problem: KeyProblem },
    ValueTooLarge { len: u64, limit: u64, why: ValueLimit },
    BadArgument(String),
    /// `incr` on a value that is not an ASCII decimal integer in the i64 range.
    NotAnInteger { value_preview: String },
    /// `incr` whose result would leave the allowed range; nothing was stored.
    Overflow { current: i64, delta: i64, limit: i64 },
    /// A versioned write older than the stored entry's version; the stored value stays.
    VersionConflict { stored: u64, attempted: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueLimit {
    /// Above `maxValueBytes`.
    MaxValueBytes,
    /// Key + value + overhead is above `maxBytes`: it could never be stored.
    Budget,
    /// Key + value + overhead is above the service's byte cap.
    ServiceCap,
}

impl StoreError {
    pub fn invalid_key(key: &[u8], problem: KeyProblem) -> Self {
        StoreError::InvalidKey { key: describe_key(key), problem }
    }

    pub fn code(&self) -> &'static str {
        match self {
            StoreError::InvalidKey { .. } => "InvalidKey",
            StoreError::ValueTooLarge { .. } => "ValueTooLarge",
            StoreError::BadArgument(_) => "BadArgument",
            StoreError::NotAnInteger { .. } => "NotAnInteger",
            StoreError::Overflow { .. } => "Overflow",
            StoreError::VersionConflict { .. } => "VersionConflict",
        }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::InvalidKey { key, problem } => {
                write!(f, "invalid key \"{key}\": {problem}; {KEY_RULE}")
            }
            StoreError::ValueTooLarge { len, limit, why: ValueLimit::MaxValueBytes } => write!(
                f,
                "value of {len} bytes is over maxValueBytes ({limit} bytes); nothing was stored"
            ),
            StoreError::ValueTooLarge { len, limit, why: ValueLimit::Budget } => write!(
                f,
                "entry of {len} bytes (key + value + per-entry overhead + its table's index record) can never fit in maxBytes ({limit} bytes); nothing was stored"
            ),
            StoreError::ValueTooLarge { len, limit, why: ValueLimit::ServiceCap } => write!(
                f,
                "entry of {len} bytes (key + value + per-entry overhead + its table's index record) can never fit in its service's cap ({limit} bytes); nothing was stored"
            ),
            StoreError::BadArgument(message) => f.write_str(message),
            StoreError::NotAnInteger { value_preview } => {
                write!(f, "value \"{value_preview}\" is not an integer: incr needs an ASCII decimal integer in the signed 64-bit range")
            }
            StoreError::Overflow { current, delta, limit } => write!(
                f,
                "incr of {current} by {delta} would leave the range -{limit}..={limit}; nothing was stored"
            ),
            StoreError::VersionConflict { stored, attempted } => write!(
                f,
                "write with version {attempted} refused: the stored entry has version {stored}; the stored value stays"
            ),
        }
    }
}

impl std::error::Error for StoreError {}
