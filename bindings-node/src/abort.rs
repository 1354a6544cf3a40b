//! `AbortSignal` support for the polling calls (`wait`, `watch`).
//!
//! napi-rs's own `AbortSignal` only cancels libuv `AsyncTask`s, so the signal is wired
//! natively: a listener made in Rust is added with `signal.addEventListener('abort', f,
//! { once: true })`; it flips a tokio `watch` channel that the running call selects on.
//! When the signal fires, the core's future is dropped, which stops its polling at once.
//! The listener is removed again when the call settles.

use std::future::Future;

use napi::bindgen_prelude::{FnArgs, Function, FunctionRef, JsObjectValue, Object, Unknown};
use napi::{Env, JsValue, ValueType, sys};
use tokio::sync::watch;

use crate::convert::{self, Arg, invalid};
use crate::errors::CoreError;

type Args2 = FnArgs<(sys::napi_value, sys::napi_value)>;
type Args3 = FnArgs<(sys::napi_value, sys::napi_value, sys::napi_value)>;

/// The Rust side of an `AbortSignal`: cheap to clone and `Send`.
#[derive(Clone)]
pub(crate) struct Cancel(watch::Receiver<bool>);

impl Cancel {
    /// Whether the signal has fired.
    pub(crate) fn is_aborted(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes when the signal fires; never, when it cannot fire any more.
    pub(crate) async fn aborted(&mut self) {
        if self.0.wait_for(|aborted| *aborted).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Runs `future` until it completes or `cancel` fires (then `ABORTED`, and `future`
/// is dropped).
pub(crate) async fn until_aborted<T>(
    cancel: Option<Cancel>,
    future: impl Future<Output = Result<T, CoreError>>,
) -> Result<T, CoreError> {
    let Some(mut cancel) = cancel else {
        return future.await;
    };
    if cancel.is_aborted() {
        return Err(CoreError::Aborted);
    }
    tokio::select! {
        biased;
        () = cancel.aborted() => Err(CoreError::Aborted),
        result = future => result,
    }
}

/// The listener added to a signal, to remove when the call is over.
pub(crate) struct Listener {
    /// `signal.removeEventListener` bound to the signal.
    remove: FunctionRef<Args2, Unknown<'static>>,
    /// The listener itself.
    handler: FunctionRef<(), ()>,
}

impl Listener {
    /// Removes the listener from the signal (JavaScript thread only). Failures are
    /// ignored: the listener only flips a channel nobody reads any more.
    pub(crate) fn remove(self, env: &Env) {
        let _ = (|| -> napi::Result<()> {
            let remove = self.remove.borrow_back(env)?;
            let handler = self.handler.borrow_back(env)?;
            let event = env.create_string("abort")?;
            remove.call(FnArgs::from((event.raw(), handler.raw())))?;
            Ok(())
        })();
    }
}

/// A signal given to a call: the cancel flag, and the listener to remove afterwards.
pub(crate) struct Signal {
    pub(crate) cancel: Cancel,
    pub(crate) listener: Option<Listener>,
}

/// Reads the `signal` option: `undefined`/`null` is no signal; anything else must look
/// like an `AbortSignal` (an `aborted` boolean and `addEventListener`).
pub(crate) fn signal(env: &Env, value: Option<Unknown<'_>>) -> Arg<Option<Signal>> {
    let Some(value) = value else { return Ok(None) };
    let not_a_signal = || invalid("signal must be an AbortSignal");
    let object = convert::object(&value, "signal").map_err(|_| not_a_signal())?;
    let aborted = object.get_named_property::<Unknown<'_>>("aborted").map_err(|_| not_a_signal())?;
    if aborted.get_type().ok() != Some(ValueType::Boolean) {
        return Err(not_a_signal());
    }
    // SAFETY: checked to be a boolean.
    let aborted = unsafe { aborted.cast::<bool>() }.map_err(|_| not_a_signal())?;
    let (sender, receiver) = watch::channel(aborted);
    let cancel = Cancel(receiver);
    if aborted {
        return Ok(Some(Signal { cancel, listener: None }));
    }
    let method = |name: &str| -> Arg<Function<'_, Unknown<'_>, Unknown<'_>>> {
        let value = object.get_named_property::<Unknown<'_>>(name).map_err(|_| not_a_signal())?;
        if value.get_type().ok() != Some(ValueType::Function) {
            return Err(not_a_signal());
        }
        // SAFETY: checked to be a function.
        unsafe { value.cast::<Function<'_, Unknown<'_>, Unknown<'_>>>() }.map_err(|_| not_a_signal())
    };
    let add = method("addEventListener")?;
    let remove = method("removeEventListener")?;
    let failed = |_| invalid("could not listen to the signal's abort event");
    let handler = env
        .create_function_from_closure::<(), (), _>("onabort", move |_| {
            sender.send_replace(true);
            Ok(())
        })
        .map_err(failed)?;
    let mut once = Object::new(env).map_err(failed)?;
    once.set("once", true).map_err(failed)?;
    let event = env.create_string("abort").map_err(failed)?;
    // Bound to the signal, so that `call` (which clears an exception it throws) is used.
    let add = add.bind(object).map_err(failed)?;
    // SAFETY: reinterpreting the same JS function with the argument types it is called with.
    let add = unsafe { Unknown::from_raw_unchecked(env.raw(), add.raw()).cast::<Function<'_, Args3, Unknown<'_>>>() }
        .map_err(failed)?;
    add.call(FnArgs::from((event.raw(), handler.raw(), once.raw()))).map_err(failed)?;
    let remove = remove.bind(object).map_err(failed)?;
    // SAFETY: as above.
    let remove =
        unsafe { Unknown::from_raw_unchecked(env.raw(), remove.raw()).cast::<Function<'_, Args2, Unknown<'_>>>() }
            .map_err(failed)?;
    let listener =
        Listener { remove: remove.create_ref().map_err(failed)?, handler: handler.create_ref().map_err(failed)? };
    Ok(Some(Signal { cancel, listener: Some(listener) }))
}
