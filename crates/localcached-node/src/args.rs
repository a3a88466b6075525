//! Reading and checking the arguments JS passes in, with coded errors a person can act on.

use crate::env::{Env, JsError, JsResult};
use crate::sys::*;
use std::mem::MaybeUninit;
use localcached_core::constants::{MAX_KEY_BYTES, MAX_TTL_MS};
use localcached_core::store::JS_SAFE_INTEGER;
use localcached_core::{validate_key, StoreError};

/// The largest count or version accepted from JS: `Number.MAX_SAFE_INTEGER`, so every one a
/// JS caller can write exactly is accepted and none silently rounds.
pub const MAX_SAFE_COUNT: u64 = JS_SAFE_INTEGER as u64;

/// The stack buffer a key is read into. N-API writes at most `KEY_BUF - 1` bytes and never
/// splits a character, so a longer string always reports at least `KEY_BUF - 4` bytes: any
/// reported length up to `MAX_KEY_BYTES` is exact, and anything longer is over the limit
/// whatever was cut off.
pub const KEY_BUF: usize = MAX_KEY_BYTES + 6;
const _: () = assert!(KEY_BUF - 4 > MAX_KEY_BYTES);

fn type_name(env: Env, value: napi_value) -> &'static str {
    match env.type_of(value) {
        Ok(NAPI_UNDEFINED) => "undefined",
        Ok(NAPI_NULL) => "null",
        Ok(NAPI_BOOLEAN) => "a boolean",
        Ok(NAPI_NUMBER) => "a number",
        Ok(NAPI_STRING) => "a string",
        Ok(NAPI_OBJECT) => "an object",
        Ok(NAPI_FUNCTION) => "a function",
        _ => "another type",
    }
}

/// Reads a key string into `buf` without allocating. Keys are validated by the store; an
/// overlong key is read whole here only so that its error names its real length.
pub fn read_key(env: Env, value: napi_value, buf: &mut [u8; KEY_BUF]) -> JsResult<&[u8]> {
    // Keys are ASCII, so read UTF-16 first: V8 copies a one-byte string's characters out
    // with a plain widening copy, cheaper than encoding UTF-8 (docs/benchmarks.md). A key
    // with any other character, or too long, takes the UTF-8 read below, whose bytes the
    // error names.
    let mut units = [MaybeUninit::<u16>::uninit(); KEY_BUF];
    match env.string_utf16_into(value, &mut units)? {
        Some(units) if units.len() <= MAX_KEY_BYTES => {
            let mut any = 0u16;
            for (byte, &unit) in buf.iter_mut().zip(units) {
                any |= unit;
                *byte = unit as u8;
            }
            if any < 0x80 {
                return Ok(&buf[..units.len()]);
            }
        }
        Some(_) => {}
        None => return Err(not_a_key(env, value)),
    }
    match env.string_into(value, buf)? {
        Some(len) if len <= MAX_KEY_BYTES => Ok(&buf[..len]),
        Some(_) => {
            let whole = env.string_owned(value)?.unwrap_or_default();
            let problem = validate_key(&whole).err().unwrap_or(localcached_core::KeyProblem::TooLong { len: whole.len() });
            Err(StoreError::invalid_key(&whole, problem).into())
        }
        None => Err(not_a_key(env, value)),
    }
}

fn not_a_key(env: Env, value: napi_value) -> JsError {
    JsError::new("InvalidKey", format!("key must be a string of the form svc:table:pk, got {}", type_name(env, value)))
}

/// A value's bytes: borrowed from a Buffer/Uint8Array, or encoded from a string.
pub enum ValueBytes<'a> {
    Borrowed(&'a [u8]),
    Owned(Vec<u8>),
}

impl ValueBytes<'_> {
    pub fn as_slice(&self) -> &[u8] {
        match self {
            ValueBytes::Borrowed(b) => b,
            ValueBytes::Owned(v) => v,
        }
    }
}

/// A value argument: a Buffer or Uint8Array borrowed, a string copied out as UTF-8.
///
/// # Safety
/// As `Env::uint8_array`: use the bytes before returning to JS and make no call that can
/// run JS (reading an array element or an object property) while they are held. Read
/// every other argument first and the value last, right before the store call.
pub unsafe fn read_value<'a>(env: Env, value: napi_value) -> JsResult<ValueBytes<'a>> {
    // SAFETY: the caller keeps the borrow within the rule above.
    if let Some(bytes) = unsafe { env.uint8_array(value) }? {
        return Ok(ValueBytes::Borrowed(bytes));
    }
    if let Some(bytes) = env.string_owned(value)? {
        return Ok(ValueBytes::Owned(bytes));
    }
    Err(JsError::bad_argument(format!(
        "value must be a Buffer, Uint8Array or string, got {}",
        type_name(env, value)
    )))
}

/// A whole number in `min..=max`, for option and argument checks.
pub fn read_integer(env: Env, value: napi_value, name: &str, min: u64, max: u64) -> JsResult<u64> {
    match env.number(value)? {
        Some(n) if n.fract() == 0.0 && n >= min as f64 && n <= max as f64 => Ok(n as u64),
        Some(n) => Err(JsError::bad_argument(format!("{name} must be an integer from {min} to {max}, got {n}"))),
        None => Err(JsError::bad_argument(format!("{name} must be an integer from {min} to {max}, got {}", type_name(env, value)))),
    }
}

/// `ttlMs`: absent means no expiry; otherwise a positive integer number of milliseconds.
pub fn read_ttl(env: Env, value: napi_value) -> JsResult<Option<u64>> {
    if env.type_of(value)? == NAPI_UNDEFINED {
        return Ok(None);
    }
    match env.number(value)? {
        Some(n) if n.fract() == 0.0 && n >= 1.0 && n <= MAX_TTL_MS as f64 => Ok(Some(n as u64)),
        Some(n) => Err(JsError::bad_argument(format!(
            "ttlMs must be a positive integer number of milliseconds (omit it for no expiry), got {n}"
        ))),
        None => Err(JsError::bad_argument(format!(
            "ttlMs must be a positive integer number of milliseconds, got {}",
            type_name(env, value)
        ))),
    }
}

/// `version`: absent means an unversioned write; otherwise a non-negative safe integer.
pub fn read_version(env: Env, value: napi_value) -> JsResult<Option<u64>> {
    if env.type_of(value)? == NAPI_UNDEFINED {
        return Ok(None);
    }
    read_integer(env, value, "version", 0, MAX_SAFE_COUNT).map(Some)
}

/// Reads a JS array of key strings (each validated by the store later).
pub fn read_keys(env: Env, value: napi_value) -> JsResult<Vec<Vec<u8>>> {
    let len = env.array_length(value)?.ok_or_else(|| JsError::bad_argument("keys must be an array of strings"))?;
    let mut keys = Vec::with_capacity(len as usize);
    for i in 0..len {
        let element = env.element(value, i)?;
        let mut buf = [0u8; KEY_BUF];
        keys.push(read_key(env, element, &mut buf)?.to_vec());
    }
    Ok(keys)
}

/// An optional named option of an options object: `None` when absent or undefined.
pub fn option(env: Env, object: napi_value, name: &std::ffi::CStr) -> JsResult<Option<napi_value>> {
    let value = env.get_named(object, name)?;
    Ok((env.type_of(value)? != NAPI_UNDEFINED).then_some(value))
}

pub fn is_object(env: Env, value: napi_value) -> JsResult<bool> {
    Ok(env.type_of(value)? == NAPI_OBJECT)
}

/// A string argument's UTF-8, or `BadArgument` naming it.
pub fn read_string(env: Env, value: napi_value, name: &str) -> JsResult<Vec<u8>> {
    env.string_owned(value)?.ok_or_else(|| JsError::bad_argument(format!("{name} must be a string")))
}
