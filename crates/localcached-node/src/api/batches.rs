//! Batches: `mgetPacked`, `mset` and `mdel`.

use super::reads::{copy_out, packed, READ_IN_OVERFLOW, READ_MISS, READ_MISS_EXPIRED};
use super::writes::removals_pending;
use super::Args;
use crate::args::*;
use crate::env::{Env, JsError, JsResult};
use crate::handle::Handle;
use localcached_core::constants::MAX_BATCH_KEYS;
use crate::sys::*;
use localcached_core::{validate_key, Lookup, StoreError};

/// `mgetPacked(joinedKeys, count, out, overflow)`: the fast batch read. Keys arrive as one
/// string joined by newlines (a byte no key may hold) to cost one string read instead of one
/// per key; results go into the Int32Array `out` as `get` packs them, with
/// `READ_IN_OVERFLOW` where the value did not fit in the slab and is in `overflow[i]` as its
/// own Buffer instead.
pub fn mget_packed(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let joined = env.string_owned(args[0])?.ok_or_else(|| JsError::bad_argument("keys must be joined into a string"))?;
    let count = read_integer(env, args[1], "count", 0, MAX_BATCH_KEYS as u64)? as usize;
    // Values too big for the slab; stored into `overflow` (a setter could run JS) only
    // once the borrow of `out` has ended.
    let mut overflow: Vec<(u32, Vec<u8>)> = Vec::new();
    {
        // SAFETY: from here to the end of this block nothing runs JS (store reads and slab
        // copies only), and `out` is the only borrow of that Int32Array.
        let out = unsafe { env.int32_array(args[2]) }?.ok_or_else(|| JsError::bad_argument("out must be an Int32Array"))?;
        if out.len() < count {
            return Err(JsError::bad_argument("out is shorter than count"));
        }
        let keys: Vec<&[u8]> = if count == 0 { Vec::new() } else { joined.split(|&b| b == b'\n').collect() };
        if keys.len() != count {
            // Only a key holding a newline can make the split disagree with the count.
            return Err(JsError::new("InvalidKey", "a key contains a newline; keys are svc:table:pk of [A-Za-z0-9._-]"));
        }
        for key in &keys {
            validate_key(key).map_err(|p| StoreError::invalid_key(key, p))?;
        }
        for (i, key) in keys.iter().enumerate() {
            out[i] = match handle.store.get_with(key, |value| copy_out(handle, value))? {
                Lookup::Hit(Ok((offset, len))) => packed(offset, len),
                Lookup::Hit(Err(value)) => {
                    overflow.push((i as u32, value));
                    READ_IN_OVERFLOW
                }
                Lookup::Miss => READ_MISS,
                Lookup::Expired => READ_MISS_EXPIRED,
            };
        }
    }
    for (i, value) in overflow {
        env.set_element(args[3], i, env.buffer_copy(&value)?)?;
    }
    env.undefined()
}

/// `mset(keys, values, ttlMs?)`: all or nothing; see `removals_pending`.
pub fn mset(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let keys = read_keys(env, args[0])?;
    let count = env.array_length(args[1])?.ok_or_else(|| JsError::bad_argument("values must be an array"))?;
    if count as usize != keys.len() {
        return Err(JsError::bad_argument("keys and values must have the same length"));
    }
    let ttl = read_ttl(env, args[2])?;
    // Reading an element can run a getter, which could detach a Buffer already borrowed:
    // every element is read first, and only then are the values borrowed.
    let elements = (0..count).map(|i| env.element(args[1], i)).collect::<JsResult<Vec<_>>>()?;
    let mut values = Vec::with_capacity(elements.len());
    for element in elements {
        // SAFETY: every argument and element is read; nothing from here to the store call
        // runs JS (reading a value does not).
        values.push(unsafe { read_value(env, element) }?);
    }
    let entries: Vec<(&[u8], &[u8])> = keys.iter().zip(&values).map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
    handle.store.mset(&entries, ttl)?;
    removals_pending(env, handle)
}

/// `mdel(keys)`: for each key, whether it existed.
pub fn mdel(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let keys = read_keys(env, args[0])?;
    let refs: Vec<&[u8]> = keys.iter().map(Vec::as_slice).collect();
    let (_, existed) = handle.store.mdel(&refs)?;
    let out = env.array(existed.len())?;
    for (i, e) in existed.into_iter().enumerate() {
        env.set_element(out, i as u32, env.boolean(e)?)?;
    }
    Ok(out)
}
