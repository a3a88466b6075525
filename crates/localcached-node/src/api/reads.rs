//! Reads: `get`, `getInto`, `getWithMeta`, `has`, `exists`, `scan`, `setScratch`, which
//! registers the slab that `get`, `getWithMeta` and `mgetPacked` copy values into, and
//! `noop`, the benchmark probe of what any call costs before the store is reached.

use super::Args;
use crate::args::*;
use crate::env::{Env, JsError, JsResult};
use crate::handle::Handle;
use localcached_core::constants::MAX_SCAN_LIMIT;
use crate::sys::*;
use localcached_core::store::{ScanCursor, ScanFilter};
use localcached_core::Lookup;

/// A read found no entry.
pub const READ_MISS: i32 = -1;
/// A read found the entry expired: a miss, and its removal is queued.
pub const READ_MISS_EXPIRED: i32 = -2;
/// `mgetPacked`: a hit whose value did not fit in the slab, so it is in `overflow[i]`.
pub const READ_IN_OVERFLOW: i32 = -3;

/// Largest scratch slab: offsets and lengths are packed into one int32 as
/// `offset << 16 | length`, which stays a small integer (no heap number) below 32 KiB.
pub const MAX_SCRATCH_BYTES: usize = 32 * 1024;

/// A value on its way to JS: copied into the slab (offset, length), or too big for what is
/// left of it (then copied out, to become its own Buffer once the shard lock is released).
pub type Copied = Result<(usize, usize), Vec<u8>>;

/// A slab copy as JS reads it: `offset << 16 | length`, never negative below 32 KiB.
pub fn packed(offset: usize, len: usize) -> i32 {
    ((offset << 16) | len) as i32
}

/// Copies `value` into the slab at its cursor, or out, while the shard lock is held.
pub fn copy_out(handle: &Handle, value: &[u8]) -> Copied {
    match handle.scratch() {
        Some(s) if value.len() <= s.len - s.cursor => {
            if !value.is_empty() {
                // SAFETY: `s.data` is valid for `s.len` bytes (a Buffer we hold a reference
                // to, never detached: `Handle::set_scratch`'s contract) and
                // `cursor + value.len() <= len`; it cannot overlap the store's memory.
                unsafe { std::ptr::copy_nonoverlapping(value.as_ptr(), s.data.add(s.cursor), value.len()) };
            }
            // Keep 8-byte alignment between handed-out regions, as Node's pool does.
            handle.advance_scratch((s.cursor + value.len() + 7) & !7);
            Ok((s.cursor, value.len()))
        }
        _ => Err(value.to_vec()),
    }
}

/// The JS form of a read: `packed` (≥ 0) for a slab copy, a Buffer for a value that did
/// not fit, `READ_MISS` or `READ_MISS_EXPIRED` for a miss.
fn lookup_to_js(env: Env, lookup: Lookup<Copied>) -> JsResult<napi_value> {
    match lookup {
        Lookup::Hit(Ok((offset, len))) => env.int32(packed(offset, len)),
        Lookup::Hit(Err(value)) => env.buffer_copy(&value),
        Lookup::Miss => env.int32(READ_MISS),
        Lookup::Expired => env.int32(READ_MISS_EXPIRED),
    }
}

/// `setScratch(buffer)`: the slab reads copy values into; resets the write offset.
pub fn set_scratch(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let (data, len) = env.uint8_array_parts(args[0])?.ok_or_else(|| JsError::bad_argument("scratch must be a Buffer"))?;
    if len > MAX_SCRATCH_BYTES {
        return Err(JsError::bad_argument(format!("scratch must be at most {MAX_SCRATCH_BYTES} bytes")));
    }
    // SAFETY: `data` and `len` were just read from `args[0]`; the TS class keeps its slab
    // private and never detaches it.
    unsafe { handle.set_scratch(env, args[0], data, len) }?;
    env.undefined()
}

/// `get(key)`: see `lookup_to_js`.
pub fn get(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let lookup = handle.store.get_with(key, |value| copy_out(handle, value))?;
    lookup_to_js(env, lookup)
}

/// `getInto(key, target, offset)`: a hit returns the value's length n and copies the value
/// to `target[offset..]` if n fits there (n ≤ target.length − offset); a value that does not
/// fit is left unwritten, for the caller to retry with more room. A miss returns `READ_MISS`
/// or `READ_MISS_EXPIRED`. Counted as a get, like `get`.
pub fn get_into(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let offset = env.number(args[2])?;
    // SAFETY: the bytes are used only by the store call below, before returning to JS, and
    // nothing between here and there can run JS (reading a number or a key runs none).
    let target = unsafe { env.uint8_array_mut(args[1]) }?.ok_or_else(|| JsError::bad_argument("target must be a Buffer or Uint8Array"))?;
    let offset = match offset {
        Some(n) if n.fract() == 0.0 && n >= 0.0 && n <= target.len() as f64 => n as usize,
        Some(n) => return Err(JsError::bad_argument(format!("offset must be an integer from 0 to target.length ({}), got {n}", target.len()))),
        None => return Err(JsError::bad_argument("offset must be an integer")),
    };
    let room = &mut target[offset..];
    let lookup = handle.store.get_with(key, |value| {
        if let Some(dest) = room.get_mut(..value.len()) {
            dest.copy_from_slice(value);
        }
        value.len()
    })?;
    match lookup {
        // Values are at most MAX_VALUE_BYTES_LIMIT (1 GiB), so every length is an int32.
        Lookup::Hit(len) => env.int32(len as i32),
        Lookup::Miss => env.int32(READ_MISS),
        Lookup::Expired => env.int32(READ_MISS_EXPIRED),
    }
}

/// `noop(key)`: reads the key as every keyed call does, touches no store and returns
/// undefined. A benchmark probe (`bench:embedded`): the floor under `get` and `has`.
pub fn noop(env: Env, _handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    read_key(env, args[0], &mut buf)?;
    env.undefined()
}

/// `getWithMeta(key)`: a miss as `get` returns it, else `[value as get returns it,
/// version | null, ttlMs remaining | null]`.
pub fn get_with_meta(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    let key = read_key(env, args[0], &mut buf)?;
    let lookup = handle.store.get_with_meta(key, |meta| (copy_out(handle, meta.value), meta.version, meta.ttl_ms))?;
    let (copied, version, ttl_ms) = match lookup {
        Lookup::Hit(hit) => hit,
        Lookup::Miss => return env.int32(READ_MISS),
        Lookup::Expired => return env.int32(READ_MISS_EXPIRED),
    };
    let out = env.array(3)?;
    env.set_element(out, 0, lookup_to_js(env, Lookup::Hit(copied))?)?;
    env.set_element(out, 1, match version { Some(v) => env.double(v as f64)?, None => env.null()? })?;
    env.set_element(out, 2, match ttl_ms { Some(t) => env.double(t as f64)?, None => env.null()? })?;
    Ok(out)
}

/// `has(key)`: whether a live entry exists.
pub fn has(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let mut buf = [0u8; KEY_BUF];
    env.boolean(handle.store.has(read_key(env, args[0], &mut buf)?)?)
}

/// `exists(keys)`: how many are present (a key named twice counts twice).
pub fn exists(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let keys = read_keys(env, args[0])?;
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    env.double(handle.store.exists(&refs)? as f64)
}

/// `scan(cursor | null, svc?, table?, prefix?, limit)`: `[keys, nextCursor | null]`.
pub fn scan(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let cursor = match env.string_owned(args[0])? {
        Some(text) => String::from_utf8(text)
            .ok()
            .and_then(|t| ScanCursor::decode(&t))
            .ok_or_else(|| JsError::bad_argument("cursor is not one this store returned"))?,
        None => ScanCursor::START,
    };
    let mut parts: [Option<Vec<u8>>; 3] = Default::default();
    for (i, part) in parts.iter_mut().enumerate() {
        *part = env.string_owned(args[1 + i])?;
    }
    let filter = ScanFilter { svc: parts[0].as_deref(), table: parts[1].as_deref(), prefix: parts[2].as_deref() };
    let limit = read_integer(env, args[4], "limit", 1, MAX_SCAN_LIMIT as u64)? as usize;
    let (keys, next) = handle.store.scan(cursor, filter, limit)?;
    let list = env.array(keys.len())?;
    for (i, key) in keys.iter().enumerate() {
        env.set_element(list, i as u32, env.string(key)?)?;
    }
    let out = env.array(2)?;
    env.set_element(out, 0, list)?;
    env.set_element(out, 1, match next { Some(c) => env.string(c.encode().as_bytes())?, None => env.null()? })?;
    Ok(out)
}
