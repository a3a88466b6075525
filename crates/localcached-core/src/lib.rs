//! localcached-core: a sharded, byte-bounded cache store (SIEVE eviction) with TTLs, typed removal causes,
//! a bounded removal hand-off and binary stats. Pure `std`; knows nothing of Node.

#![forbid(unsafe_code)]

pub mod cause;
pub mod clock;
pub mod constants;
pub mod deps;
pub mod error;
mod expiry;
mod groups;
pub mod hash;
mod index;
pub mod key;
pub mod removal;
mod shard;
pub mod snapshot;
pub mod stats;
pub mod store;

pub use cause::RemovalCause;
pub use clock::Clock;
pub use error::StoreError;
pub use key::{validate_key, KeyParts, KeyProblem, KEY_RULE};
pub use removal::{RemovalRecord, RemovalSink};
pub use stats::Stats;
pub use store::{Lookup, Store, StoreOptions};
