//! Single-key writes: `set`, `tableChangedUpsert`, `setIf`, `incr`, `incrText`, `cas`,
//! `expire`, `delete` and `invalidate`. A value argument is borrowed last (the rule in
//! `api/mod.rs`).

use super::Args;
use crate::args::*;
use crate::env::{Env, JsError, JsResult};
use crate::handle::Handle;
use crate::sys::*;
use localcached_core::store::{parse_integer, SetCondition, JS_SAFE_INTEGER};
use localcached_core::StoreError;

/// 1 when removals (evictions, or a dependency cascade) wait for this handle, else 0: JS
/// drains only then, so a plain write costs no second call.
pub fn removals_pending(env: Env, handle: &Handle) -> JsResult<napi_value> {
    env.int32(handle.sink.pending() as i32)
}

/// `set(key, value, ttlMs?, version?, dependsOn?)`: see `removals_pending`.
pub fn set(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let ttl = read_ttl(env, args[2])?;
    let version = read_version(env, args[3])?;
    // Reading dependsOn's elements can run getters, so it happens before the value is borrowed.
    let deps = if env.type_of(args[4])? == NAPI_UNDEFINED { None } else { Some(read_keys(env, args[4])?) };
    // SAFETY: every argument is read; nothing below runs JS before the store call.
    let value = unsafe { read_value(env, args[1]) }?;
    match deps {
        None => handle.store.set_versioned(key, value.as_slice(), ttl, version)?,
        Some(deps) => {
            let refs: Vec<&[u8]> = deps.iter().map(Vec::as_slice).collect();
            handle.store.set_with(key, value.as_slice(), ttl, version, Some(&refs))?
        }
    };
    removals_pending(env, handle)
}

/// `tableChangedUpsert(svc, table, pk, value, ttlMs?, version?)`: like set.
pub fn table_changed_upsert(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut parts: [Vec<u8>; 3] = Default::default();
    for (i, name) in ["svc", "table", "pk"].iter().enumerate() {
        parts[i] = env.string_owned(args[i])?.ok_or_else(|| JsError::new("InvalidKey", format!("{name} must be a string")))?;
    }
    let ttl = read_ttl(env, args[4])?;
    let version = read_version(env, args[5])?;
    // SAFETY: every other argument is read; nothing below runs JS before the store call.
    let value = unsafe { read_value(env, args[3]) }?;
    handle.store.table_changed_upsert(&parts[0], &parts[1], &parts[2], value.as_slice(), ttl, version)?;
    removals_pending(env, handle)
}

/// `setIf(key, value, ttlMs?, condition, keepTtl, wantOld)`: Redis's SET with NX (1) / XX (2)
/// / always (0), KEEPTTL and GET. Returns `[stored, previous value | null]`.
pub fn set_if(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let ttl = read_ttl(env, args[2])?;
    let condition = match read_integer(env, args[3], "condition", 0, 2)? {
        1 => SetCondition::IfAbsent,
        2 => SetCondition::IfPresent,
        _ => SetCondition::Always,
    };
    let keep_ttl = env.bool(args[4])?.unwrap_or(false);
    let want_old = env.bool(args[5])?.unwrap_or(false);
    // SAFETY: every other argument is read; nothing runs JS before the store call, the
    // last use of `value`.
    let value = unsafe { read_value(env, args[1]) }?;
    let (stored, old) = handle.store.set_if(key, value.as_slice(), ttl, condition, keep_ttl, want_old)?;
    let out = env.array(2)?;
    env.set_element(out, 0, env.boolean(stored)?)?;
    env.set_element(out, 1, match old { Some(v) => env.buffer_copy(&v)?, None => env.null()? })?;
    Ok(out)
}

/// `incr(key, delta, ttlMs?)`: the new value; never leaves the JS safe-integer range.
pub fn incr(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let delta = match env.number(args[1])? {
        Some(d) if d.fract() == 0.0 && d.abs() <= JS_SAFE_INTEGER as f64 => d as i64,
        _ => return Err(JsError::bad_argument("delta must be a safe integer")),
    };
    let ttl = read_ttl(env, args[2])?;
    let (value, _) = handle.store.incr(key, delta, ttl, JS_SAFE_INTEGER)?;
    env.double(value as f64)
}

/// `incrText(key, deltaText, ttlMs?)`: incr over the whole i64 range, in decimal text both
/// ways (as Redis's INCRBY), for callers that must not round through a JS number.
pub fn incr_text(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let text = env.string_owned(args[1])?.unwrap_or_default();
    let delta = parse_integer(&text).ok_or_else(|| StoreError::NotAnInteger { value_preview: String::from_utf8_lossy(&text).into_owned() })?;
    let ttl = read_ttl(env, args[2])?;
    let (value, _) = handle.store.incr(key, delta, ttl, i64::MAX)?;
    env.string(value.to_string().as_bytes())
}

/// `cas(key, expected | null, next)`: whether it swapped.
pub fn cas(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let expected = if env.type_of(args[1])? == NAPI_NULL {
        None
    } else {
        // SAFETY: the key is read; nothing from here to the store call runs JS.
        Some(unsafe { read_value(env, args[1]) }?)
    };
    // SAFETY: as for `expected`: reading a value runs no JS.
    let next = unsafe { read_value(env, args[2]) }?;
    let (swapped, _) = handle.store.cas(key, expected.as_ref().map(|e| e.as_slice()), next.as_slice())?;
    env.boolean(swapped)
}

/// `expire(key, ttlMs | null)`: sets or removes a live entry's TTL; returns whether it existed.
pub fn expire(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let ttl = if env.type_of(args[1])? == NAPI_NULL { None } else { read_ttl(env, args[1])? };
    env.boolean(handle.store.expire(key, ttl)?)
}

/// `delete(key)`: whether a live entry existed.
pub fn delete(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    env.boolean(handle.store.delete(read_key(env, args[0], &mut buf)?)?)
}

/// `invalidate(key)`: deletes the key and its dependents (counted as an invalidation);
/// returns whether a live entry existed.
pub fn invalidate(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    env.boolean(handle.store.invalidate(read_key(env, args[0], &mut buf)?)?)
}
