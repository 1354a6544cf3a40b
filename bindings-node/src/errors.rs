//! The core's [`deviceauth::Error`] as a JavaScript `Error`: `code` is
//! [`deviceauth::Error::code`], plus `status` and `reason` where the core has them.
//!
//! napi-rs builds rejections from `napi::Error`, which carries one status string only; so
//! the JS error object is made here, on the JavaScript thread, and handed to napi-rs as
//! a reference that it rejects (or throws) with unchanged.

use std::future::Future;
use std::ptr;

use napi::bindgen_prelude::{AsyncBlock, AsyncBlockBuilder, Object, ToNapiValue, Unknown};
use napi::{Env, Status, check_status, sys};

/// The core's error.
pub(crate) type CoreError = deviceauth::Error;

/// A result of the core that becomes a JS value, or a JS error with `code`, `status`
/// and `reason`, when napi-rs converts it on the JavaScript thread.
pub struct Outcome<T>(pub(crate) Result<T, CoreError>);

impl<T: ToNapiValue> ToNapiValue for Outcome<T> {
    unsafe fn to_napi_value(env: sys::napi_env, val: Self) -> napi::Result<sys::napi_value> {
        match val.0 {
            // SAFETY: called by napi-rs with a live env on the JavaScript thread.
            Ok(value) => unsafe { T::to_napi_value(env, value) },
            Err(error) => Err(to_js(env, &error)),
        }
    }
}

/// A Promise settled by `future`, which runs on the addon's tokio runtime.
pub(crate) fn promise<T, F>(env: &Env, future: F) -> napi::Result<AsyncBlock<Outcome<T>>>
where
    T: ToNapiValue + Send + 'static,
    F: Future<Output = Result<T, CoreError>> + Send + 'static,
{
    AsyncBlockBuilder::new(async move { Ok(Outcome(future.await)) }).build(env)
}

/// A Promise settled by `map(env, output)`: `future` runs on the tokio runtime, then
/// `map` runs on the JavaScript thread (e.g. to remove an `abort` listener).
pub(crate) fn promise_map<T, U, F, M>(env: &Env, future: F, map: M) -> napi::Result<AsyncBlock<Outcome<U>>>
where
    T: Send + 'static,
    U: ToNapiValue + 'static,
    F: Future<Output = T> + Send + 'static,
    M: FnOnce(&Env, T) -> Result<U, CoreError> + 'static,
{
    AsyncBlockBuilder::build_with_map(env, async move { Ok(future.await) }, move |env, output| {
        Ok(Outcome(map(&env, output)))
    })
}

/// A `napi::Error` that napi-rs throws or rejects with as this JS error object:
/// `new Error(message)` with `code`, and `status`/`reason` when the core gives them.
pub(crate) fn to_js(env: sys::napi_env, error: &CoreError) -> napi::Error {
    build(env, error).unwrap_or_else(|_| {
        // Only when the engine cannot allocate: keep at least the message.
        napi::Error::new(Status::GenericFailure, format!("{}: {error}", error.code()))
    })
}

/// For synchronous calls: the error napi-rs throws as the JS error of `error`.
pub(crate) fn throw(env: &Env, error: CoreError) -> napi::Error {
    to_js(env.raw(), &error)
}

fn build(env: sys::napi_env, error: &CoreError) -> napi::Result<napi::Error> {
    let raw = error_value(env, error)?;
    // SAFETY: `raw` is the error object just created in `env`.
    Ok(napi::Error::from(unsafe { Unknown::from_raw_unchecked(env, raw) }))
}

/// The JS error object of `error` as a value (e.g. a field of a monitor event), on the
/// JavaScript thread: `new Error(message)` with `code`, `status` and `reason`.
pub(crate) fn error_value(env: sys::napi_env, error: &CoreError) -> napi::Result<sys::napi_value> {
    let js_env = Env::from_raw(env);
    let code = js_env.create_string(error.code())?;
    let message = js_env.create_string(error.to_string())?;
    let mut raw = ptr::null_mut();
    // SAFETY: `env` is live on this thread; `code` and `message` are strings of it.
    check_status!(unsafe { sys::napi_create_error(env, raw_of(&code), raw_of(&message), &mut raw) })?;
    let mut object = Object::from_raw(env, raw);
    if let Some(status) = error.status() {
        object.set("status", u32::from(status))?;
    }
    if let Some(reason) = error.reason() {
        object.set("reason", reason)?;
    }
    Ok(raw)
}

fn raw_of<'a>(value: &impl napi::JsValue<'a>) -> sys::napi_value {
    value.raw()
}

/// The `code` of every error the package throws or rejects with (the core's
/// `Error::code()`), e.g. `ErrorCode.NotStarted === 'NOT_STARTED'`.
#[napi_derive::napi(string_enum = "UPPER_SNAKE")]
pub enum ErrorCode {
    /// An argument was rejected before any request was sent.
    InvalidArgument,
    /// The service does not know the application, user, session or activation
    /// (`reason` tells which activation refusal, when it is one).
    NotFound,
    /// The service refused the credentials, signature, code or token.
    Unauthorized,
    /// `authenticateUser` was answered without starting a sign-in; see `reason`.
    NotStarted,
    /// A management call was refused by the service; see `reason`.
    Refused,
    /// Any other HTTP error status; see `status`.
    Http,
    /// The service answered with something that does not follow the protocol.
    Protocol,
    /// A request, or a whole wait, ran past its time limit.
    Timeout,
    /// The caller's `AbortSignal` aborted the operation.
    Aborted,
    /// The request could not be delivered (connection refused, reset, TLS, DNS, ...).
    Transport,
}

/// What the errors of this package carry besides `message` (a type only: the errors
/// are plain `Error` instances).
#[allow(dead_code)]
#[napi_derive::napi(object, object_from_js = false, object_to_js = false)]
pub struct DeviceAuthError {
    /// One of the `ErrorCode` values.
    pub code: String,
    /// What went wrong; never contains a secret, token or activation code.
    pub message: String,
    /// The HTTP status of the answer behind the error, when there was one.
    pub status: Option<u32>,
    /// The service's machine-readable reason (`NO_MOBILE_DEVICE`, `WRONG_CODE`, ...).
    pub reason: Option<String>,
}
