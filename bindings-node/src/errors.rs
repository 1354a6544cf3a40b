//! The core's [`deviceauth::Error`] as a JavaScript error: an instance of the face's
//! `DeviceAuthError` class (registered once by `init`), made with
//! `new DeviceAuthError(code, message, status, reason)`.

use std::cell::Cell;
use std::ptr;

use napi::bindgen_prelude::{Function, ToNapiValue, TypeName, Unknown};
use napi::{Env, JsValue, Status, ValueType, sys};

/// The core's error.
pub(crate) type CoreError = deviceauth::Error;

thread_local! {
    /// The `DeviceAuthError` constructor of this thread's environment.
    static CLASS: Cell<Option<sys::napi_ref>> = const { Cell::new(None) };
}

/// Registers the class errors are made with (JavaScript thread).
pub(crate) fn register(env: &Env, class: Function<'_, Unknown<'_>, Unknown<'_>>) -> napi::Result<()> {
    let mut reference = ptr::null_mut();
    // SAFETY: JavaScript thread, live env and value; the reference lives as long as the env.
    napi::check_status!(unsafe { sys::napi_create_reference(env.raw(), class.raw(), 1, &mut reference) })?;
    if let Some(old) = CLASS.replace(Some(reference)) {
        // SAFETY: a reference made above, on this thread.
        unsafe { sys::napi_delete_reference(env.raw(), old) };
    }
    Ok(())
}

/// The JS error of `error` (JavaScript thread). Never fails: without the class it is a
/// plain `Error` with `code`; if the engine cannot allocate at all, `undefined`.
pub(crate) fn value(env: sys::napi_env, error: &CoreError) -> sys::napi_value {
    let made = make(env, error.code(), &error.to_string(), error.status(), error.reason()).and_then(|made| {
        if let Some(wait) = error.retry_after() {
            set_number(env, made, c"retryAfterMs", wait.as_millis() as f64)?;
        }
        Ok(made)
    });
    or_undefined(env, made)
}

/// `object[name] = number` (JavaScript thread).
fn set_number(env: sys::napi_env, object: sys::napi_value, name: &std::ffi::CStr, number: f64) -> napi::Result<()> {
    let mut value = ptr::null_mut();
    // SAFETY: JavaScript thread; `object` is a value of this env, `name` a C string.
    napi::check_status!(unsafe { sys::napi_create_double(env, number, &mut value) })?;
    napi::check_status!(unsafe { sys::napi_set_named_property(env, object, name.as_ptr(), value) })
}

/// The made error, or `undefined` when the engine could not allocate it.
fn or_undefined(env: sys::napi_env, made: napi::Result<sys::napi_value>) -> sys::napi_value {
    made.unwrap_or_else(|_| {
        let mut undefined = ptr::null_mut();
        // SAFETY: JavaScript thread, live env.
        unsafe { sys::napi_get_undefined(env, &mut undefined) };
        undefined
    })
}

/// `new DeviceAuthError(code, message, status, reason)` (JavaScript thread).
fn make(env: sys::napi_env, code: &str, message: &str, status: Option<u16>, reason: Option<&str>) -> napi::Result<sys::napi_value> {
    let js = Env::from_raw(env);
    let code = js.create_string(code)?.raw();
    let message = js.create_string(message)?.raw();
    let mut result = ptr::null_mut();
    let class = CLASS.get().map(|reference| {
        let mut class = ptr::null_mut();
        // SAFETY: a live reference of this env.
        unsafe { sys::napi_get_reference_value(env, reference, &mut class) };
        class
    });
    match class.filter(|class| !class.is_null()) {
        Some(class) => {
            // SAFETY: JavaScript thread; plain values of this env.
            let status = match status {
                Some(status) => unsafe { u32::to_napi_value(env, u32::from(status))? },
                None => unsafe { <()>::to_napi_value(env, ())? },
            };
            let reason = match reason {
                Some(reason) => unsafe { <&str>::to_napi_value(env, reason)? },
                None => unsafe { <()>::to_napi_value(env, ())? },
            };
            let args = [code, message, status, reason];
            // SAFETY: `class` is a constructor of this env; `args` are values of it.
            napi::check_status!(unsafe { sys::napi_new_instance(env, class, 4, args.as_ptr(), &mut result) })?;
        }
        // SAFETY: JavaScript thread; `code` and `message` are strings of this env.
        None => napi::check_status!(unsafe { sys::napi_create_error(env, code, message, &mut result) })?,
    }
    Ok(result)
}

/// Throws the JS error of `error` and returns what tells napi-rs it is thrown.
pub(crate) fn throw(env: &Env, error: &CoreError) -> napi::Error {
    // SAFETY: JavaScript thread, live env.
    unsafe { sys::napi_throw(env.raw(), value(env.raw(), error)) };
    napi::Error::new(Status::PendingException, error.to_string())
}

/// A synchronous entry point: runs `f` with panics caught (`INTERNAL`) and throws its error.
pub(crate) fn sync<T>(env: &Env, f: impl FnOnce() -> Result<T, CoreError>) -> napi::Result<T> {
    deviceauth::ffi::guard_sync(f).map_err(|error| throw(env, &error))
}

/// A core error that becomes its JS error where it is a value (a monitor event's `error`).
pub enum JsError {
    /// An error of this process.
    Core(CoreError),
    /// An error another process recorded in a store as `"CODE: message"`.
    Text(String),
}

impl TypeName for JsError {
    fn type_name() -> &'static str {
        "DeviceAuthError"
    }

    fn value_type() -> ValueType {
        ValueType::Object
    }
}

impl ToNapiValue for JsError {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val {
            JsError::Core(error) => Ok(value(env, &error)),
            JsError::Text(text) => {
                // The core writes `"CODE: message"`; anything else is kept whole as an INTERNAL error.
                let (code, message) = text
                    .split_once(": ")
                    .filter(|(code, _)| !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
                    .unwrap_or(("INTERNAL", &text));
                Ok(or_undefined(env, make(env, code, message, None, None)))
            }
        }
    }
}
