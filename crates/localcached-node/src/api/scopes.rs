//! Removals by scope: `invalidateTable`, `invalidateService`, `invalidatePrefix` and
//! `clear`. Each removes the matching entries without removal notices and returns how many.

use super::Args;
use crate::args::read_string;
use crate::env::{Env, JsResult};
use crate::handle::Handle;
use crate::sys::*;

/// `invalidateTable(svc, table)`
pub fn invalidate_table(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    let (svc, table) = (read_string(env, args[0], "svc")?, read_string(env, args[1], "table")?);
    env.double(handle.store.invalidate_table(&svc, &table)? as f64)
}

/// `invalidateService(svc)`
pub fn invalidate_service(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    env.double(handle.store.invalidate_service(&read_string(env, args[0], "svc")?)? as f64)
}

/// `invalidatePrefix(prefix)`: the entries whose key starts with `prefix`.
pub fn invalidate_prefix(env: Env, handle: &Handle, args: &Args) -> JsResult<napi_value> {
    env.double(handle.store.invalidate_prefix(&read_string(env, args[0], "prefix")?)? as f64)
}

/// `clear()`: every entry.
pub fn clear(env: Env, handle: &Handle, _args: &Args) -> JsResult<napi_value> {
    env.double(handle.store.clear() as f64)
}
