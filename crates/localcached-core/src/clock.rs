//! Time for TTLs. Injected so that tests (ours and users') move it by hand and never sleep.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

#[derive(Debug)]
pub enum Clock {
    /// Monotonic milliseconds since the store was created.
    System { origin: Instant },
    /// Milliseconds that move only when `advance` is called.
    Manual { now_ms: AtomicU64 },
}

impl Clock {
    pub fn system() -> Self {
        Clock::System { origin: Instant::now() }
    }

    pub fn manual() -> Self {
        Clock::Manual { now_ms: AtomicU64::new(0) }
    }

    #[inline]
    pub fn now_ms(&self) -> u64 {
        match self {
            Clock::System { origin } => origin.elapsed().as_millis() as u64,
            Clock::Manual { now_ms } => now_ms.load(Ordering::Acquire),
        }
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, Clock::Manual { .. })
    }

    /// Moves a manual clock forward; returns false for the system clock.
    pub fn advance(&self, ms: u64) -> bool {
        match self {
            Clock::System { .. } => false,
            Clock::Manual { now_ms } => {
                now_ms.fetch_add(ms, Ordering::AcqRel);
                true
            }
        }
    }
}
