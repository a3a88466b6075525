//! `createStore(options, onRemovals)`: builds a store and returns an object of functions
//! bound to it (see `handle.rs` for why functions rather than a class). Each function reads
//! its arguments, calls the core and converts the result; `binding.d.ts` types them all.

use crate::args::*;
use crate::env::{call_args, guard, Env, JsError, JsResult};
use crate::handle::{release_function_ref, Handle};
use crate::notify::Notifier;
use crate::removals::drain_to_js;
use crate::sweeper::Sweeper;
use crate::sys::*;
use localcached_core::constants::*;
use localcached_core::{Clock, Lookup, Store, StoreError, StoreOptions};
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::null_mut;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

/// Largest scratch slab: offsets and lengths are packed into one int32 as
/// `offset << 16 | length`, which stays a small integer (no heap number) below 32 KiB.
pub const MAX_SCRATCH_BYTES: usize = 32 * 1024;

type Callback = unsafe extern "C" fn(napi_env, napi_callback_info) -> napi_value;

/// The handle a store function was created with.
///
/// # Safety
/// `data` must be the pointer the function was created with: one strong count of a
/// `Handle`, released only by that function's finalizer, so it is alive during the call.
unsafe fn open_handle<'a>(data: *mut c_void) -> JsResult<&'a Handle> {
    let handle = &*(data as *const Handle);
    handle.check_open()?;
    Ok(handle)
}

fn read_options(env: Env, options: napi_value) -> JsResult<(StoreOptions, u64)> {
    let mut parsed = StoreOptions::default();
    let mut sweep_interval_ms = DEFAULT_SWEEP_INTERVAL_MS;
    if env.type_of(options)? == NAPI_UNDEFINED {
        return Ok((parsed, sweep_interval_ms));
    }
    if !is_object(env, options)? {
        return Err(JsError::bad_argument("options must be an object"));
    }
    if let Some(v) = option(env, options, c"maxBytes")? {
        parsed.max_bytes = read_integer(env, v, "maxBytes", 1, MAX_TTL_MS)?;
    }
    if let Some(v) = option(env, options, c"shards")? {
        parsed.shards = Some(read_integer(env, v, "shards", 1, MAX_SHARDS as u64)? as usize);
    }
    if let Some(v) = option(env, options, c"maxValueBytes")? {
        parsed.max_value_bytes = read_integer(env, v, "maxValueBytes", 1, MAX_VALUE_BYTES_LIMIT)?;
    }
    if let Some(v) = option(env, options, c"sweepIntervalMs")? {
        sweep_interval_ms = read_integer(env, v, "sweepIntervalMs", 0, 24 * 3600 * 1000)?;
    }
    if let Some(v) = option(env, options, c"clock")? {
        let mut buf = [0u8; 16];
        parsed.clock = match env.string_into(v, &mut buf)? {
            Some(6) if &buf[..6] == b"system" => Clock::system(),
            Some(6) if &buf[..6] == b"manual" => Clock::manual(),
            _ => return Err(JsError::bad_argument("clock must be 'system' or 'manual'")),
        };
    }
    Ok((parsed, sweep_interval_ms))
}

/// `createStore(options, onRemovals)` → `{ get, set, … }`
pub unsafe extern "C" fn create_store(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<2>(env, info)?;
        let (options, sweep_interval_ms) = read_options(env, call.args[0])?;
        if env.type_of(call.args[1])? != NAPI_FUNCTION {
            return Err(JsError::bad_argument("onRemovals must be a function"));
        }
        let store = Arc::new(Store::new(options)?);
        let notifier = Notifier::create(env, call.args[1], Arc::clone(&store))
            .map_err(|status| JsError::new("Internal", format!("napi_create_threadsafe_function failed: {status}")))?;
        let sweeper = if sweep_interval_ms > 0 {
            let started = Sweeper::start(Arc::clone(&store), Duration::from_millis(sweep_interval_ms), notifier.clone());
            Some(started.map_err(|e| JsError::new("Internal", format!("could not start the sweeper thread: {e}")))?)
        } else {
            None
        };
        let handle = Handle::new(env, store, notifier, sweeper);
        handle.register_cleanup();
        let functions: [(&CStr, Callback); 15] = [
            (c"setScratch", set_scratch),
            (c"get", get),
            (c"set", set),
            (c"tableChangedUpsert", table_changed_upsert),
            (c"has", has),
            (c"delete", delete),
            (c"invalidate", invalidate),
            (c"sweep", sweep),
            (c"advanceClock", advance_clock),
            (c"setRecording", set_recording),
            (c"drainRemovals", drain_removals),
            (c"statsBinary", stats_binary),
            (c"setSubscribers", set_subscribers),
            (c"recordEvents", record_events),
            (c"close", close),
        ];
        let object = env.object()?;
        for (name, callback) in functions {
            env.set_named(object, name, bound_function(env, name, callback, &handle)?)?;
        }
        // `handle` (this Rc) drops here; the functions hold the remaining counts.
        Ok(object)
    })
}

/// Creates a function whose data is one strong count of `handle`, released by its finalizer.
fn bound_function(env: Env, name: &CStr, callback: Callback, handle: &Rc<Handle>) -> JsResult<napi_value> {
    let data = Rc::into_raw(Rc::clone(handle)) as *mut c_void;
    let mut function = null_mut();
    // SAFETY: `name` is NUL-terminated and `data` is a leaked strong count.
    let status = unsafe { napi_create_function(env.0, name.as_ptr(), usize::MAX, Some(callback), data, &mut function) };
    // SAFETY: attaching a finalizer to the function we just created, in this env.
    if status != NAPI_OK || unsafe { napi_add_finalizer(env.0, function, data, Some(release_function_ref), null_mut(), null_mut()) } != NAPI_OK {
        // SAFETY: no finalizer owns the count; take it back.
        unsafe { drop(Rc::from_raw(data as *const Handle)) };
        return Err(JsError::new("Internal", "could not create a store function"));
    }
    Ok(function)
}

/// `setScratch(buffer)`: the slab `get` copies values into; resets the write offset.
unsafe extern "C" fn set_scratch(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        let bytes = env.uint8_array(call.args[0])?.ok_or_else(|| JsError::bad_argument("scratch must be a Buffer"))?;
        if bytes.len() > MAX_SCRATCH_BYTES {
            return Err(JsError::bad_argument(format!("scratch must be at most {MAX_SCRATCH_BYTES} bytes")));
        }
        handle.set_scratch(env, call.args[0], bytes.as_ptr() as *mut u8, bytes.len())?;
        env.undefined()
    })
}

/// `get(key)`: on a hit that fits the slab, `offset << 16 | length` of the copy (≥ 0);
/// -1 miss; -2 miss because it expired (a removal is queued); otherwise a new Buffer.
unsafe extern "C" fn get(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let scratch = handle.scratch();
        let lookup = handle.store.get_with(key, |value| match scratch {
            Some(s) if value.len() <= s.len - s.cursor => {
                // SAFETY: `s.data` is valid for `s.len` bytes (a Buffer we hold a reference
                // to) and `cursor + value.len() <= len`; it cannot overlap the store's memory.
                std::ptr::copy_nonoverlapping(value.as_ptr(), s.data.add(s.cursor), value.len());
                Ok((s.cursor, value.len()))
            }
            // Too big for what is left of the slab: build a Buffer once the lock is released.
            _ => Err(value.to_vec()),
        })?;
        match lookup {
            Lookup::Hit(Ok((offset, len))) => {
                // Keep 8-byte alignment between handed-out regions, as Node's pool does.
                handle.advance_scratch((offset + len + 7) & !7);
                env.int32(((offset << 16) | len) as i32)
            }
            Lookup::Hit(Err(value)) => env.buffer_copy(&value),
            Lookup::Miss => env.int32(-1),
            Lookup::Expired => env.int32(-2),
        }
    })
}

/// `set(key, value, ttlMs?)`: returns how many entries were evicted to make room.
unsafe extern "C" fn set(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<3>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let value = read_value(env, call.args[1])?;
        let ttl = read_ttl(env, call.args[2])?;
        let evicted = handle.store.set(key, value.as_slice(), ttl)?;
        env.int32(evicted as i32)
    })
}

/// `tableChangedUpsert(svc, table, pk, value, ttlMs?)`: like set; returns evictions.
unsafe extern "C" fn table_changed_upsert(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<5>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut parts: [Vec<u8>; 3] = Default::default();
        for (i, name) in ["svc", "table", "pk"].iter().enumerate() {
            parts[i] = env
                .string_owned(call.args[i])?
                .ok_or_else(|| JsError::new("InvalidKey", format!("{name} must be a string")))?;
        }
        let value = read_value(env, call.args[3])?;
        let ttl = read_ttl(env, call.args[4])?;
        let evicted = handle.store.table_changed_upsert(&parts[0], &parts[1], &parts[2], value.as_slice(), ttl)?;
        env.int32(evicted as i32)
    })
}

fn key_call(env: napi_env, info: napi_callback_info, op: fn(&Store, &[u8]) -> Result<bool, StoreError>) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        // SAFETY: see `open_handle`; `call.data` comes from this function's creation.
        let handle = unsafe { open_handle(call.data)? };
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        env.boolean(op(&handle.store, key)?)
    })
}

unsafe extern "C" fn has(env: napi_env, info: napi_callback_info) -> napi_value {
    key_call(env, info, Store::has)
}

unsafe extern "C" fn delete(env: napi_env, info: napi_callback_info) -> napi_value {
    key_call(env, info, Store::delete)
}

unsafe extern "C" fn invalidate(env: napi_env, info: napi_callback_info) -> napi_value {
    key_call(env, info, Store::invalidate)
}

unsafe extern "C" fn sweep(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        env.double(open_handle(call.data)?.store.sweep() as f64)
    })
}

unsafe extern "C" fn advance_clock(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        let ms = read_integer(env, call.args[0], "ms", 0, MAX_TTL_MS)?;
        if !handle.store.advance_clock(ms) {
            return Err(JsError::bad_argument("advanceClock needs a store created with clock: 'manual'"));
        }
        env.undefined()
    })
}

unsafe extern "C" fn set_recording(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        let on = env.bool(call.args[0])?.ok_or_else(|| JsError::bad_argument("setRecording takes a boolean"))?;
        handle.store.set_recording(on);
        env.undefined()
    })
}

unsafe extern "C" fn drain_removals(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        drain_to_js(env, &open_handle(call.data)?.store)
    })
}

unsafe extern "C" fn stats_binary(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        env.buffer_copy(&open_handle(call.data)?.store.stats().encode())
    })
}

unsafe extern "C" fn set_subscribers(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        handle.store.set_subscribers(read_integer(env, call.args[0], "subscribers", 0, u32::MAX as u64)?);
        env.undefined()
    })
}

/// `recordEvents(published, dropped, lagged)`: adds to the daemon's event counters.
unsafe extern "C" fn record_events(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<3>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut counts = [0u64; 3];
        for (i, name) in ["published", "dropped", "lagged"].iter().enumerate() {
            counts[i] = read_integer(env, call.args[i], name, 0, MAX_TTL_MS)?;
        }
        handle.store.record_events(counts[0], counts[1], counts[2]);
        env.undefined()
    })
}

unsafe extern "C" fn close(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        // SAFETY: as in `open_handle`, but a closed handle is fine here (close is idempotent).
        (*(call.data as *const Handle)).shutdown();
        env.undefined()
    })
}
