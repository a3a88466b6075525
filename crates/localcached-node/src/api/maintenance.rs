//! Upkeep of a store: `sweep`, `advanceClock`, `setRecording`, `drainRemovals`,
//! `statsBinary` and `close`.

use super::Args;
use crate::args::read_integer;
use crate::env::{Env, JsError, JsResult};
use crate::handle::Handle;
use crate::removals::drain_to_js;
use crate::sys::*;
use localcached_core::constants::MAX_TTL_MS;

/// `sweep()`: removes expired entries now; returns how many.
pub fn sweep(env: Env, handle: &Handle, _args: &Args) -> JsResult<napi_value> {
    env.double(handle.store.sweep() as f64)
}

/// `advanceClock(ms)`: moves a manual clock forward.
pub fn advance_clock(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let ms = read_integer(env, args[0], "ms", 0, MAX_TTL_MS)?;
    if !handle.store.advance_clock(ms) {
        return Err(JsError::bad_argument("advanceClock needs a store created with clock: 'manual'"));
    }
    env.undefined()
}

/// `setRecording(on)`: whether this handle's sink records removals for `drainRemovals`.
pub fn set_recording(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let on = env.bool(args[0])?.ok_or_else(|| JsError::bad_argument("setRecording takes a boolean"))?;
    handle.store.set_sink_active(&handle.sink, on);
    env.undefined()
}

/// `drainRemovals()`: the removals queued for this handle (see `removals.rs`).
pub fn drain_removals(env: Env, handle: &Handle, _args: &Args) -> JsResult<napi_value> {
    drain_to_js(env, &handle.sink)
}

/// `statsBinary()`: the store's stats, encoded by the core.
pub fn stats_binary(env: Env, handle: &Handle, _args: &Args) -> JsResult<napi_value> {
    env.buffer_copy(&handle.store.stats().encode())
}

/// `close()`: shuts the store down (see `Handle::shutdown`); idempotent, so it also runs
/// on a closed handle.
pub fn close(env: Env, handle: &Handle, _args: &Args) -> JsResult<napi_value> {
    handle.shutdown();
    env.undefined()
}
