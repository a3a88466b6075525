//! The removal hand-off: evictions and expiries wait here, key and cause, until the JS side
//! drains them. Bounded, and never silent: records that do not fit are counted and the
//! count is reported once as an overflow.

use crate::cause::RemovalCause;
use crate::constants::{MAX_KEY_BYTES, REMOVAL_QUEUE_RETAINED};
use std::collections::VecDeque;

/// A key copied inline so that queueing a record allocates nothing once the ring has grown.
#[derive(Clone)]
pub struct RemovalRecord {
    key: [u8; MAX_KEY_BYTES],
    key_len: u8,
    pub cause: RemovalCause,
}

impl RemovalRecord {
    pub fn key(&self) -> &[u8] {
        &self.key[..self.key_len as usize]
    }
}

pub struct RemovalQueue {
    records: VecDeque<RemovalRecord>,
    capacity: usize,
    dropped: u64,
}

impl RemovalQueue {
    pub fn new(capacity: usize) -> Self {
        RemovalQueue { records: VecDeque::new(), capacity, dropped: 0 }
    }

    /// Queues a record; returns false (and counts it) when the queue is full.
    pub fn push(&mut self, key: &[u8], cause: RemovalCause) -> bool {
        if self.records.len() >= self.capacity {
            self.dropped += 1;
            return false;
        }
        let mut record = RemovalRecord { key: [0; MAX_KEY_BYTES], key_len: key.len() as u8, cause };
        record.key[..key.len()].copy_from_slice(key);
        self.records.push_back(record);
        true
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty() && self.dropped == 0
    }

    /// Hands every queued record to `each` in order, then returns how many were dropped since
    /// the last drain (and resets that count).
    pub fn drain(&mut self, mut each: impl FnMut(&RemovalRecord)) -> u64 {
        for record in self.records.drain(..) {
            each(&record);
        }
        if self.records.capacity() > REMOVAL_QUEUE_RETAINED {
            // A burst grew the ring; give the memory back rather than hold it forever.
            self.records.shrink_to(REMOVAL_QUEUE_RETAINED);
        }
        std::mem::take(&mut self.dropped)
    }

    pub fn clear(&mut self) {
        self.records = VecDeque::new();
        self.dropped = 0;
    }
}

/// One observer's removal hand-off. A store may have several (handles of a shared store in
/// different threads); each active sink receives every reported removal.
pub struct RemovalSink {
    queue: std::sync::Mutex<RemovalQueue>,
    active: std::sync::atomic::AtomicBool,
}

impl RemovalSink {
    pub fn new() -> RemovalSink {
        RemovalSink { queue: std::sync::Mutex::new(RemovalQueue::new(crate::constants::REMOVAL_QUEUE_CAPACITY)), active: Default::default() }
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, RemovalQueue> {
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn is_active(&self) -> bool {
        self.active.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Starts or stops receiving removals; stopping discards what was queued.
    pub fn set_active(&self, on: bool) {
        self.active.store(on, std::sync::atomic::Ordering::Release);
        if !on {
            self.queue().clear();
        }
    }

    pub fn push(&self, key: &[u8], cause: RemovalCause) {
        if self.is_active() {
            self.queue().push(key, cause);
        }
    }

    pub fn pending(&self) -> bool {
        !self.queue().is_empty()
    }

    /// Hands every queued record to `each`; returns how many were dropped by overflow.
    pub fn drain(&self, each: impl FnMut(&RemovalRecord)) -> u64 {
        self.queue().drain(each)
    }
}

impl Default for RemovalSink {
    fn default() -> Self {
        RemovalSink::new()
    }
}
