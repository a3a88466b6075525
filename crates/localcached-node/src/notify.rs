//! Wakes the JS thread to drain removals queued off it (by the sweeper). Notifications
//! are coalesced: at most one is in flight, however many removals pile up meanwhile.

use crate::env::{guard_silent, Env, JsError, JsResult};
use crate::removals::drain_to_js;
use crate::sys::*;
use localcached_core::RemovalSink;
use std::os::raw::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the thread-safe function's context points at: the handle's own removal sink.
pub struct NotifyContext {
    pub sink: Arc<RemovalSink>,
    /// Whether a call is queued and not yet run, so at most one is.
    pub queued: AtomicBool,
}

#[derive(Clone)]
pub struct Notifier {
    tsfn: napi_threadsafe_function,
    context: Arc<NotifyContext>,
}

// SAFETY: N-API documents `napi_call_threadsafe_function` as callable from any thread;
// that is the only thing a Notifier does with the handle off the JS thread.
unsafe impl Send for Notifier {}

impl Notifier {
    /// Creates an unref'd thread-safe function around `callback`, so a pending sweep never
    /// keeps the process alive.
    ///
    /// # Safety
    /// Must be called on the JS thread of `env`, with `callback` a function handle.
    pub unsafe fn create(env: Env, callback: napi_value, sink: Arc<RemovalSink>) -> JsResult<Notifier> {
        let context = Arc::new(NotifyContext { sink, queued: AtomicBool::new(false) });
        let name = env.string(b"localcached-removals")?;
        let raw_context = Arc::into_raw(Arc::clone(&context)) as *mut c_void;
        let mut tsfn = null_mut();
        // SAFETY: on the JS thread of `env` with a function handle (the caller's guarantee);
        // `raw_context` is a leaked strong count that `finalize_context` takes back.
        let status = unsafe {
            napi_create_threadsafe_function(
                env.0,
                callback,
                null_mut(),
                name,
                0,
                1,
                raw_context,
                Some(finalize_context),
                raw_context,
                Some(call_js),
                &mut tsfn,
            )
        };
        if status != NAPI_OK {
            // SAFETY: the finalizer will never run; this takes back the count leaked for it.
            unsafe { drop(Arc::from_raw(raw_context as *const NotifyContext)) };
            return Err(JsError::new("Internal", format!("napi_create_threadsafe_function failed with status {status}")));
        }
        let notifier = Notifier { tsfn, context };
        // SAFETY: `tsfn` was just created in `env`, and this is its JS thread.
        let status = unsafe { napi_unref_threadsafe_function(env.0, tsfn) };
        if status != NAPI_OK {
            // A referenced function would keep the process alive; give it up instead.
            // SAFETY: nothing else has seen `tsfn`, so no thread can call it after this.
            unsafe { notifier.release() };
            return Err(JsError::new("Internal", format!("napi_unref_threadsafe_function failed with status {status}")));
        }
        Ok(notifier)
    }

    /// Whether two notifiers are the same thread-safe function.
    pub fn same(&self, other: &Notifier) -> bool {
        self.tsfn == other.tsfn
    }

    /// Asks the JS thread to drain its sink, if it has anything and no request is in flight.
    pub fn notify(&self) {
        if !self.context.sink.pending() {
            return;
        }
        if !self.context.queued.swap(true, Ordering::AcqRel) {
            // SAFETY: the handle stays valid until `release`, which happens only after the
            // sweeper thread (the only other caller) has been joined.
            let status = unsafe { napi_call_threadsafe_function(self.tsfn, null_mut(), NAPI_TSFN_NONBLOCKING) };
            if status != NAPI_OK {
                // Queue full or function closing: nothing is in flight, so a later sweep
                // may try again.
                self.context.queued.store(false, Ordering::Release);
            }
        }
    }

    /// Releases the thread-safe function; pending calls are dropped.
    ///
    /// # Safety
    /// No thread may call `notify` after this, and it is called once per function.
    pub unsafe fn release(&self) {
        // SAFETY: the caller guarantees this is the one release and no call follows it.
        let status = unsafe { napi_release_threadsafe_function(self.tsfn, NAPI_TSFN_ABORT) };
        // It fails only when the function is already closing (env teardown aborts every
        // thread-safe function first), and then there is nothing left to release.
        let _ = status;
    }
}

/// Finalizer of the thread-safe function: drops the context's leaked strong count.
///
/// # Safety
/// Called by N-API once, with the `data` given at creation.
unsafe extern "C" fn finalize_context(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    guard_silent(|| {
        // SAFETY: `data` is the Arc we leaked in `create`; this finalizer runs exactly once.
        unsafe { drop(Arc::from_raw(data as *const NotifyContext)) };
    });
}

/// Runs on the JS thread for each queued notification: drains the sink into `callback`.
///
/// # Safety
/// Called by N-API with the env (null at teardown), the function and the context given
/// at creation.
unsafe extern "C" fn call_js(env: napi_env, callback: napi_value, context: *mut c_void, _data: *mut c_void) {
    if env.is_null() {
        return; // The function is being torn down; there is no JS to call.
    }
    guard_silent(|| {
        // SAFETY: `context` is the NotifyContext kept alive until `finalize_context`,
        // which N-API runs only after the last call_js.
        let context = unsafe { &*(context as *const NotifyContext) };
        context.queued.store(false, Ordering::Release);
        let env = Env(env);
        // Building the batch fails only when V8 cannot allocate or the env is terminating;
        // the drained records are then lost, and there is no caller to report it to.
        let Ok(batch) = drain_to_js(env, &context.sink) else { return };
        let Ok(undefined) = env.undefined() else { return };
        let mut ignored = null_mut();
        // SAFETY: `callback` and `batch` are handles of this env's current scope; `argv`
        // points at one handle.
        let status = unsafe { napi_call_function(env.0, undefined, callback, 1, &batch, &mut ignored) };
        // If `callback` threw, the exception stays pending and Node reports it as
        // uncaught when this returns; there is no caller to hand the status to.
        let _ = status;
    });
}
