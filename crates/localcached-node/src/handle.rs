//! The native state behind one store's JS functions, and its lifetime.
//!
//! Each exported function of a store is created with a data pointer to its own
//! `api::StoreFunction`, which holds a strong reference to the one shared `Handle`
//! (released by that function's finalizer), so a function can never outlive what it
//! points at, and calls need no `napi_unwrap`.
//! The store shuts down on `close()`, on environment teardown (cleanup hook, e.g. a
//! terminated worker), or when the last function is garbage-collected, whichever is first.

use crate::env::{Env, JsError, JsResult};
use crate::notify::Notifier;
use crate::shared::SharedStore;
use crate::sweeper::Sweeper;
use crate::sys::*;
use localcached_core::{RemovalSink, Store};
use std::cell::{Cell, RefCell};
use std::os::raw::c_void;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub struct Handle {
    pub store: Arc<Store>,
    /// This handle's removal hand-off (a shared store has one per handle).
    pub sink: Arc<RemovalSink>,
    notifier: RefCell<Option<Notifier>>,
    /// A private store's sweeper.
    sweeper: RefCell<Option<Sweeper>>,
    /// A shared store's registry entry: holding it keeps the store alive.
    shared: RefCell<Option<Arc<SharedStore>>>,
    scratch: Cell<Option<Scratch>>,
    closed: Cell<bool>,
    /// Set when the handle shuts down: a snapshot save still running stops (`api/snapshot.rs`).
    snapshot_cancel: Arc<AtomicBool>,
    hook_registered: Cell<bool>,
    env: napi_env,
}

/// A JS Buffer that get copies values into, kept alive by a strong reference. Values are
/// written at increasing offsets and each region is handed to JS once (as a Buffer view
/// that the caller then owns), exactly like Node's own small-Buffer pool.
#[derive(Clone, Copy)]
pub struct Scratch {
    reference: napi_ref,
    pub data: *mut u8,
    pub len: usize,
    pub cursor: usize,
}

impl Handle {
    pub fn new(env: Env, store: Arc<Store>, sink: Arc<RemovalSink>, notifier: Notifier, sweeper: Option<Sweeper>, shared: Option<Arc<SharedStore>>) -> Rc<Handle> {
        Rc::new(Handle {
            store,
            sink,
            notifier: RefCell::new(Some(notifier)),
            sweeper: RefCell::new(sweeper),
            shared: RefCell::new(shared),
            scratch: Cell::new(None),
            closed: Cell::new(false),
            snapshot_cancel: Arc::new(AtomicBool::new(false)),
            hook_registered: Cell::new(false),
            env: env.0,
        })
    }

    pub fn check_open(&self) -> JsResult<()> {
        if self.closed.get() {
            return Err(JsError::new("Closed", "this NativeStore is closed; create a new one"));
        }
        Ok(())
    }

    /// The flag a snapshot save of this handle checks between batches.
    pub fn snapshot_cancel(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.snapshot_cancel)
    }

    pub fn scratch(&self) -> Option<Scratch> {
        self.scratch.get()
    }

    pub fn advance_scratch(&self, to: usize) {
        if let Some(mut scratch) = self.scratch.get() {
            scratch.cursor = to;
            self.scratch.set(Some(scratch));
        }
    }

    /// Makes `buffer` the slab `get` copies values into, holding a reference that keeps it
    /// from being collected, and releases the previous one.
    ///
    /// # Safety
    /// `data`/`len` must describe `buffer`'s bytes, and the buffer must never be detached
    /// while it is the slab (the TS class keeps it private and never transfers it).
    pub unsafe fn set_scratch(&self, env: Env, buffer: napi_value, data: *mut u8, len: usize) -> JsResult<()> {
        let mut reference = std::ptr::null_mut();
        // SAFETY: `buffer` is a handle of the current call in `env`; `reference` is a valid
        // out-pointer.
        let status = unsafe { napi_create_reference(env.0, buffer, 1, &mut reference) };
        if status != NAPI_OK {
            return Err(JsError::new("Internal", format!("could not keep the scratch buffer alive (N-API status {status})")));
        }
        self.release_scratch();
        self.scratch.set(Some(Scratch { reference, data, len, cursor: 0 }));
        Ok(())
    }

    fn release_scratch(&self) {
        if let Some(scratch) = self.scratch.take() {
            // SAFETY: created in this env, on this thread; deleted once (taken out above).
            let status = unsafe { napi_delete_reference(self.env, scratch.reference) };
            // It fails only for a null env or reference, which these are not. Shutdown has
            // no caller to report to (it runs from close, a cleanup hook or a finalizer).
            debug_assert_eq!(status, NAPI_OK, "napi_delete_reference");
        }
    }

    /// Stops the sweeper, releases the notifier and the scratch buffer, and frees every
    /// entry (of a shared store: only once its last handle is shut down). Idempotent.
    pub fn shutdown(&self) {
        if self.closed.replace(true) {
            return;
        }
        // Before the entries are freed, so a running save sees it and keeps the old file.
        self.snapshot_cancel.store(true, Ordering::Release);
        if let Some(mut sweeper) = self.sweeper.borrow_mut().take() {
            sweeper.stop();
        }
        let shared = self.shared.borrow_mut().take();
        if let Some(notifier) = self.notifier.borrow_mut().take() {
            if let Some(shared) = &shared {
                // Out of the list first: the shared sweeper must never call it again.
                shared.notifiers.lock().unwrap_or_else(|e| e.into_inner()).retain(|n| !n.same(&notifier));
            }
            // SAFETY: no sweeper thread can reach this notifier any more (a private sweeper is
            // joined; a shared one dropped it from its list under the list's lock).
            unsafe { notifier.release() };
        }
        self.release_scratch();
        self.store.remove_sink(&self.sink);
        match shared {
            // Dropping the last reference stops the shared sweeper and frees the entries.
            Some(shared) => drop(shared),
            None => {
                self.store.clear();
            }
        }
    }

    /// Shuts the store down at environment teardown, while N-API calls are still allowed.
    pub fn register_cleanup(self: &Rc<Handle>) -> JsResult<()> {
        let raw = Rc::as_ptr(self) as *mut c_void;
        // SAFETY: `raw` stays valid until Drop, which removes the hook first.
        let status = unsafe { napi_add_env_cleanup_hook(self.env, Some(cleanup_hook), raw) };
        if status != NAPI_OK {
            return Err(JsError::new("Internal", format!("napi_add_env_cleanup_hook failed with status {status}")));
        }
        self.hook_registered.set(true);
        Ok(())
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown();
        if self.hook_registered.get() {
            // SAFETY: same env, function and argument as registered.
            let status = unsafe { napi_remove_env_cleanup_hook(self.env, Some(cleanup_hook), self as *mut Handle as *mut c_void) };
            // It fails only if the hook is not registered, which `hook_registered` rules
            // out; Drop cannot report an error either way.
            debug_assert_eq!(status, NAPI_OK, "napi_remove_env_cleanup_hook");
        }
    }
}

/// Environment cleanup hook: shuts the handle down while N-API calls are still allowed.
///
/// # Safety
/// Called by Node at env teardown with the `arg` given in `register_cleanup`.
unsafe extern "C" fn cleanup_hook(arg: *mut c_void) {
    crate::env::guard_silent(|| {
        // SAFETY: `arg` points at a live Handle: Drop removes this hook before freeing it.
        let handle = unsafe { &*(arg as *const Handle) };
        handle.hook_registered.set(false);
        handle.shutdown();
    });
}
