//! A thin safe layer over `sys`: every N-API call checked and turned into a `Result`,
//! and `guard`, which keeps panics and errors from crossing the FFI boundary.

use crate::sys::*;
use std::ffi::CString;
use std::mem::MaybeUninit;
use std::os::raw::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;

/// An error on its way to JavaScript.
#[derive(Debug)]
pub enum JsError {
    /// A JS exception is already pending (a getter threw, say); it propagates as is.
    Pending,
    /// Throw `Error(message)` with `code`.
    Throw { code: &'static str, message: String },
}

impl JsError {
    pub fn new(code: &'static str, message: impl Into<String>) -> JsError {
        JsError::Throw { code, message: message.into() }
    }
    pub fn bad_argument(message: impl Into<String>) -> JsError {
        JsError::new("BadArgument", message)
    }
}

impl From<localcached_core::StoreError> for JsError {
    fn from(err: localcached_core::StoreError) -> JsError {
        JsError::new(err.code(), err.to_string())
    }
}

pub type JsResult<T> = Result<T, JsError>;

#[derive(Clone, Copy)]
pub struct Env(pub napi_env);

impl Env {
    fn check(self, status: napi_status, what: &'static str) -> JsResult<()> {
        if status == NAPI_OK {
            return Ok(());
        }
        if status == NAPI_PENDING_EXCEPTION || self.exception_pending() {
            return Err(JsError::Pending);
        }
        Err(JsError::new("Internal", format!("N-API call {what} failed with status {status}")))
    }

    /// Whether a JS exception is pending. A failing query (only possible with an invalid
    /// env) reads as "none pending": the caller then reports its own error instead.
    pub fn exception_pending(self) -> bool {
        let mut pending = false;
        // SAFETY: `self.0` is the env of the current callback; `pending` is a valid out-pointer.
        let status = unsafe { napi_is_exception_pending(self.0, &mut pending) };
        status == NAPI_OK && pending
    }

    /// Throws `err` unless an exception is already pending (Node's NODE_API_CALL pattern).
    pub fn throw(self, err: JsError) {
        if let JsError::Throw { code, message } = err {
            if self.exception_pending() {
                return;
            }
            let code = CString::new(code).unwrap_or_default();
            let message = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
            // SAFETY: both pointers are NUL-terminated strings that outlive the call.
            let status = unsafe { napi_throw_error(self.0, code.as_ptr(), message.as_ptr()) };
            // The status is ignored because throwing is itself the error report: it fails
            // only when the env cannot run JS any more (teardown), and then the call's
            // `undefined` result is all that can reach the caller.
            let _ = status;
        }
    }

    pub fn undefined(self) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: valid env and out-pointer.
        self.check(unsafe { napi_get_undefined(self.0, &mut out) }, "napi_get_undefined")?;
        Ok(out)
    }

    pub fn boolean(self, value: bool) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: valid env and out-pointer.
        self.check(unsafe { napi_get_boolean(self.0, value, &mut out) }, "napi_get_boolean")?;
        Ok(out)
    }

    pub fn int32(self, value: i32) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: valid env and out-pointer.
        self.check(unsafe { napi_create_int32(self.0, value, &mut out) }, "napi_create_int32")?;
        Ok(out)
    }

    pub fn double(self, value: f64) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: valid env and out-pointer.
        self.check(unsafe { napi_create_double(self.0, value, &mut out) }, "napi_create_double")?;
        Ok(out)
    }

    pub fn string(self, value: &[u8]) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: the pointer and length describe `value`, which outlives the call; N-API
        // copies the bytes (replacing invalid UTF-8, which our keys never contain).
        let status = unsafe { napi_create_string_utf8(self.0, value.as_ptr().cast(), value.len(), &mut out) };
        self.check(status, "napi_create_string_utf8")?;
        Ok(out)
    }

    pub fn buffer_copy(self, bytes: &[u8]) -> JsResult<napi_value> {
        let mut out = null_mut();
        let mut data = null_mut();
        // SAFETY: N-API copies `bytes.len()` bytes from a pointer valid for that many.
        let status = unsafe { napi_create_buffer_copy(self.0, bytes.len(), bytes.as_ptr().cast(), &mut data, &mut out) };
        self.check(status, "napi_create_buffer_copy")?;
        Ok(out)
    }

    pub fn function(
        self,
        name: &std::ffi::CStr,
        callback: unsafe extern "C" fn(napi_env, napi_callback_info) -> napi_value,
    ) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: `name` is NUL-terminated; the callback is a valid N-API callback.
        let status = unsafe { napi_create_function(self.0, name.as_ptr(), usize::MAX, Some(callback), null_mut(), &mut out) };
        self.check(status, "napi_create_function")?;
        Ok(out)
    }

    pub fn object(self) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: valid env and out-pointer.
        self.check(unsafe { napi_create_object(self.0, &mut out) }, "napi_create_object")?;
        Ok(out)
    }

    pub fn array(self, len: usize) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: valid env and out-pointer.
        self.check(unsafe { napi_create_array_with_length(self.0, len, &mut out) }, "napi_create_array_with_length")?;
        Ok(out)
    }

    pub fn null(self) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: valid env and out-pointer.
        self.check(unsafe { napi_get_null(self.0, &mut out) }, "napi_get_null")?;
        Ok(out)
    }

    /// The length of a JS array, or `None` if `value` is not an array.
    pub fn array_length(self, value: napi_value) -> JsResult<Option<u32>> {
        let mut len = 0;
        // SAFETY: valid env, handle and out-pointer.
        let status = unsafe { napi_get_array_length(self.0, value, &mut len) };
        if status == NAPI_ARRAY_EXPECTED {
            return Ok(None);
        }
        self.check(status, "napi_get_array_length")?;
        Ok(Some(len))
    }

    pub fn element(self, array: napi_value, index: u32) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: valid env, handle and out-pointer.
        self.check(unsafe { napi_get_element(self.0, array, index, &mut out) }, "napi_get_element")?;
        Ok(out)
    }

    pub fn set_element(self, array: napi_value, index: u32, value: napi_value) -> JsResult<()> {
        // SAFETY: handles come from this env within the current scope.
        self.check(unsafe { napi_set_element(self.0, array, index, value) }, "napi_set_element")
    }

    pub fn set_named(self, object: napi_value, name: &std::ffi::CStr, value: napi_value) -> JsResult<()> {
        // SAFETY: `name` is NUL-terminated; handles come from this env.
        self.check(unsafe { napi_set_named_property(self.0, object, name.as_ptr(), value) }, "napi_set_named_property")
    }

    pub fn get_named(self, object: napi_value, name: &std::ffi::CStr) -> JsResult<napi_value> {
        let mut out = null_mut();
        // SAFETY: `name` is NUL-terminated; handles come from this env.
        let status = unsafe { napi_get_named_property(self.0, object, name.as_ptr(), &mut out) };
        self.check(status, "napi_get_named_property")?;
        Ok(out)
    }

    pub fn type_of(self, value: napi_value) -> JsResult<napi_valuetype> {
        let mut out = 0;
        // SAFETY: valid env, handle and out-pointer.
        self.check(unsafe { napi_typeof(self.0, value, &mut out) }, "napi_typeof")?;
        Ok(out)
    }

    /// The number, or `None` if `value` is not a number.
    pub fn number(self, value: napi_value) -> JsResult<Option<f64>> {
        let mut out = 0.0;
        // SAFETY: valid env, handle and out-pointer.
        let status = unsafe { napi_get_value_double(self.0, value, &mut out) };
        if status == NAPI_NUMBER_EXPECTED {
            return Ok(None);
        }
        self.check(status, "napi_get_value_double")?;
        Ok(Some(out))
    }

    /// The boolean, or `None` if `value` is not a boolean.
    pub fn bool(self, value: napi_value) -> JsResult<Option<bool>> {
        let mut out = false;
        // SAFETY: valid env, handle and out-pointer.
        let status = unsafe { napi_get_value_bool(self.0, value, &mut out) };
        if status == NAPI_BOOLEAN_EXPECTED {
            return Ok(None);
        }
        self.check(status, "napi_get_value_bool")?;
        Ok(Some(out))
    }

    /// Copies a string's UTF-8 into `buf`; returns the byte length written, or `None` if
    /// `value` is not a string. At most `buf.len() - 1` bytes are written, never splitting
    /// a character, so a result shorter than `buf.len() - 4` proves nothing was cut off.
    pub fn string_into(self, value: napi_value, buf: &mut [u8]) -> JsResult<Option<usize>> {
        let mut len = 0;
        // SAFETY: `buf` is writable for `buf.len()` bytes, including the NUL N-API adds.
        let status = unsafe { napi_get_value_string_utf8(self.0, value, buf.as_mut_ptr().cast(), buf.len(), &mut len) };
        if status == NAPI_STRING_EXPECTED {
            return Ok(None);
        }
        self.check(status, "napi_get_value_string_utf8")?;
        Ok(Some(len))
    }

    /// Copies a string's UTF-16 code units into `buf` (which need not be initialised) and
    /// returns the units written, or `None` if `value` is not a string. At most
    /// `buf.len() - 1` units are written, so a shorter result proves nothing was cut off.
    pub fn string_utf16_into(self, value: napi_value, buf: &mut [MaybeUninit<u16>]) -> JsResult<Option<&[u16]>> {
        let mut len = 0;
        // SAFETY: `buf` is writable for `buf.len()` units, including the NUL N-API adds;
        // N-API only writes through the pointer.
        let status = unsafe { napi_get_value_string_utf16(self.0, value, buf.as_mut_ptr().cast(), buf.len(), &mut len) };
        if status == NAPI_STRING_EXPECTED {
            return Ok(None);
        }
        self.check(status, "napi_get_value_string_utf16")?;
        let len = len.min(buf.len());
        // SAFETY: N-API wrote (initialised) the first `len` units, and `len` is within `buf`.
        Ok(Some(unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u16>(), len) }))
    }

    /// A string's whole UTF-8, or `None` if `value` is not a string.
    pub fn string_owned(self, value: napi_value) -> JsResult<Option<Vec<u8>>> {
        let mut len = 0;
        // SAFETY: a null buffer asks only for the length.
        let status = unsafe { napi_get_value_string_utf8(self.0, value, null_mut(), 0, &mut len) };
        if status == NAPI_STRING_EXPECTED {
            return Ok(None);
        }
        self.check(status, "napi_get_value_string_utf8")?;
        let mut buf = vec![0u8; len + 1];
        let written = self.string_into(value, &mut buf)?.unwrap_or(0);
        buf.truncate(written);
        Ok(Some(buf))
    }

    /// The data pointer and element count of a typed array of `kind`, or `None` for any
    /// other value. Reading them runs no JS; the pointer stays valid while the array's
    /// buffer is neither detached nor collected.
    fn typed_array(self, value: napi_value, kind: napi_typedarray_type) -> JsResult<Option<(*mut c_void, usize)>> {
        let mut actual = 0;
        let mut len = 0;
        let mut data: *mut c_void = null_mut();
        let mut arraybuffer = null_mut();
        let mut offset = 0;
        // SAFETY: every out-pointer is valid; N-API only writes through them.
        let status = unsafe { napi_get_typedarray_info(self.0, value, &mut actual, &mut len, &mut data, &mut arraybuffer, &mut offset) };
        if status == NAPI_INVALID_ARG || (status == NAPI_OK && actual != kind) {
            return Ok(None);
        }
        self.check(status, "napi_get_typedarray_info")?;
        // `data` already points at the first element (N-API applies the byte offset).
        Ok(Some((data, len)))
    }

    /// The data pointer and element count of an Int32Array, or `None` for any other value;
    /// for a caller that checks where arrays lie before borrowing them.
    pub fn int32_array_parts(self, value: napi_value) -> JsResult<Option<(*mut i32, usize)>> {
        Ok(self.typed_array(value, NAPI_INT32_ARRAY)?.map(|(data, len)| (data.cast::<i32>(), len)))
    }

    /// The data pointer and byte length of a Uint8Array (Buffers included), or `None` for
    /// any other value; for a caller that keeps the pointer, not a borrow.
    pub fn uint8_array_parts(self, value: napi_value) -> JsResult<Option<(*mut u8, usize)>> {
        Ok(self.typed_array(value, NAPI_UINT8_ARRAY)?.map(|(data, len)| (data.cast::<u8>(), len)))
    }

    /// The bytes of a Uint8Array (Buffers included), or `None` for any other value.
    ///
    /// # Safety
    /// The slice borrows the array's backing store: use it before returning to JS, and
    /// make no call that can run JS meanwhile (a getter or setter could detach or shrink
    /// the buffer). N-API calls that only read or create values run no JS;
    /// `Env::element`, `Env::get_named`, `Env::set_element` and `Env::set_named` can.
    pub unsafe fn uint8_array<'a>(self, value: napi_value) -> JsResult<Option<&'a [u8]>> {
        Ok(self.typed_array(value, NAPI_UINT8_ARRAY)?.map(|(data, len)| {
            if len == 0 || data.is_null() {
                &[][..]
            } else {
                // SAFETY: N-API reports `len` bytes at `data`, alive while the buffer is
                // attached, which the caller guarantees for as long as it uses the slice.
                unsafe { std::slice::from_raw_parts(data as *const u8, len) }
            }
        }))
    }

    /// The bytes of a Uint8Array (Buffers included), writable, or `None` for any other value.
    ///
    /// # Safety
    /// As `uint8_array`: use the slice before returning to JS and make no call that can
    /// run JS meanwhile; hold no other borrow of the same array.
    pub unsafe fn uint8_array_mut<'a>(self, value: napi_value) -> JsResult<Option<&'a mut [u8]>> {
        Ok(self.typed_array(value, NAPI_UINT8_ARRAY)?.map(|(data, len)| {
            if len == 0 || data.is_null() {
                &mut [][..]
            } else {
                // SAFETY: N-API reports `len` bytes at `data`, alive while the buffer is
                // attached (the caller's guarantee); the caller holds no other borrow of them.
                unsafe { std::slice::from_raw_parts_mut(data as *mut u8, len) }
            }
        }))
    }

    /// The elements of an Int32Array, writable, or `None` for any other value.
    ///
    /// # Safety
    /// As `uint8_array`: use the slice before returning to JS and make no call that can
    /// run JS meanwhile; hold no other borrow of the same array.
    pub unsafe fn int32_array<'a>(self, value: napi_value) -> JsResult<Option<&'a mut [i32]>> {
        Ok(self.typed_array(value, NAPI_INT32_ARRAY)?.map(|(data, len)| {
            if len == 0 || data.is_null() {
                &mut [][..]
            } else {
                // SAFETY: N-API reports `len` elements at `data`, alive while the buffer is
                // attached (the caller's guarantee) and 4-byte aligned, as every
                // Int32Array's data is; the caller holds no other borrow of them.
                unsafe { std::slice::from_raw_parts_mut(data as *mut i32, len) }
            }
        }))
    }
}

/// The first `N` arguments of a call (missing ones read as `undefined`) and the data
/// pointer the function was created with.
pub struct CallArgs<const N: usize> {
    pub args: [napi_value; N],
    pub data: *mut c_void,
}

pub fn call_args<const N: usize>(env: Env, info: napi_callback_info) -> JsResult<CallArgs<N>> {
    let mut argc = N;
    let mut args = [null_mut(); N];
    let mut data = null_mut();
    // SAFETY: `args` has room for `argc` handles; N-API fills the rest with undefined.
    let status = unsafe { napi_get_cb_info(env.0, info, &mut argc, args.as_mut_ptr(), null_mut(), &mut data) };
    env.check(status, "napi_get_cb_info")?;
    Ok(CallArgs { args, data })
}

/// Runs a callback body so that neither a panic nor an error escapes into C: errors
/// become thrown JS errors with a `code`, panics become `Internal` errors.
pub fn guard(env: napi_env, body: impl FnOnce(Env) -> JsResult<napi_value>) -> napi_value {
    let env = Env(env);
    match catch_unwind(AssertUnwindSafe(|| body(env))) {
        Ok(Ok(value)) => value,
        Ok(Err(err)) => {
            env.throw(err);
            null_mut()
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            env.throw(JsError::new("Internal", format!("internal error in localcached-native: {what}")));
            null_mut()
        }
    }
}

/// Runs code that has no JS caller (finalizers, hooks, other threads) and swallows panics,
/// since there is nowhere to report them and unwinding into C is undefined behaviour.
pub fn guard_silent(body: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(body));
}
