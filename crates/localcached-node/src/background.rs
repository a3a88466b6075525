//! Work off the JS thread that settles a Promise: `run_in_background` creates the promise,
//! runs the work on a thread of its own, and settles the promise back on the JS thread
//! through a thread-safe function (the mechanism `notify.rs` uses for removals). The
//! thread-safe function stays referenced while the work runs, so a pending save keeps the
//! process alive until it settles, as any pending I/O would.

use crate::env::{guard_silent, Env, JsError, JsResult};
use crate::sys::*;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;

/// What a background job settles its promise with: built on the JS thread from the job's
/// plain-Rust result.
pub type Settle = Box<dyn FnOnce(Env) -> JsResult<napi_value> + Send>;

/// The thread-safe function a job calls back through.
struct Completion(napi_threadsafe_function);

// SAFETY: N-API documents `napi_call_threadsafe_function` and
// `napi_release_threadsafe_function` as callable from any thread; they are all the job's
// thread does with the handle.
unsafe impl Send for Completion {}

/// Starts `work` on a new thread named `name`; returns the promise it settles: resolved
/// with what `Ok(settle)` builds, rejected with the coded error of an `Err` (or of a panic,
/// as `Internal`).
pub fn run_in_background(env: Env, name: &str, work: impl FnOnce() -> Result<Settle, JsError> + Send + 'static) -> JsResult<napi_value> {
    let mut deferred = null_mut();
    let mut promise = null_mut();
    // SAFETY: on the JS thread of `env` (inside a callback); both out-pointers are valid.
    let status = unsafe { napi_create_promise(env.0, &mut deferred, &mut promise) };
    if status != NAPI_OK {
        return Err(JsError::new("Internal", format!("napi_create_promise failed with status {status}")));
    }
    let resource_name = env.string(name.as_bytes())?;
    let mut tsfn = null_mut();
    // SAFETY: on the JS thread; no JS function (null) because `settle` does the work; the
    // context is the deferred, which only `settle` (on this JS thread) uses, once.
    let status = unsafe {
        napi_create_threadsafe_function(env.0, null_mut(), null_mut(), resource_name, 0, 1, null_mut(), None, deferred.cast(), Some(settle), &mut tsfn)
    };
    if status != NAPI_OK {
        return Err(JsError::new("Internal", format!("napi_create_threadsafe_function failed with status {status}")));
    }
    let completion = Completion(tsfn);
    let spawned = std::thread::Builder::new().name(name.into()).spawn(move || {
        let completion = completion;
        let outcome: Result<Settle, JsError> = catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
            let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
            Err(JsError::new("Internal", format!("internal error in localcached-native: {}", what.unwrap_or_else(|| "unknown panic".into()))))
        });
        let data = Box::into_raw(Box::new(outcome)) as *mut c_void;
        // SAFETY: the function is live until the release below, the one release of this
        // thread's count; `data` is a leaked Box that `settle` takes back.
        let status = unsafe { napi_call_threadsafe_function(completion.0, data, NAPI_TSFN_BLOCKING) };
        if status != NAPI_OK {
            // Closing (env teardown): `settle` will never see it; nothing is left to settle.
            // SAFETY: not queued, so this is the only owner of the Box.
            drop(unsafe { Box::from_raw(data as *mut Result<Settle, JsError>) });
        }
        // SAFETY: this thread's one count, released once, after its last call.
        let _ = unsafe { napi_release_threadsafe_function(completion.0, NAPI_TSFN_RELEASE) };
    });
    if let Err(e) = spawned {
        // The closure (and with it `completion`) is gone unrun; release the count it held.
        // SAFETY: no thread ever got the function; this is its one release.
        let _ = unsafe { napi_release_threadsafe_function(tsfn, NAPI_TSFN_RELEASE) };
        return Err(JsError::new("Internal", format!("could not start a background thread: {e}")));
    }
    Ok(promise)
}

/// Runs on the JS thread with a job's outcome: settles the promise.
///
/// # Safety
/// Called by N-API with the env (null at teardown), the deferred as context, and the Box
/// leaked by the job's thread as data.
unsafe extern "C" fn settle(env: napi_env, _js_callback: napi_value, context: *mut c_void, data: *mut c_void) {
    guard_silent(|| {
        // SAFETY: `data` is the Box leaked by the job's thread, delivered once.
        let outcome = unsafe { Box::from_raw(data as *mut Result<Settle, JsError>) };
        if env.is_null() {
            return; // Teardown: no JS left to settle the promise for.
        }
        let env = Env(env);
        let deferred = context as napi_deferred;
        let (value, resolve) = match (*outcome).and_then(|build| build(env)) {
            Ok(value) => (Some(value), true),
            Err(err) => (error_value(env, err), false),
        };
        let Some(value) = value else { return };
        // SAFETY: the deferred of this job's promise, settled exactly once (one outcome per
        // job), on its JS thread, with a value of this scope.
        let status = unsafe { if resolve { napi_resolve_deferred(env.0, deferred, value) } else { napi_reject_deferred(env.0, deferred, value) } };
        // Fails only when the env is terminating; there is no caller to tell.
        let _ = status;
    });
}

/// A JS Error with `code` for `err` (`None` when building it fails or an exception is
/// pending, which leaves nothing to reject with).
fn error_value(env: Env, err: JsError) -> Option<napi_value> {
    let JsError::Throw { code, message } = err else { return None };
    let code = env.string(code.as_bytes()).ok()?;
    let message = env.string(message.as_bytes()).ok()?;
    let mut out = null_mut();
    // SAFETY: handles of this scope, valid out-pointer.
    let status = unsafe { napi_create_error(env.0, code, message, &mut out) };
    (status == NAPI_OK).then_some(out)
}
