//! Errors of the core, each with the stable code the JS side exposes as `err.code`.

use crate::key::{describe_key, KeyProblem, KEY_RULE};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    InvalidKey { key: String, problem: KeyProblem },
    ValueTooLarge { len: u64, limit: u64, why: ValueLimit },
    BadArgument(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueLimit {
    /// Above `maxValueBytes`.
    MaxValueBytes,
    /// Key + value + overhead is above `maxBytes`: it could never be stored.
    Budget,
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
                "entry of {len} bytes (key + value + per-entry overhead) can never fit in maxBytes ({limit} bytes); nothing was stored"
            ),
            StoreError::BadArgument(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for StoreError {}
