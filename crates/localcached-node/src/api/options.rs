//! The options object of `createStore` and `openStore`, and the canonical description of
//! it that `openStore` compares so that every opener of a shared store agrees.

use crate::args::{is_object, option, read_integer, MAX_SAFE_COUNT};
use crate::env::{Env, JsError, JsResult};
use crate::limits::MAX_SWEEP_INTERVAL_MS;
use crate::sys::*;
use localcached_core::constants::*;
use localcached_core::{Clock, StoreOptions};

/// The options of a store, and a canonical description of them that shared stores compare.
pub struct ParsedOptions {
    pub store: StoreOptions,
    pub sweep_interval_ms: u64,
    pub fingerprint: String,
}

/// Reads the options object (or `undefined`, for every default). Reading its properties
/// can run getters.
pub fn read_options(env: Env, options: napi_value) -> JsResult<ParsedOptions> {
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
        parsed.max_bytes = read_integer(env, v, "maxBytes", 1, MAX_SAFE_COUNT)?;
    }
    if let Some(v) = option(env, options, c"shards")? {
        parsed.shards = Some(read_integer(env, v, "shards", 1, MAX_SHARDS as u64)? as usize);
    }
    if let Some(v) = option(env, options, c"maxValueBytes")? {
        parsed.max_value_bytes = read_integer(env, v, "maxValueBytes", 1, MAX_VALUE_BYTES_LIMIT)?;
    }
    if let Some(v) = option(env, options, c"sweepIntervalMs")? {
        sweep_interval_ms = read_integer(env, v, "sweepIntervalMs", 0, MAX_SWEEP_INTERVAL_MS)?;
    }
    if let Some(v) = option(env, options, c"maxKeys")? {
        parsed.max_keys = Some(read_integer(env, v, "maxKeys", 1, MAX_SAFE_COUNT)?);
    }
    if let Some(v) = option(env, options, c"svcCaps")? {
        // [[svc, bytes], …] (the TS layer turns { svc: bytes } into this).
        let n = env.array_length(v)?.ok_or_else(|| JsError::bad_argument("svcCaps must be an object of service: bytes"))?;
        for i in 0..n {
            let pair = env.element(v, i)?;
            let svc = env.string_owned(env.element(pair, 0)?)?.ok_or_else(|| JsError::bad_argument("svcCaps keys must be service names"))?;
            let cap = read_integer(env, env.element(pair, 1)?, "svcCaps value", 1, MAX_SAFE_COUNT)?;
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
