//! The native state behind one JS `NativeStore` object, and its lifetime: closed by
//! `close()`, by the garbage collector (finalizer) or by the environment's teardown
//! (cleanup hook, e.g. a terminated worker), whichever comes first; the others then
//! find it already shut down.

use crate::env::{Env, JsError, JsResult};
use crate::notify::Notifier;
use crate::sweeper::Sweeper;
use crate::sys::*;
use localcached_core::Store;
use std::os::raw::c_void;
use std::sync::Arc;

pub struct StoreHandle {
    pub store: Arc<Store>,
    notifier: Option<Notifier>,
    sweeper: Option<Sweeper>,
    scratch: Option<Scratch>,
    closed: bool,
    env: napi_env,
    hook_registered: bool,
}

/// A JS Buffer we copy get results into, kept alive by a strong reference.
struct Scratch {
    reference: napi_ref,
    data: *mut u8,
    len: usize,
}

impl StoreHandle {
    pub fn new(env: Env, store: Arc<Store>, notifier: Notifier, sweeper: Option<Sweeper>) -> StoreHandle {
        StoreHandle { store, notifier: Some(notifier), sweeper, scratch: None, closed: false, env: env.0, hook_registered: false }
    }

    pub fn check_open(&self) -> JsResult<()> {
        if self.closed {
            return Err(JsError::new("Closed", "this NativeStore is closed; create a new one"));
        }
        Ok(())
    }

    /// Where get may copy a value, and how many bytes fit.
    pub fn scratch(&self) -> Option<(*mut u8, usize)> {
        self.scratch.as_ref().map(|s| (s.data, s.len))
    }

    /// # Safety
    /// `data`/`len` must describe `buffer`'s bytes; the caller guarantees the buffer is
    /// never detached (the TS class keeps it private).
    pub unsafe fn set_scratch(&mut self, env: Env, buffer: napi_value, data: *mut u8, len: usize) -> JsResult<()> {
        let mut reference = std::ptr::null_mut();
        if napi_create_reference(env.0, buffer, 1, &mut reference) != NAPI_OK {
            return Err(JsError::new("Internal", "could not keep the scratch buffer alive"));
        }
        self.release_scratch();
        self.scratch = Some(Scratch { reference, data, len });
        Ok(())
    }

    fn release_scratch(&mut self) {
        if let Some(scratch) = self.scratch.take() {
            // SAFETY: the reference was created in this env, on this thread, and is
            // deleted exactly once (it was just taken out of the Option).
            unsafe { napi_delete_reference(self.env, scratch.reference) };
        }
    }

    /// Stops the sweeper, releases the notifier and the scratch buffer, and frees every
    /// entry. Idempotent.
    pub fn shutdown(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        if let Some(mut sweeper) = self.sweeper.take() {
            sweeper.stop();
        }
        if let Some(notifier) = self.notifier.take() {
            // SAFETY: the sweeper thread, the only other user of the notifier, is joined.
            unsafe { notifier.release() };
        }
        self.release_scratch();
        self.store.set_recording(false);
        self.store.clear();
    }

    /// Ties the handle's lifetime to the environment: teardown shuts it down.
    ///
    /// # Safety
    /// `raw` must be this handle's stable heap address (the Box given to `napi_wrap`).
    pub unsafe fn register_cleanup(&mut self, raw: *mut StoreHandle) {
        if napi_add_env_cleanup_hook(self.env, Some(cleanup_hook), raw as *mut c_void) == NAPI_OK {
            self.hook_registered = true;
        }
    }
}

/// Environment teardown (process exit, worker termination): shut down now, while N-API
/// calls are still allowed. The finalizer frees the handle itself afterwards.
unsafe extern "C" fn cleanup_hook(arg: *mut c_void) {
    crate::env::guard_silent(|| {
        // SAFETY: `arg` is the live Box registered in `register_cleanup`; the finalizer,
        // the only code that frees it, removes this hook first or sees it already ran.
        let handle = &mut *(arg as *mut StoreHandle);
        handle.hook_registered = false;
        handle.shutdown();
    });
}

/// The garbage collector dropped the JS object (or the env is finalizing it).
pub unsafe extern "C" fn finalize_handle(env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    crate::env::guard_silent(|| {
        // SAFETY: `data` is the Box leaked into napi_wrap; N-API finalizes it exactly once.
        let mut handle = Box::from_raw(data as *mut StoreHandle);
        handle.shutdown();
        if handle.hook_registered {
            napi_remove_env_cleanup_hook(env, Some(cleanup_hook), data);
        }
    });
}
