//! `createStore(options, onRemovals)` and `openStore(name, options, onRemovals)`: each
//! builds (or joins) a store and returns an object of functions bound to it (see
//! `handle.rs` for why functions rather than a class).
//!
//! Every store function enters through one native callback, `call_store_function`, which
//! recovers the function's handle and operation, checks the handle is open, and runs the
//! operation under `guard`. The operations (`reads`, `writes`, `batches`, `scopes`,
//! `maintenance`, `snapshot`, `runs`) are safe functions that read their arguments, call the core and convert
//! the result; `binding.d.ts` types them all.
//!
//! The rule for bytes borrowed from JS (value arguments, `mgetPacked`'s `out`): no call
//! that can run JS is made while they are held. Reading or setting an array element or an
//! object property can (getters, setters, proxies), so values are borrowed last, after
//! every other argument, and used only until the store call (see `args::read_value`).

mod batches;
mod maintenance;
mod options;
mod reads;
mod runs;
mod scopes;
mod snapshot;
mod writes;

pub use reads::{READ_IN_OVERFLOW, READ_MISS, READ_MISS_EXPIRED};

use crate::env::{call_args, guard, guard_silent, Env, JsError, JsResult};
use crate::handle::Handle;
use crate::limits::MAX_STORE_NAME_BYTES;
use crate::notify::Notifier;
use crate::shared;
use crate::sweeper::Sweeper;
use crate::sys::*;
use localcached_core::Store;
use options::read_options;
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::null_mut;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Most arguments a store function reads; missing ones read as `undefined`.
const MAX_ARGS: usize = 8;

/// The arguments of a call to a store function.
pub type Args = [napi_value; MAX_ARGS];

/// What a store function does, given the call's env, the store's handle and the arguments.
type Op = fn(Env, &Handle, &Args) -> JsResult<napi_value>;

/// The functions of a store, each throwing `Closed` once the store is closed.
const OPS: [(&CStr, Op); 33] = [
    (c"setScratch", reads::set_scratch),
    (c"get", reads::get),
    (c"getInto", reads::get_into),
    (c"noop", reads::noop),
    (c"getWithMeta", reads::get_with_meta),
    (c"has", reads::has),
    (c"exists", reads::exists),
    (c"scan", reads::scan),
    (c"set", writes::set),
    (c"tableChangedUpsert", writes::table_changed_upsert),
    (c"setIf", writes::set_if),
    (c"incr", writes::incr),
    (c"incrText", writes::incr_text),
    (c"cas", writes::cas),
    (c"expire", writes::expire),
    (c"delete", writes::delete),
    (c"invalidate", writes::invalidate),
    (c"mgetPacked", batches::mget_packed),
    (c"mset", batches::mset),
    (c"getRun", runs::get_run),
    (c"putRun", runs::put_run),
    (c"mdel", batches::mdel),
    (c"invalidateTable", scopes::invalidate_table),
    (c"invalidateService", scopes::invalidate_service),
    (c"invalidatePrefix", scopes::invalidate_prefix),
    (c"clear", scopes::clear),
    (c"sweep", maintenance::sweep),
    (c"advanceClock", maintenance::advance_clock),
    (c"setRecording", maintenance::set_recording),
    (c"drainRemovals", maintenance::drain_removals),
    (c"statsBinary", maintenance::stats_binary),
    (c"saveSnapshot", snapshot::save_snapshot),
    (c"loadSnapshot", snapshot::load_snapshot),
];

/// What the data pointer of one store function owns: a strong count of the store's
/// handle, and the operation the function runs.
struct StoreFunction {
    handle: Rc<Handle>,
    op: Op,
    /// Whether `op` runs on a closed handle too (only `close`, which is idempotent).
    runs_when_closed: bool,
}

/// The native callback of every store function.
///
/// # Safety
/// Called by N-API on the JS thread, for a call to a function made by `bound_function`.
unsafe extern "C" fn call_store_function(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<MAX_ARGS>(env, info)?;
        // SAFETY: the data of a function made by `bound_function` is a leaked
        // `Box<StoreFunction>` that only the function's finalizer frees, and V8 never
        // finalizes a function while a call to it is running.
        let function = unsafe { &*(call.data as *const StoreFunction) };
        if !function.runs_when_closed {
            function.handle.check_open()?;
        }
        (function.op)(env, &function.handle, &call.args)
    })
}

/// Finalizer of each store function: frees its `StoreFunction`, and with it one strong
/// count of the handle (the last one shuts the store down).
///
/// # Safety
/// Called by N-API once, with the data `bound_function` attached.
unsafe extern "C" fn release_store_function(_env: napi_env, data: *mut c_void, _hint: *mut c_void) {
    guard_silent(|| {
        // SAFETY: `data` is the Box leaked by `bound_function`; its finalizer runs once.
        drop(unsafe { Box::from_raw(data as *mut StoreFunction) });
    });
}

/// Creates a function running `op` whose data is a leaked `StoreFunction` holding a
/// strong count of `handle`, freed by its finalizer.
fn bound_function(env: Env, name: &CStr, op: Op, runs_when_closed: bool, handle: &Rc<Handle>) -> JsResult<napi_value> {
    let data = Box::into_raw(Box::new(StoreFunction { handle: Rc::clone(handle), op, runs_when_closed })) as *mut c_void;
    let mut function = null_mut();
    // SAFETY: `name` is NUL-terminated; `data` is what `call_store_function` expects.
    let mut status = unsafe { napi_create_function(env.0, name.as_ptr(), usize::MAX, Some(call_store_function), data, &mut function) };
    if status == NAPI_OK {
        // SAFETY: attaches the release of `data` to the function just created in this env.
        status = unsafe { napi_add_finalizer(env.0, function, data, Some(release_store_function), null_mut(), null_mut()) };
        if status == NAPI_OK {
            return Ok(function);
        }
    }
    // SAFETY: no finalizer owns `data`, and the function (if created) is never handed to
    // JS, so nothing calls it: take the Box back.
    drop(unsafe { Box::from_raw(data as *mut StoreFunction) });
    Err(JsError::new("Internal", format!("could not create the store function {name:?} (N-API status {status})")))
}

/// Registers the handle's clean-up and returns the object of functions bound to it.
fn bound_store(env: Env, handle: Rc<Handle>) -> JsResult<napi_value> {
    handle.register_cleanup()?;
    let object = env.object()?;
    for (name, op) in OPS {
        env.set_named(object, name, bound_function(env, name, op, false, &handle)?)?;
    }
    env.set_named(object, c"close", bound_function(env, c"close", maintenance::close, true, &handle)?)?;
    // `handle` (this Rc) drops here; the functions hold the remaining counts.
    Ok(object)
}

fn check_on_removals(env: Env, on_removals: napi_value) -> JsResult<()> {
    if env.type_of(on_removals)? != NAPI_FUNCTION {
        return Err(JsError::bad_argument("onRemovals must be a function"));
    }
    Ok(())
}

/// A thread-safe function that calls `on_removals` with the removals queued for `sink`.
fn notifier(env: Env, on_removals: napi_value, sink: &Arc<localcached_core::RemovalSink>) -> JsResult<Notifier> {
    check_on_removals(env, on_removals)?;
    // SAFETY: on the JS thread of `env` (inside a callback), and `on_removals` is a function.
    unsafe { Notifier::create(env, on_removals, Arc::clone(sink)) }
}

/// `createStore(options, onRemovals)` → `{ get, set, … }`
///
/// # Safety
/// Called by N-API on the JS thread with the env and info of a call.
pub unsafe extern "C" fn create_store(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<2>(env, info)?;
        let options = read_options(env, call.args[0])?;
        check_on_removals(env, call.args[1])?;
        let store = Arc::new(Store::new(options.store)?);
        let sink = store.add_sink();
        let notifier = notifier(env, call.args[1], &sink)?;
        let sweeper = if options.sweep_interval_ms > 0 {
            let notifiers = Arc::new(Mutex::new(vec![notifier.clone()]));
            match Sweeper::start(Arc::clone(&store), Duration::from_millis(options.sweep_interval_ms), notifiers) {
                Ok(sweeper) => Some(sweeper),
                Err(e) => {
                    // SAFETY: no sweeper thread started, so nothing else can call the notifier.
                    unsafe { notifier.release() };
                    return Err(JsError::new("Internal", format!("could not start the sweeper thread: {e}")));
                }
            }
        } else {
            None
        };
        let handle = Handle::new(env, store, sink, notifier, sweeper, None);
        bound_store(env, handle)
    })
}

/// `openStore(name, options, onRemovals)` → the same functions as `createStore`, over the
/// process-wide store called `name` (created by the first opener, with its options).
///
/// # Safety
/// Called by N-API on the JS thread with the env and info of a call.
pub unsafe extern "C" fn open_store(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<3>(env, info)?;
        let name = env.string_owned(call.args[0])?.ok_or_else(|| JsError::bad_argument("name must be a string"))?;
        let name = String::from_utf8(name).map_err(|_| JsError::bad_argument("name must be valid UTF-8"))?;
        if name.is_empty() || name.len() > MAX_STORE_NAME_BYTES {
            return Err(JsError::bad_argument(format!("name must be 1 to {MAX_STORE_NAME_BYTES} bytes")));
        }
        let options = read_options(env, call.args[1])?;
        check_on_removals(env, call.args[2])?;
        let interval = (options.sweep_interval_ms > 0).then(|| Duration::from_millis(options.sweep_interval_ms));
        let store_options = options.store;
        let shared = match shared::open(&name, options.fingerprint, interval, || Store::new(store_options).map_err(|e| e.to_string())) {
            Ok(shared::Opened::Existing(s) | shared::Opened::Created(s)) => s,
            Err(message) => return Err(JsError::bad_argument(message)),
        };
        let store = Arc::clone(&shared.store);
        let sink = store.add_sink();
        let notifier = notifier(env, call.args[2], &sink).inspect_err(|_| store.remove_sink(&sink))?;
        shared.notifiers.lock().unwrap_or_else(|e| e.into_inner()).push(notifier.clone());
        let handle = Handle::new(env, store, sink, notifier, None, Some(shared));
        bound_store(env, handle)
    })
}
