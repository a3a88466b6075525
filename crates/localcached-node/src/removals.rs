//! Turns queued removals into the flat array the JS side reads:
//! `[key, cause, key, cause, …, dropped]`, with cause 1 = evicted, 2 = expired,
//! 5 = removed because a key it depended on changed, and
//! `dropped` the number of removals lost to overflow since the last drain.

use crate::env::{Env, JsResult};
use crate::sys::napi_value;
use localcached_core::RemovalSink;

pub fn drain_to_js(env: Env, sink: &RemovalSink) -> JsResult<napi_value> {
    let mut pairs: Vec<(napi_value, napi_value)> = Vec::new();
    let mut failure = None;
    let dropped = sink.drain(|record| {
        if failure.is_some() {
            return;
        }
        match (env.string(record.key()), env.int32(record.cause as i32)) {
            (Ok(key), Ok(cause)) => pairs.push((key, cause)),
            (Err(e), _) | (_, Err(e)) => failure = Some(e),
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    let last = (pairs.len() * 2) as u32;
    let array = env.array(pairs.len() * 2 + 1)?;
    for (i, (key, cause)) in pairs.into_iter().enumerate() {
        env.set_element(array, (i * 2) as u32, key)?;
        env.set_element(array, (i * 2 + 1) as u32, cause)?;
    }
    env.set_element(array, last, env.double(dropped as f64)?)?;
    Ok(array)
}
