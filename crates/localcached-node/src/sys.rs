//! The N-API surface we use, declared by hand from Node's `js_native_api.h`,
//! `js_native_api_types.h`, `node_api.h` and `node_api_types.h` (N-API version 8, which
//! Node 20, 22 and 24 all provide). Only the functions this crate calls are declared, all
//! in the one `napi_functions!` list at the end of this file.
//!
//! The addon does not link against the `napi_*` symbols: they live in the host executable
//! (node), which an MSVC link cannot leave unresolved and macOS only accepts with
//! `-undefined dynamic_lookup`. Instead, as napi-rs does, `load` looks every function up in
//! the running process once, at module registration (`dlsym(RTLD_DEFAULT, …)` on Unix,
//! `GetProcAddress(GetModuleHandleW(NULL), …)` on Windows), into one table of function
//! pointers; the `napi_xxx` functions below forward to it. Every platform, Linux included,
//! takes the same path, so the whole test suite exercises it.

#![allow(non_camel_case_types, dead_code)]

use std::cell::UnsafeCell;
use std::ffi::CStr;
use std::os::raw::{c_char, c_void};
use std::sync::OnceLock;

#[repr(C)]
pub struct napi_env__ {
    _unused: [u8; 0],
}
pub type napi_env = *mut napi_env__;

#[repr(C)]
pub struct napi_value__ {
    _unused: [u8; 0],
}
pub type napi_value = *mut napi_value__;

#[repr(C)]
pub struct napi_ref__ {
    _unused: [u8; 0],
}
pub type napi_ref = *mut napi_ref__;

#[repr(C)]
pub struct napi_callback_info__ {
    _unused: [u8; 0],
}
pub type napi_callback_info = *mut napi_callback_info__;

#[repr(C)]
pub struct napi_threadsafe_function__ {
    _unused: [u8; 0],
}
pub type napi_threadsafe_function = *mut napi_threadsafe_function__;

#[repr(C)]
pub struct napi_deferred__ {
    _unused: [u8; 0],
}
pub type napi_deferred = *mut napi_deferred__;

pub type napi_status = i32;
pub const NAPI_OK: napi_status = 0;
pub const NAPI_INVALID_ARG: napi_status = 1;
pub const NAPI_STRING_EXPECTED: napi_status = 3;
pub const NAPI_NUMBER_EXPECTED: napi_status = 6;
pub const NAPI_BOOLEAN_EXPECTED: napi_status = 7;
pub const NAPI_ARRAY_EXPECTED: napi_status = 8;
pub const NAPI_GENERIC_FAILURE: napi_status = 9;
pub const NAPI_PENDING_EXCEPTION: napi_status = 10;

pub type napi_valuetype = i32;
pub const NAPI_UNDEFINED: napi_valuetype = 0;
pub const NAPI_NULL: napi_valuetype = 1;
pub const NAPI_BOOLEAN: napi_valuetype = 2;
pub const NAPI_NUMBER: napi_valuetype = 3;
pub const NAPI_STRING: napi_valuetype = 4;
pub const NAPI_OBJECT: napi_valuetype = 6;
pub const NAPI_FUNCTION: napi_valuetype = 7;

pub type napi_typedarray_type = i32;
pub const NAPI_UINT8_ARRAY: napi_typedarray_type = 1;
pub const NAPI_INT32_ARRAY: napi_typedarray_type = 5;

pub type napi_threadsafe_function_release_mode = i32;
pub const NAPI_TSFN_RELEASE: napi_threadsafe_function_release_mode = 0;
pub const NAPI_TSFN_ABORT: napi_threadsafe_function_release_mode = 1;

pub type napi_threadsafe_function_call_mode = i32;
pub const NAPI_TSFN_NONBLOCKING: napi_threadsafe_function_call_mode = 0;
pub const NAPI_TSFN_BLOCKING: napi_threadsafe_function_call_mode = 1;

pub type napi_callback = Option<unsafe extern "C" fn(env: napi_env, info: napi_callback_info) -> napi_value>;
pub type napi_finalize = Option<unsafe extern "C" fn(env: napi_env, data: *mut c_void, hint: *mut c_void)>;
pub type napi_cleanup_hook = Option<unsafe extern "C" fn(arg: *mut c_void)>;
pub type napi_threadsafe_function_call_js =
    Option<unsafe extern "C" fn(env: napi_env, js_callback: napi_value, context: *mut c_void, data: *mut c_void)>;


/// Declares the N-API functions we call, one line each (`fn name(args) -> napi_status;`,
/// the C signature), and generates from that one list:
/// - `Table`, a function pointer per name, and `TABLE`, which holds a stand-in per function
///   (failing with `napi_generic_failure`) until `load` fills it with the host's;
/// - `FUNCTION_NAMES`, every name in list order (the tests read it);
/// - `load_with`, which fills a `Table` from a lookup and names the first missing function;
/// - a forwarding `unsafe fn napi_xxx(…)` per function, with the C function's signature
///   and contract, so callers read as if they called N-API directly. Each compiles to one
///   indirect call through `TABLE`, as a call through the GOT did when we linked N-API.
macro_rules! napi_functions {
    ($(fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> napi_status;)*) => {
        /// The host's N-API functions, resolved by `load`.
        struct Table {
            $($name: unsafe extern "C" fn($($ty),*) -> napi_status,)*
        }

        /// What the table holds until `load` succeeds: functions that fail without doing
        /// anything (unreachable from Node: registration loads the table first).
        #[allow(unused_variables)]
        mod unloaded {
            use super::*;
            $(pub extern "C" fn $name($($arg: $ty),*) -> napi_status { NAPI_GENERIC_FAILURE })*
        }

        static TABLE: TableCell = TableCell(UnsafeCell::new(Table { $($name: unloaded::$name,)* }));

        /// The name of every N-API function we call, in declaration order.
        pub const FUNCTION_NAMES: &[&CStr] = &[$(c_name(concat!(stringify!($name), "\0")),)*];

        /// Looks every function up with `lookup`; the error is the first name it could not find.
        fn load_with(mut lookup: impl FnMut(&'static CStr) -> *mut c_void) -> Result<Table, &'static CStr> {
            Ok(Table {
                $($name: {
                    let name = c_name(concat!(stringify!($name), "\0"));
                    let address = lookup(name);
                    if address.is_null() {
                        return Err(name);
                    }
                    // SAFETY: `address` is the host's exported function of this name, whose C
                    // signature (node_api.h, js_native_api.h) is the one declared in the list;
                    // a function address and a non-null data pointer have the same size.
                    unsafe { std::mem::transmute::<*mut c_void, unsafe extern "C" fn($($ty),*) -> napi_status>(address) }
                },)*
            })
        }

        $(
            /// Calls the host's N-API function of the same name through the table (before
            /// `load` has succeeded: a stand-in that returns `napi_generic_failure`).
            ///
            /// # Safety
            /// The C function's contract (Node's N-API documentation): valid env and
            /// handles, pointers valid for what the function reads or writes, and the
            /// JS thread, except for the functions documented as callable from any thread.
            #[inline(always)]
            pub unsafe fn $name($($arg: $ty),*) -> napi_status {
                // SAFETY: reading the table races with no write (see `TableCell`); the entry
                // is the host's function of this name and signature (`load_with`) or its
                // stand-in; the caller upholds the C function's contract.
                unsafe { ((*TABLE.0.get()).$name)($($arg),*) }
            }
        )*
    };
}

/// A name with its NUL as a `CStr`, at compile time.
const fn c_name(with_nul: &'static str) -> &'static CStr {
    match CStr::from_bytes_with_nul(with_nul.as_bytes()) {
        Ok(name) => name,
        Err(_) => panic!("an N-API function name with an interior NUL"),
    }
}

/// The table, read by every N-API call on any thread without a check: written once only,
/// inside `LOADED`'s initialisation in `load`, and every thread that calls N-API does so
/// after that write, ordered by it — a JS thread because its env's registration ran `load`
/// first (`get_or_init` makes a concurrent caller wait for the write and synchronises with
/// it), a sweeper thread because it is spawned later by a JS thread.
struct TableCell(UnsafeCell<Table>);

// SAFETY: no read races with the one write (above); the pointers themselves are plain data.
unsafe impl Sync for TableCell {}

/// The outcome of the first `load`: the host's exports do not change, so neither does it.
static LOADED: OnceLock<Result<(), &'static CStr>> = OnceLock::new();

/// Resolves every N-API function in the running process into the table, once per process
/// (later calls, from other envs such as worker threads, return the first outcome). The
/// error names the first function the host does not export; the table is then left as is.
pub fn load() -> Result<(), &'static CStr> {
    *LOADED.get_or_init(|| {
        let table = load_with(host::lookup)?;
        // SAFETY: this is the one write, inside `LOADED`'s one-time initialisation; no thread
        // reads the table meanwhile (see `TableCell`).
        unsafe { *TABLE.0.get() = table };
        Ok(())
    })
}

/// Throws `Error(message)` with `code` in `env` without the table (for the failure of
/// `load` itself), if the host exports `napi_throw_error`; returns whether it threw.
///
/// # Safety
/// `env` is the env of the current call, on its JS thread.
pub unsafe fn throw_without_table(env: napi_env, code: &CStr, message: &CStr) -> bool {
    type ThrowError = unsafe extern "C" fn(napi_env, *const c_char, *const c_char) -> napi_status;
    let address = host::lookup(c"napi_throw_error");
    if address.is_null() {
        return false;
    }
    // SAFETY: `address` is the host's `napi_throw_error`, whose C signature `ThrowError` is.
    let throw_error = unsafe { std::mem::transmute::<*mut c_void, ThrowError>(address) };
    // SAFETY: `env` is the current call's env (the caller's guarantee); both strings are
    // NUL-terminated and outlive the call.
    unsafe { throw_error(env, code.as_ptr(), message.as_ptr()) == NAPI_OK }
}

/// Symbol lookup in the running process, which is the host that loaded us.
#[cfg(unix)]
mod host {
    use std::ffi::CStr;
    use std::os::raw::{c_char, c_void};

    /// `RTLD_DEFAULT`: search the global scope (the executable and what it loaded).
    #[cfg(target_os = "linux")]
    const RTLD_DEFAULT: *mut c_void = std::ptr::null_mut(); // glibc and musl: ((void *)0)
    #[cfg(any(target_os = "macos", target_os = "ios", target_os = "freebsd"))]
    const RTLD_DEFAULT: *mut c_void = (usize::MAX - 1) as *mut c_void; // ((void *)-2)
    #[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "ios", target_os = "freebsd")))]
    compile_error!("localcached-node: add this target's RTLD_DEFAULT to sys.rs");

    extern "C" {
        fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    }

    /// The address of the global symbol `name`, or null.
    pub fn lookup(name: &CStr) -> *mut c_void {
        // SAFETY: `name` is NUL-terminated; `RTLD_DEFAULT` is a pseudo-handle dlsym accepts
        // on this platform.
        unsafe { dlsym(RTLD_DEFAULT, name.as_ptr()) }
    }
}

/// Symbol lookup in the running process's executable (node.exe exports N-API).
#[cfg(windows)]
mod host {
    use std::ffi::CStr;
    use std::os::raw::{c_char, c_void};

    #[link(name = "kernel32")]
    extern "system" {
        fn GetModuleHandleW(module_name: *const u16) -> *mut c_void;
        fn GetProcAddress(module: *mut c_void, proc_name: *const c_char) -> *mut c_void;
    }

    /// The address of the executable's export `name`, or null.
    pub fn lookup(name: &CStr) -> *mut c_void {
        // SAFETY: a null name asks for the executable's own module handle, which stays
        // valid for the life of the process (no reference count is taken).
        let executable = unsafe { GetModuleHandleW(std::ptr::null()) };
        if executable.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: `executable` is a loaded module's handle; `name` is NUL-terminated.
        unsafe { GetProcAddress(executable, name.as_ptr()) }
    }
}

napi_functions! {
    fn napi_get_undefined(env: napi_env, result: *mut napi_value) -> napi_status;
    fn napi_get_null(env: napi_env, result: *mut napi_value) -> napi_status;
    fn napi_get_boolean(env: napi_env, value: bool, result: *mut napi_value) -> napi_status;
    fn napi_create_int32(env: napi_env, value: i32, result: *mut napi_value) -> napi_status;
    fn napi_create_double(env: napi_env, value: f64, result: *mut napi_value) -> napi_status;
    fn napi_create_string_utf8(env: napi_env, s: *const c_char, length: usize, result: *mut napi_value) -> napi_status;
    fn napi_create_array_with_length(env: napi_env, length: usize, result: *mut napi_value) -> napi_status;
    fn napi_get_array_length(env: napi_env, value: napi_value, result: *mut u32) -> napi_status;
    fn napi_get_element(env: napi_env, object: napi_value, index: u32, result: *mut napi_value) -> napi_status;
    fn napi_set_element(env: napi_env, object: napi_value, index: u32, value: napi_value) -> napi_status;
    fn napi_set_named_property(env: napi_env, object: napi_value, name: *const c_char, value: napi_value) -> napi_status;
    fn napi_get_named_property(env: napi_env, object: napi_value, name: *const c_char, result: *mut napi_value) -> napi_status;
    fn napi_typeof(env: napi_env, value: napi_value, result: *mut napi_valuetype) -> napi_status;
    fn napi_get_value_double(env: napi_env, value: napi_value, result: *mut f64) -> napi_status;
    fn napi_get_value_bool(env: napi_env, value: napi_value, result: *mut bool) -> napi_status;
    fn napi_get_value_string_utf8(env: napi_env, value: napi_value, buf: *mut c_char, bufsize: usize, result: *mut usize) -> napi_status;
    fn napi_get_value_string_utf16(env: napi_env, value: napi_value, buf: *mut u16, bufsize: usize, result: *mut usize) -> napi_status;
    fn napi_get_typedarray_info(env: napi_env, typedarray: napi_value, kind: *mut napi_typedarray_type, length: *mut usize, data: *mut *mut c_void, arraybuffer: *mut napi_value, byte_offset: *mut usize) -> napi_status;
    fn napi_create_buffer_copy(env: napi_env, length: usize, data: *const c_void, result_data: *mut *mut c_void, result: *mut napi_value) -> napi_status;
    fn napi_get_cb_info(env: napi_env, info: napi_callback_info, argc: *mut usize, argv: *mut napi_value, this_arg: *mut napi_value, data: *mut *mut c_void) -> napi_status;
    fn napi_create_function(env: napi_env, utf8name: *const c_char, length: usize, cb: napi_callback, data: *mut c_void, result: *mut napi_value) -> napi_status;
    fn napi_create_object(env: napi_env, result: *mut napi_value) -> napi_status;
    fn napi_add_finalizer(env: napi_env, js_object: napi_value, finalize_data: *mut c_void, finalize_cb: napi_finalize, finalize_hint: *mut c_void, result: *mut napi_ref) -> napi_status;
    fn napi_create_reference(env: napi_env, value: napi_value, initial_refcount: u32, result: *mut napi_ref) -> napi_status;
    fn napi_delete_reference(env: napi_env, reference: napi_ref) -> napi_status;
    fn napi_throw_error(env: napi_env, code: *const c_char, msg: *const c_char) -> napi_status;
    fn napi_is_exception_pending(env: napi_env, result: *mut bool) -> napi_status;
    fn napi_call_function(env: napi_env, recv: napi_value, func: napi_value, argc: usize, argv: *const napi_value, result: *mut napi_value) -> napi_status;
    fn napi_add_env_cleanup_hook(env: napi_env, fun: napi_cleanup_hook, arg: *mut c_void) -> napi_status;
    fn napi_remove_env_cleanup_hook(env: napi_env, fun: napi_cleanup_hook, arg: *mut c_void) -> napi_status;
    fn napi_create_threadsafe_function(env: napi_env, func: napi_value, async_resource: napi_value, async_resource_name: napi_value, max_queue_size: usize, initial_thread_count: usize, thread_finalize_data: *mut c_void, thread_finalize_cb: napi_finalize, context: *mut c_void, call_js_cb: napi_threadsafe_function_call_js, result: *mut napi_threadsafe_function) -> napi_status;
    fn napi_call_threadsafe_function(func: napi_threadsafe_function, data: *mut c_void, is_blocking: napi_threadsafe_function_call_mode) -> napi_status;
    fn napi_release_threadsafe_function(func: napi_threadsafe_function, mode: napi_threadsafe_function_release_mode) -> napi_status;
    fn napi_unref_threadsafe_function(env: napi_env, func: napi_threadsafe_function) -> napi_status;
    fn napi_create_promise(env: napi_env, deferred: *mut napi_deferred, promise: *mut napi_value) -> napi_status;
    fn napi_resolve_deferred(env: napi_env, deferred: napi_deferred, resolution: napi_value) -> napi_status;
    fn napi_reject_deferred(env: napi_env, deferred: napi_deferred, rejection: napi_value) -> napi_status;
    fn napi_create_error(env: napi_env, code: napi_value, msg: napi_value, result: *mut napi_value) -> napi_status;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_with_names_the_first_missing_function() {
        let missing = c"napi_typeof";
        let found = load_with(|name| if name == missing { std::ptr::null_mut() } else { 0x1000 as *mut c_void });
        assert_eq!(found.err(), Some(missing));
        let mut asked = Vec::new();
        let all = load_with(|name| {
            asked.push(name);
            0x1000 as *mut c_void
        });
        assert!(all.is_ok());
        assert_eq!(asked, FUNCTION_NAMES, "every listed function is looked up, once, in order");
    }

    #[test]
    fn outside_node_nothing_resolves_and_calls_fail_cleanly() {
        // This test binary is not node: it exports no N-API function, so the real lookup
        // reports the first name, the table keeps its stand-ins, and calls fail cleanly.
        assert_eq!(load(), Err(FUNCTION_NAMES[0]));
        let mut out = std::ptr::null_mut();
        // SAFETY: the stand-in reads nothing.
        assert_eq!(unsafe { napi_get_undefined(std::ptr::null_mut(), &mut out) }, NAPI_GENERIC_FAILURE);
        // The real lookup does find what the process does export (on Windows, where it
        // reads only the executable's own exports, this test executable has none).
        #[cfg(unix)]
        assert!(!host::lookup(c"malloc").is_null());
    }

    #[test]
    fn names_are_unique_napi_names() {
        let mut names: Vec<_> = FUNCTION_NAMES.iter().map(|n| n.to_str().unwrap()).collect();
        assert!(names.iter().all(|n| n.starts_with("napi_")));
        names.sort();
        names.dedup();
        assert_eq!(names.len(), FUNCTION_NAMES.len());
    }
}
