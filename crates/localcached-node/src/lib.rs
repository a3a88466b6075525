//! localcached-node: the N-API binding of localcached-core. Every `unsafe` line of the
//! project lives in this crate: `sys` declares the N-API functions and resolves them when
//! the module registers, `env` wraps them in checked calls, and `api` exports `createStore`
//! and `openStore`, whose functions `binding.d.ts` types. Every `unsafe` block carries a `// SAFETY:` comment and every
//! `unsafe fn` a `# Safety` section; `tests/unsafe_hygiene.rs` checks both.

#![deny(unsafe_op_in_unsafe_fn)]

mod allocator;
mod api;
mod args;
mod background;
mod env;
mod handle;
mod limits;
mod notify;
mod priority;
mod removals;
mod shared;
mod sweeper;
mod sys;

use env::{guard, Env, JsResult};
use localcached_core::constants::*;
use sys::{napi_env, napi_value};

fn export_constants(env: Env, exports: napi_value) -> JsResult<()> {
    let constants = [
        (c"ENTRY_OVERHEAD_BYTES", ENTRY_OVERHEAD_BYTES as f64),
        (c"TTL_OVERHEAD_BYTES", TTL_OVERHEAD_BYTES as f64),
        (c"VERSION_OVERHEAD_BYTES", VERSION_OVERHEAD_BYTES as f64),
        (c"GROUP_OVERHEAD_BYTES", GROUP_OVERHEAD_BYTES as f64),
        (c"MAX_KEY_BYTES", MAX_KEY_BYTES as f64),
        (c"DEFAULT_MAX_BYTES", DEFAULT_MAX_BYTES as f64),
        (c"DEFAULT_MAX_VALUE_BYTES", DEFAULT_MAX_VALUE_BYTES as f64),
        (c"DEFAULT_SWEEP_INTERVAL_MS", DEFAULT_SWEEP_INTERVAL_MS as f64),
        (c"REMOVAL_QUEUE_CAPACITY", REMOVAL_QUEUE_CAPACITY as f64),
        (c"READ_MISS", api::READ_MISS as f64),
        (c"READ_MISS_EXPIRED", api::READ_MISS_EXPIRED as f64),
        (c"READ_IN_OVERFLOW", api::READ_IN_OVERFLOW as f64),
    ];
    for (name, value) in constants {
        env.set_named(exports, name, env.double(value)?)?;
    }
    Ok(())
}

/// `tuneAllocatorForDaemon()`: see `allocator.rs`; returns whether anything was tuned.
///
/// # Safety
/// Called by N-API on the JS thread with the env of a call.
unsafe extern "C" fn tune_allocator_for_daemon(env: napi_env, _info: sys::napi_callback_info) -> napi_value {
    guard(env, |env| env.boolean(allocator::tune_for_daemon()))
}

/// Module entry point, looked up by name when Node loads the `.node` file. It resolves
/// the N-API functions first (`sys::load`): nothing else may call N-API before that.
///
/// # Safety
/// Called by Node on the JS thread with a valid env and exports object.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    if let Err(missing) = sys::load() {
        let message = format!(
            "localcached-native cannot load: this Node.js does not provide the N-API function {} \
             (the addon needs N-API 8: Node.js 20 or later)",
            missing.to_string_lossy()
        );
        let message = std::ffi::CString::new(message).unwrap_or_default();
        // SAFETY: `env` is this call's env, on its JS thread. If even `napi_throw_error` is
        // missing, nothing can be thrown: Node then sees empty exports, which the TS loader
        // reports as an addon that "does not export createStore".
        unsafe { sys::throw_without_table(env, c"NotSupported", &message) };
        return std::ptr::null_mut();
    }
    guard(env, |env| {
        let create_store = env.function(c"createStore", api::create_store)?;
        env.set_named(exports, c"createStore", create_store)?;
        env.set_named(exports, c"openStore", env.function(c"openStore", api::open_store)?)?;
        export_constants(env, exports)?;
        env.set_named(exports, c"tuneAllocatorForDaemon", env.function(c"tuneAllocatorForDaemon", tune_allocator_for_daemon)?)?;
        Ok(exports)
    })
}

/// The N-API version we are built against: 8, which Node 20, 22 and 24 all provide.
#[no_mangle]
pub extern "C" fn node_api_module_get_api_version_v1() -> i32 {
    8
}
