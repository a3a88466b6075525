//! `createStore(options, onRemovals)`: builds a store and returns an object of functions
//! bound to it (see `handle.rs` for why functions rather than a class). Each function reads
//! its arguments, calls the core and converts the result; `binding.d.ts` types them all.

use crate::args::*;
use crate::env::{call_args, guard, Env, JsError, JsResult};
use crate::handle::{release_function_ref, Handle};
use crate::notify::Notifier;
use crate::removals::drain_to_js;
use crate::shared;
use crate::sweeper::Sweeper;
use crate::sys::*;
use localcached_core::constants::*;
use localcached_core::store::{ScanCursor, ScanFilter, SetCondition, JS_SAFE_INTEGER};
use localcached_core::{Clock, Lookup, Store, StoreError, StoreOptions};
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::null_mut;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
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

/// The options of a store, and a canonical description of them that shared stores compare.
struct ParsedOptions {
    store: StoreOptions,
    sweep_interval_ms: u64,
    fingerprint: String,
}

fn read_options(env: Env, options: napi_value) -> JsResult<ParsedOptions> {
    let (store, sweep_interval_ms) = read_store_options(env, options)?;
    let caps: Vec<String> = store.service_caps.iter().map(|(s, c)| format!("{}={c}", String::from_utf8_lossy(s))).collect();
    let fingerprint = format!(
        "maxBytes={} shards={} maxValueBytes={} sweepIntervalMs={} clock={} maxKeys={} svcCaps=[{}]",
        store.max_bytes,
        store.shards.map_or("auto".to_string(), |n| n.to_string()),
        store.max_value_bytes,
        sweep_interval_ms,
        if store.clock.is_manual() { "manual" } else { "system" },
        store.max_keys.map_or("none".to_string(), |n| n.to_string()),
        caps.join(","),
    );
    Ok(ParsedOptions { store, sweep_interval_ms, fingerprint })
}

fn read_store_options(env: Env, options: napi_value) -> JsResult<(StoreOptions, u64)> {
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
    if let Some(v) = option(env, options, c"maxKeys")? {
        parsed.max_keys = Some(read_integer(env, v, "maxKeys", 1, MAX_TTL_MS)?);
    }
    if let Some(v) = option(env, options, c"svcCaps")? {
        // [[svc, bytes], …] (the TS layer turns { svc: bytes } into this).
        let n = env.array_length(v)?.ok_or_else(|| JsError::bad_argument("svcCaps must be an object of service: bytes"))?;
        for i in 0..n {
            let pair = env.element(v, i)?;
            let svc = env.string_owned(env.element(pair, 0)?)?.ok_or_else(|| JsError::bad_argument("svcCaps keys must be service names"))?;
            let cap = read_integer(env, env.element(pair, 1)?, "svcCaps value", 1, MAX_TTL_MS)?;
            parsed.service_caps.push((svc, cap));
        }
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
        let options = read_options(env, call.args[0])?;
        if env.type_of(call.args[1])? != NAPI_FUNCTION {
            return Err(JsError::bad_argument("onRemovals must be a function"));
        }
        let store = Arc::new(Store::new(options.store)?);
        let sink = store.add_sink();
        let notifier = Notifier::create(env, call.args[1], Arc::clone(&store), Arc::clone(&sink))
            .map_err(|status| JsError::new("Internal", format!("napi_create_threadsafe_function failed: {status}")))?;
        let sweeper = if options.sweep_interval_ms > 0 {
            let notifiers = Arc::new(Mutex::new(vec![notifier.clone()]));
            let started = Sweeper::start(Arc::clone(&store), Duration::from_millis(options.sweep_interval_ms), notifiers);
            Some(started.map_err(|e| JsError::new("Internal", format!("could not start the sweeper thread: {e}")))?)
        } else {
            None
        };
        let handle = Handle::new(env, store, sink, notifier, sweeper, None);
        bound_store(env, handle)
    })
}

/// `openStore(name, options, onRemovals)` → the same functions as `createStore`, over the
/// process-wide store called `name` (created by the first opener, with its options).
pub unsafe extern "C" fn open_store(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<3>(env, info)?;
        let name = env.string_owned(call.args[0])?.ok_or_else(|| JsError::bad_argument("name must be a string"))?;
        let name = String::from_utf8(name).map_err(|_| JsError::bad_argument("name must be valid UTF-8"))?;
        if name.is_empty() || name.len() > 200 {
            return Err(JsError::bad_argument("name must be 1 to 200 bytes"));
        }
        let options = read_options(env, call.args[1])?;
        if env.type_of(call.args[2])? != NAPI_FUNCTION {
            return Err(JsError::bad_argument("onRemovals must be a function"));
        }
        let interval = (options.sweep_interval_ms > 0).then(|| Duration::from_millis(options.sweep_interval_ms));
        let store_options = options.store;
        let shared = match shared::open(&name, options.fingerprint, interval, || Store::new(store_options).map_err(|e| e.to_string())) {
            Ok(shared::Opened::Existing(s) | shared::Opened::Created(s)) => s,
            Err(message) => return Err(JsError::bad_argument(message)),
        };
        let store = Arc::clone(&shared.store);
        let sink = store.add_sink();
        let notifier = Notifier::create(env, call.args[2], Arc::clone(&store), Arc::clone(&sink))
            .map_err(|status| JsError::new("Internal", format!("napi_create_threadsafe_function failed: {status}")))?;
        shared.notifiers.lock().unwrap_or_else(|e| e.into_inner()).push(notifier.clone());
        let handle = Handle::new(env, store, sink, notifier, None, Some(shared));
        bound_store(env, handle)
    })
}

/// Registers the handle's clean-up and returns the object of functions bound to it.
fn bound_store(env: Env, handle: Rc<Handle>) -> JsResult<napi_value> {
    {
        handle.register_cleanup();
        let functions: [(&CStr, Callback); 30] = [
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
            (c"mgetPacked", mget_packed),
            (c"setIf", set_if),
            (c"expire", expire),
            (c"incrText", incr_text),
            (c"getWithMeta", get_with_meta),
            (c"mset", mset),
            (c"mdel", mdel),
            (c"exists", exists),
            (c"incr", incr),
            (c"cas", cas),
            (c"scan", scan),
            (c"clear", clear),
            (c"invalidateTable", invalidate_table),
            (c"invalidateService", invalidate_service),
            (c"invalidatePrefix", invalidate_prefix),
            (c"close", close),
        ];
        let object = env.object()?;
        for (name, callback) in functions {
            env.set_named(object, name, bound_function(env, name, callback, &handle)?)?;
        }
        // `handle` (this Rc) drops here; the functions hold the remaining counts.
        Ok(object)
    }
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

/// A value on its way to JS: copied into the slab (offset, length), or too big for what is
/// left of it (then copied out, to become its own Buffer once the shard lock is released).
type Copied = Result<(usize, usize), Vec<u8>>;

/// Copies `value` into the slab at its cursor, or out, while the shard lock is held.
fn copy_out(handle: &Handle, value: &[u8]) -> Copied {
    match handle.scratch() {
        Some(s) if value.len() <= s.len - s.cursor => {
            // SAFETY: `s.data` is valid for `s.len` bytes (a Buffer we hold a reference to)
            // and `cursor + value.len() <= len`; it cannot overlap the store's memory.
            unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), s.data.add(s.cursor), value.len()) };
            // Keep 8-byte alignment between handed-out regions, as Node's pool does.
            handle.advance_scratch((s.cursor + value.len() + 7) & !7);
            Ok((s.cursor, value.len()))
        }
        _ => Err(value.to_vec()),
    }
}

/// The JS form of a read: `offset << 16 | length` (≥ 0) for a slab copy, a Buffer for a
/// value that did not fit, -1 for a miss, -2 for a miss that found the entry expired.
fn lookup_to_js(env: Env, lookup: Lookup<Copied>) -> JsResult<napi_value> {
    match lookup {
        Lookup::Hit(Ok((offset, len))) => env.int32(((offset << 16) | len) as i32),
        Lookup::Hit(Err(value)) => env.buffer_copy(&value),
        Lookup::Miss => env.int32(-1),
        Lookup::Expired => env.int32(-2),
    }
}

/// `get(key)`: see `lookup_to_js`.
unsafe extern "C" fn get(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let lookup = handle.store.get_with(key, |value| copy_out(handle, value))?;
        lookup_to_js(env, lookup)
    })
}

/// `mgetPacked(joinedKeys, count, out, overflow)`: the fast batch read. Keys arrive as one
/// string joined by newlines (a byte no key may hold) to cost one string read instead of one
/// per key; results go into the Int32Array `out` as `get` packs them, with -3 where the value
/// did not fit in the slab and is in `overflow[i]` as its own Buffer instead.
unsafe extern "C" fn mget_packed(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<4>(env, info)?;
        let handle = open_handle(call.data)?;
        let joined = env.string_owned(call.args[0])?.ok_or_else(|| JsError::bad_argument("keys must be joined into a string"))?;
        let count = read_integer(env, call.args[1], "count", 0, crate::args::MAX_BATCH as u64)? as usize;
        let out = env.int32_array(call.args[2])?.ok_or_else(|| JsError::bad_argument("out must be an Int32Array"))?;
        if out.len() < count {
            return Err(JsError::bad_argument("out is shorter than count"));
        }
        let keys: Vec<&[u8]> = if count == 0 { Vec::new() } else { joined.split(|&b| b == b'\n').collect() };
        if keys.len() != count {
            // Only a key holding a newline can make the split disagree with the count.
            return Err(JsError::new("InvalidKey", "a key contains a newline; keys are svc:table:pk of [A-Za-z0-9._-]"));
        }
        for key in &keys {
            localcached_core::validate_key(key).map_err(|p| StoreError::invalid_key(key, p))?;
        }
        for (i, key) in keys.iter().enumerate() {
            out[i] = match handle.store.get_with(key, |value| copy_out(handle, value))? {
                Lookup::Hit(Ok((offset, len))) => ((offset << 16) | len) as i32,
                Lookup::Hit(Err(value)) => {
                    env.set_element(call.args[3], i as u32, env.buffer_copy(&value)?)?;
                    -3
                }
                Lookup::Miss => -1,
                Lookup::Expired => -2,
            };
        }
        env.undefined()
    })
}

/// `getWithMeta(key)`: -1/-2 on a miss, else `[value as get returns it, version | null, ttlMs | null]`.
unsafe extern "C" fn get_with_meta(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let lookup = handle.store.get_with_meta(key, |meta| (copy_out(handle, meta.value), meta.version, meta.ttl_ms))?;
        let (copied, version, ttl_ms) = match lookup {
            Lookup::Hit(hit) => hit,
            Lookup::Miss => return env.int32(-1),
            Lookup::Expired => return env.int32(-2),
        };
        let out = env.array(3)?;
        env.set_element(out, 0, lookup_to_js(env, Lookup::Hit(copied))?)?;
        env.set_element(out, 1, match version { Some(v) => env.double(v as f64)?, None => env.null()? })?;
        env.set_element(out, 2, match ttl_ms { Some(t) => env.double(t as f64)?, None => env.null()? })?;
        Ok(out)
    })
}

/// `mset(keys, values, ttlMs?)`: all or nothing; returns evictions.
unsafe extern "C" fn mset(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<3>(env, info)?;
        let handle = open_handle(call.data)?;
        let keys = read_keys(env, call.args[0])?;
        let count = env.array_length(call.args[1])?.ok_or_else(|| JsError::bad_argument("values must be an array"))?;
        if count as usize != keys.len() {
            return Err(JsError::bad_argument("keys and values must have the same length"));
        }
        let mut values = Vec::with_capacity(keys.len());
        for i in 0..count {
            values.push(read_value(env, env.element(call.args[1], i)?)?);
        }
        let ttl = read_ttl(env, call.args[2])?;
        let entries: Vec<(&[u8], &[u8])> = keys.iter().zip(&values).map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
        handle.store.mset(&entries, ttl)?;
        env.int32(handle.sink.pending() as i32)
    })
}

/// `mdel(keys)`: for each key, whether it existed.
unsafe extern "C" fn mdel(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        let keys = read_keys(env, call.args[0])?;
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        let (_, existed) = handle.store.mdel(&refs)?;
        let out = env.array(existed.len())?;
        for (i, e) in existed.into_iter().enumerate() {
            env.set_element(out, i as u32, env.boolean(e)?)?;
        }
        Ok(out)
    })
}

/// `exists(keys)`: how many are present (duplicates count twice).
unsafe extern "C" fn exists(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        let keys = read_keys(env, call.args[0])?;
        let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
        env.double(handle.store.exists(&refs)? as f64)
    })
}

/// `incr(key, delta, ttlMs?)`: the new value; never leaves the JS safe-integer range.
unsafe extern "C" fn incr(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<3>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let delta = match env.number(call.args[1])? {
            Some(d) if d.fract() == 0.0 && d.abs() <= JS_SAFE_INTEGER as f64 => d as i64,
            _ => return Err(JsError::bad_argument("delta must be a safe integer")),
        };
        let ttl = read_ttl(env, call.args[2])?;
        let (value, _) = handle.store.incr(key, delta, ttl, JS_SAFE_INTEGER)?;
        env.double(value as f64)
    })
}

/// `cas(key, expected | null, next)`: whether it swapped.
unsafe extern "C" fn cas(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<3>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let expected = if env.type_of(call.args[1])? == NAPI_NULL { None } else { Some(read_value(env, call.args[1])?) };
        let next = read_value(env, call.args[2])?;
        let (swapped, _) = handle.store.cas(key, expected.as_ref().map(|e| e.as_slice()), next.as_slice())?;
        env.boolean(swapped)
    })
}

/// `scan(cursor | null, svc?, table?, prefix?, limit)`: `[keys, nextCursor | null]`.
unsafe extern "C" fn scan(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<5>(env, info)?;
        let handle = open_handle(call.data)?;
        let cursor = match env.string_owned(call.args[0])? {
            Some(text) => String::from_utf8(text)
                .ok()
                .and_then(|t| ScanCursor::decode(&t))
                .ok_or_else(|| JsError::bad_argument("cursor is not one this store returned"))?,
            None => ScanCursor::START,
        };
        let mut parts: [Option<Vec<u8>>; 3] = Default::default();
        for (i, part) in parts.iter_mut().enumerate() {
            *part = env.string_owned(call.args[1 + i])?;
        }
        let filter = ScanFilter { svc: parts[0].as_deref(), table: parts[1].as_deref(), prefix: parts[2].as_deref() };
        let limit = read_integer(env, call.args[4], "limit", 1, 100_000)? as usize;
        let (keys, next) = handle.store.scan(cursor, filter, limit)?;
        let list = env.array(keys.len())?;
        for (i, key) in keys.iter().enumerate() {
            env.set_element(list, i as u32, env.string(key)?)?;
        }
        let out = env.array(2)?;
        env.set_element(out, 0, list)?;
        env.set_element(out, 1, match next { Some(c) => env.string(c.encode().as_bytes())?, None => env.null()? })?;
        Ok(out)
    })
}

fn string_arg(env: Env, value: napi_value, name: &str) -> JsResult<Vec<u8>> {
    env.string_owned(value)?.ok_or_else(|| JsError::bad_argument(format!("{name} must be a string")))
}

/// `invalidateTable(svc, table)`: removes the table's entries; returns how many.
unsafe extern "C" fn invalidate_table(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<2>(env, info)?;
        let handle = open_handle(call.data)?;
        let (svc, table) = (string_arg(env, call.args[0], "svc")?, string_arg(env, call.args[1], "table")?);
        env.double(handle.store.invalidate_table(&svc, &table)? as f64)
    })
}

/// `invalidateService(svc)`: removes the service's entries; returns how many.
unsafe extern "C" fn invalidate_service(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        env.double(handle.store.invalidate_service(&string_arg(env, call.args[0], "svc")?)? as f64)
    })
}

/// `invalidatePrefix(prefix)`: removes the entries whose key starts with it; returns how many.
unsafe extern "C" fn invalidate_prefix(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<1>(env, info)?;
        let handle = open_handle(call.data)?;
        env.double(handle.store.invalidate_prefix(&string_arg(env, call.args[0], "prefix")?)? as f64)
    })
}

/// `setIf(key, value, ttlMs?, condition, keepTtl, wantOld)`: Redis's SET with NX (1) / XX (2)
/// / always (0), KEEPTTL and GET. Returns `[stored, previous value | null]`.
unsafe extern "C" fn set_if(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<6>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let value = read_value(env, call.args[1])?;
        let ttl = read_ttl(env, call.args[2])?;
        let condition = match read_integer(env, call.args[3], "condition", 0, 2)? {
            1 => SetCondition::IfAbsent,
            2 => SetCondition::IfPresent,
            _ => SetCondition::Always,
        };
        let keep_ttl = env.bool(call.args[4])?.unwrap_or(false);
        let want_old = env.bool(call.args[5])?.unwrap_or(false);
        let (stored, old) = handle.store.set_if(key, value.as_slice(), ttl, condition, keep_ttl, want_old)?;
        let out = env.array(2)?;
        env.set_element(out, 0, env.boolean(stored)?)?;
        env.set_element(out, 1, match old { Some(v) => env.buffer_copy(&v)?, None => env.null()? })?;
        Ok(out)
    })
}

/// `expire(key, ttlMs | null)`: sets or removes a live entry's TTL; returns whether it existed.
unsafe extern "C" fn expire(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<2>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let ttl = if env.type_of(call.args[1])? == NAPI_NULL { None } else { read_ttl(env, call.args[1])? };
        env.boolean(handle.store.expire(key, ttl)?)
    })
}

/// `incrText(key, deltaText, ttlMs?)`: incr over the whole i64 range, in decimal text both
/// ways (as Redis's INCRBY), for callers that must not round through a JS number.
unsafe extern "C" fn incr_text(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<3>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let text = env.string_owned(call.args[1])?.unwrap_or_default();
        let delta = localcached_core::store::parse_integer(&text).ok_or_else(|| StoreError::NotAnInteger { value_preview: String::from_utf8_lossy(&text).into_owned() })?;
        let ttl = read_ttl(env, call.args[2])?;
        let (value, _) = handle.store.incr(key, delta, ttl, i64::MAX)?;
        env.string(value.to_string().as_bytes())
    })
}

/// `clear()`: drops every entry; returns how many.
unsafe extern "C" fn clear(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        env.double(open_handle(call.data)?.store.clear() as f64)
    })
}

/// `set(key, value, ttlMs?, version?, dependsOn?)`: returns how many entries were evicted.
unsafe extern "C" fn set(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<5>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut buf = [0u8; KEY_BUF];
        let key = read_key(env, call.args[0], &mut buf)?;
        let value = read_value(env, call.args[1])?;
        let ttl = read_ttl(env, call.args[2])?;
        let version = read_version(env, call.args[3])?;
        let evicted = if env.type_of(call.args[4])? == NAPI_UNDEFINED {
            handle.store.set_versioned(key, value.as_slice(), ttl, version)?
        } else {
            let deps = read_keys(env, call.args[4])?;
            let refs: Vec<&[u8]> = deps.iter().map(Vec::as_slice).collect();
            handle.store.set_with(key, value.as_slice(), ttl, version, Some(&refs))?
        };
        let _ = evicted;
        // Whether removals (evictions, or a dependency cascade) wait for this handle: JS
        // drains only then, so a plain write costs no second call.
        env.int32(handle.sink.pending() as i32)
    })
}

/// `tableChangedUpsert(svc, table, pk, value, ttlMs?, version?)`: like set; returns evictions.
unsafe extern "C" fn table_changed_upsert(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<6>(env, info)?;
        let handle = open_handle(call.data)?;
        let mut parts: [Vec<u8>; 3] = Default::default();
        for (i, name) in ["svc", "table", "pk"].iter().enumerate() {
            parts[i] = env
                .string_owned(call.args[i])?
                .ok_or_else(|| JsError::new("InvalidKey", format!("{name} must be a string")))?;
        }
        let value = read_value(env, call.args[3])?;
        let ttl = read_ttl(env, call.args[4])?;
        let version = read_version(env, call.args[5])?;
        let evicted = handle.store.table_changed_upsert(&parts[0], &parts[1], &parts[2], value.as_slice(), ttl, version)?;
        let _ = evicted;
        // Whether removals (evictions, or a dependency cascade) wait for this handle: JS
        // drains only then, so a plain write costs no second call.
        env.int32(handle.sink.pending() as i32)
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
        handle.store.set_sink_active(&handle.sink, on);
        env.undefined()
    })
}

unsafe extern "C" fn drain_removals(env: napi_env, info: napi_callback_info) -> napi_value {
    guard(env, |env| {
        let call = call_args::<0>(env, info)?;
        drain_to_js(env, &open_handle(call.data)?.sink)
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
