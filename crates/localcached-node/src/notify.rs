//! Wakes the JS thread to drain removals queued off it (by the sweeper). Notifications
//! are coalesced: at most one is in flight, however many removals pile up meanwhile.

use crate::env::{guard_silent, Env};
use crate::removals::drain_to_js;
use crate::sys::*;
use localcached_core::{RemovalSink, Store};
use std::os::raw::c_void;
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// What the thread-safe function's context points at: the handle's own removal sink.
pub struct NotifyContext {
    pub store: Arc<Store>,
    pub sink: Arc<RemovalSink>,
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
    pub unsafe fn create(env: Env, callback: napi_value, store: Arc<Store>, sink: Arc<RemovalSink>) -> Result<Notifier, napi_status> {
        let context = Arc::new(NotifyContext { store, sink, queued: AtomicBool::new(false) });
        let raw_context = Arc::into_raw(Arc::clone(&context)) as *mut c_void;
        let name = env.string(b"localcached-removals").map_err(|_| NAPI_INVALID_ARG)?;
        let mut tsfn = null_mut();
        let status = napi_create_threadsafe_function(
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
        );
        if status != NAPI_OK {
            // The finalizer will never run; take back the reference we leaked for it.
            drop(Arc::from_raw(raw_context as *const NotifyContext));
            return Err(status);
        }
        napi_unref_threadsafe_function(env.0, tsfn);
        Ok(Notifier { tsfn, context })
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
                self.context.queued.store(false, Ordering::Release);
            }
        }
    }

    /// Releases the thread-safe function; pending calls are dropped.
    ///
    /// # Safety
    /// No thread may call `notify` after this.
    pub unsafe fn release(&self) {
        napi_release_threadsafe_function(self.tsfn, NAPI_TSFN_ABORT);
    }
}

unsafe extern "C" fn finalize_context(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    guard_silent(|| {
        // SAFETY: `data` is the Arc we leaked in `create`; this finalizer runs exactly once.
        drop(Arc::from_raw(data as *const NotifyContext));
    });
}

unsafe extern "C" fn call_js(env: napi_env, callback: napi_value, context: *mut c_void, _data: *mut c_void) {
    if env.is_null() {
        return; // The function is being torn down; there is no JS to call.
    }
    guard_silent(|| {
        // SAFETY: `context` is the NotifyContext kept alive until `finalize_context`,
        // which N-API runs only after the last call_js.
        let context = &*(context as *const NotifyContext);
        context.queued.store(false, Ordering::Release);
        let env = Env(env);
        let _ = &context.store;
        if let Ok(batch) = drain_to_js(env, &context.sink) {
            if let Ok(undefined) = env.undefined() {
                let mut ignored = null_mut();
                napi_call_function(env.0, undefined, callback, 1, &batch, &mut ignored);
            }
        }
    });
}
