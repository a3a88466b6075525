//! The removal hand-off as the store drives it: which sinks hear of removals, and whether
//! anyone listens at all (while nobody does, removals cost nothing to report).

use super::{lock, Store};
use crate::cause::RemovalCause;
use crate::removal::{RemovalRecord, RemovalSink};
use std::sync::atomic::Ordering;
use std::sync::Arc;

impl Store {
    /// Hands a removal to every active sink, if its cause is one that is reported.
    pub(super) fn report(&self, key: &[u8], cause: RemovalCause) {
        if cause.is_reported() && self.recording.load(Ordering::Relaxed) {
            self.own_sink.push(key, cause);
            for sink in lock(&self.sinks).iter() {
                sink.push(key, cause);
            }
        }
    }

    /// Turns the removal hand-off on or off. Off (the default) queues nothing, so a store
    /// nobody listens to pays nothing for it.
    pub fn set_recording(&self, on: bool) {
        self.own_sink.set_active(on);
        self.refresh_recording();
    }

    fn refresh_recording(&self) {
        let any = self.own_sink.is_active() || lock(&self.sinks).iter().any(|s| s.is_active());
        self.recording.store(any, Ordering::Relaxed);
    }

    pub fn removals_pending(&self) -> bool {
        self.own_sink.pending()
    }

    /// Hands every queued removal to `each`; returns how many were dropped by overflow.
    pub fn drain_removals(&self, each: impl FnMut(&RemovalRecord)) -> u64 {
        self.own_sink.drain(each)
    }

    /// Adds a sink of its own for another observer of this store (inactive until
    /// `set_sink_active`).
    pub fn add_sink(&self) -> Arc<RemovalSink> {
        let sink = Arc::new(RemovalSink::new());
        lock(&self.sinks).push(Arc::clone(&sink));
        sink
    }

    pub fn set_sink_active(&self, sink: &RemovalSink, on: bool) {
        sink.set_active(on);
        self.refresh_recording();
    }

    pub fn remove_sink(&self, sink: &Arc<RemovalSink>) {
        lock(&self.sinks).retain(|s| !Arc::ptr_eq(s, sink));
        self.refresh_recording();
    }
}
