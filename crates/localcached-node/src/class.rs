//! The `NativeStore` class exported to JS: one small function per method, each reading
//! its arguments, calling the core, and converting the result. Typed in `binding.d.ts`.

use crate::args::*;
use crate::env::{call_args, guard, Env, JsError, JsResult};
use crate::handle::{finalize_handle, StoreHandle};
use crate::notify::Notifier;
use crate::removals::drain_to_js;
use crate::sweeper::Sweeper;
use crate::sys::*;
use localcached_core::constants::*;
use localcached_core::{Clock, Lookup, Store, StoreOptions};
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::null_mut;
use std::sync::Arc;
use std::time::Duration;

/// The handle wrapped in `this`.
///
/// # Safety
/// Only JS-thread callbacks call this; the handle lives until its finalizer, which cannot
/// run while a method of the same object is on the stack, and no method re-enters another.
unsafe fn handle_of<'a>(env: Env, this: napi_value) -> JsResult<&'a mut StoreHandle> {
    let mut raw: *mut c_void = null_mut();
    if napi_unwrap(env.0, this, &mut raw) != NAPI_OK || raw.is_null() {
        return Err(JsError::bad_argument("NativeStore method called on an object that is not a NativeStore"));
    }
    Ok(&mut *(raw as *mut StoreHandle))
}

unsafe fn open_handle<'a>(env: Env, this: napi_value) -> JsResult<&'a mut StoreHandle> {
    let handle = handle_of(env, this)?;
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

/// `new NativeStore(options, onRemovals)`
unsafe extern "C" fn construct(env: napi_env, info: napi_callback_info) -> napi_value {
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
        let raw = Box::into_raw(Box::new(StoreHandle::new(env, store, notifier, sweeper)));
        if napi_wrap(env.0, call.this, raw as *mut c_void, Some(finalize_handle), null_mut(), null_mut()) != NAPI_OK {
            // SAFETY: the wrap failed, so nothing else owns `raw`.
            let mut handle = Box::from_raw(raw);
            handle.shutdown();
            return Err(JsError::new("Internal", "napi_wrap failed"));
        }
        (*raw).register_cleanup(raw);
        Ok(call.this)
    })
}

/// `setScratch(buffer)`: where `get` copies values that fit.
unsafe extern "C" fn set_scratch(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(env, call.this)?;
        let bytes = env.uint8_array(call.args[0])?.ok_or_else(|| JsError::bad_argument("scratch must be a Buffer"))?;
        handle.set_scratch(env, call.args[0], bytes.as_ptr() as *mut u8, bytes.len())?;
        env.undefined()
    })
}

/// `get(key)`: length copied into scratch (≥ 0), -1 miss, -2 miss because it expired (a
/// removal is queued), or a new Buffer for a value larger than the scratch.
unsafe extern "C" fn get(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(env, call.this)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let scratch = handle.scratch();
        let lookup = handle.store.get_with(key, |value| match scratch {
            Some((data, len)) if value.len() <= len => {
                // SAFETY: `data` is valid for `len` bytes (a Buffer we hold a reference to)
                // and cannot overlap the store's own allocation.
                std::ptr::copy_nonoverlapping(value.as_ptr(), data, value.len());
                Ok(value.len())
            }
            // Too big for the scratch: copy out and build a Buffer after the lock is gone.
            _ => Err(value.to_vec()),
        })?;
        match lookup {
            Lookup::Hit(Ok(len)) => env.int32(len as i32),
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
        let handle = open_handle(env, call.this)?;
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
        let handle = open_handle(env, call.this)?;
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

fn key_method(env: napi_env, info: napi_callback_info, op: fn(&Store, &[u8]) -> Result<bool, localcached_core::StoreError>) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        // SAFETY: see `handle_of`.
        let handle = unsafe { open_handle(env, call.this)? };
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        env.boolean(op(&handle.store, key)?)
    })
}

unsafe extern "C" fn has(env: napi_env, info: napi_callback_info) -> napi_value {
    key_method(env, info, Store::has)
}

unsafe extern "C" fn delete(env: napi_env, info: napi_callback_info) -> napi_value {
    key_method(env, info, Store::delete)
}

unsafe extern "C" fn invalidate(env: napi_env, info: napi_callback_info) -> napi_value {
    key_method(env, info, Store::invalidate)
}

unsafe extern "C" fn sweep(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        let handle = open_handle(env, call.this)?;
        env.double(handle.store.sweep() as f64)
    })
}

unsafe extern "C" fn advance_clock(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(env, call.this)?;
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
        let handle = open_handle(env, call.this)?;
        let on = env.bool(call.args[0])?.ok_or_else(|| JsError::bad_argument("setRecording takes a boolean"))?;
        handle.store.set_recording(on);
        env.undefined()
    })
}

unsafe extern "C" fn drain_removals(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        let handle = open_handle(env, call.this)?;
        drain_to_js(env, &handle.store)
    })
}

unsafe extern "C" fn stats_binary(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        let handle = open_handle(env, call.this)?;
        env.buffer_copy(&handle.store.stats().encode())
    })
}

unsafe extern "C" fn set_subscribers(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(env, call.this)?;
        handle.store.set_subscribers(read_integer(env, call.args[0], "subscribers", 0, u32::MAX as u64)?);
        env.undefined()
    })
}

unsafe extern "C" fn close(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        handle_of(env, call.this)?.shutdown();
        env.undefined()
    })
}

fn method(name: &'static CStr, f: unsafe extern "C" fn(napi_env, napi_callback_info) -> napi_value) -> napi_property_descriptor {
    napi_property_descriptor {
        utf8name: name.as_ptr(),
        name: null_mut(),
        method: Some(f),
        getter: None,
        setter: None,
        value: null_mut(),
        attributes: NAPI_DEFAULT_METHOD,
        data: null_mut(),
    }
}

pub fn define(env: Env) -> JsResult<napi_value> {
    let methods = [
        method(c"setScratch", set_scratch),
        method(c"get", get),
        method(c"set", set),
        method(c"tableChangedUpsert", table_changed_upsert),
        method(c"has", has),
        method(c"delete", delete),
        method(c"invalidate", invalidate),
        method(c"sweep", sweep),
        method(c"advanceClock", advance_clock),
        method(c"setRecording", set_recording),
        method(c"drainRemovals", drain_removals),
        method(c"statsBinary", stats_binary),
        method(c"setSubscribers", set_subscribers),
        method(c"close", close),
    ];
    let mut class = null_mut();
    let name = c"NativeStore";
    // SAFETY: the descriptors and name are valid for the call; N-API copies what it keeps.
    let status = unsafe {
        napi_define_class(env.0, name.as_ptr(), usize::MAX, Some(construct), null_mut(), methods.len(), methods.as_ptr(), &mut class)
    };
    if status != NAPI_OK {
        return Err(JsError::new("Internal", format!("napi_define_class failed: {status}")));
    }
    Ok(class)
}
