//! `saveSnapshot(path, meta?)` and `loadSnapshot(path, maxAgeMs?)`: each runs on a thread
//! of its own (see `background.rs`) and returns a Promise, so the JS thread keeps serving
//! the store meanwhile. The thread holds its own `Arc` of the store; closing the handle
//! cancels a running save (it rejects with SnapshotIo and the old file stays). Two saves of
//! one store run one after the other (the core's snapshot lock): the second waits.

use super::Args;
use crate::args::{read_integer, read_string};
use crate::background::{run_in_background, Settle};
use crate::env::{Env, JsError, JsResult};
use crate::handle::Handle;
use crate::priority::lower_current_thread;
use crate::sys::*;
use localcached_core::constants::{MAX_TTL_MS, SNAPSHOT_MAX_META_BYTES};
use localcached_core::snapshot::{self, LoadOptions, SaveOptions, SnapshotError};
use std::path::PathBuf;
use std::sync::Arc;

impl From<SnapshotError> for JsError {
    fn from(err: SnapshotError) -> JsError {
        JsError::new(err.code(), err.to_string())
    }
}

fn read_path(env: Env, value: napi_value) -> JsResult<PathBuf> {
    let path = String::from_utf8(read_string(env, value, "path")?).map_err(|_| JsError::bad_argument("path must be valid UTF-8"))?;
    if path.is_empty() || path.contains('\0') {
        return Err(JsError::bad_argument("path must be a non-empty string without NUL"));
    }
    Ok(PathBuf::from(path))
}

/// `saveSnapshot(path, meta?, idle?)` → `Promise<{ entries, bytes }>`. `idle` (default true)
/// runs the save at the lowest CPU priority; false runs it at normal priority, for a save that
/// serves nobody meanwhile and must finish (a daemon's save at shutdown on a busy host).
pub fn save_snapshot(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let path = read_path(env, args[0])?;
    let meta = if env.type_of(args[1])? == NAPI_UNDEFINED {
        Vec::new()
    } else {
        // SAFETY: copied at once, with no call that can run JS in between.
        let bytes = unsafe { env.uint8_array(args[1])? }.ok_or_else(|| JsError::bad_argument("meta must be a Buffer or Uint8Array"))?;
        if bytes.len() > SNAPSHOT_MAX_META_BYTES {
            return Err(JsError::bad_argument(format!("meta must be at most {SNAPSHOT_MAX_META_BYTES} bytes")));
        }
        bytes.to_vec()
    };
    let idle = match env.type_of(args[2])? {
        NAPI_UNDEFINED => true,
        _ => env.bool(args[2])?.ok_or_else(|| JsError::bad_argument("idle must be a boolean"))?,
    };
    let store = Arc::clone(&handle.store);
    let cancel = handle.snapshot_cancel();
    run_in_background(env, "localcached-snapshot-save", move || {
        if idle {
            lower_current_thread();
        }
        let report = snapshot::save(&store, &path, &SaveOptions { meta: &meta, now_wall_ms: None, cancel: Some(&cancel) })?;
        let settle: Settle = Box::new(move |env: Env| {
            let object = env.object()?;
            env.set_named(object, c"entries", env.double(report.entries as f64)?)?;
            env.set_named(object, c"bytes", env.double(report.bytes as f64)?)?;
            Ok(object)
        });
        Ok(settle)
    })
}

/// `loadSnapshot(path, maxAgeMs?)` → `Promise<{ loaded, skippedExpired, skippedOverBudget,
/// savedAtMs, meta }>`, into this store, which must be empty.
pub fn load_snapshot(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let path = read_path(env, args[0])?;
    let max_age_ms = match env.type_of(args[1])? {
        NAPI_UNDEFINED => None,
        _ => Some(read_integer(env, args[1], "maxAgeMs", 0, MAX_TTL_MS)?),
    };
    let store = Arc::clone(&handle.store);
    run_in_background(env, "localcached-snapshot-load", move || {
        let report = snapshot::load(&store, &path, &LoadOptions { max_age_ms, now_wall_ms: None })?;
        let settle: Settle = Box::new(move |env: Env| {
            let object = env.object()?;
            env.set_named(object, c"loaded", env.double(report.loaded as f64)?)?;
            env.set_named(object, c"skippedExpired", env.double(report.skipped_expired as f64)?)?;
            env.set_named(object, c"skippedOverBudget", env.double(report.skipped_over_budget as f64)?)?;
            env.set_named(object, c"savedAtMs", env.double(report.saved_at_ms as f64)?)?;
            env.set_named(object, c"meta", env.buffer_copy(&report.meta)?)?;
            Ok(object)
        });
        Ok(settle)
    })
}
