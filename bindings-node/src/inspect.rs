//! What `util.inspect` shows of the addon's objects: the class name and the fields that
//! are not secret, with `'[redacted]'` in place of the ones that are. Each class has a
//! `[Symbol.for('nodejs.util.inspect.custom')]` method that calls [`render`].

use napi::bindgen_prelude::{FnArgs, Function, Object, Unknown};
use napi::{Env, JsValue, ValueType, sys};

/// Placeholder shown instead of a secret.
pub(crate) const REDACTED: &str = "[redacted]";

/// `"<class> " + inspect(view, options)` when Node passes its `inspect` function (third
/// argument of the custom inspect method), else the view object itself.
pub(crate) fn render<'env>(
    env: &'env Env,
    class: &str,
    view: Object<'env>,
    options: Unknown<'_>,
    inspect: Unknown<'_>,
) -> napi::Result<Unknown<'env>> {
    if inspect.get_type()? != ValueType::Function {
        // SAFETY: `view` is a live object of `env`.
        return Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), view.raw()) });
    }
    // SAFETY: checked to be a function.
    let inspect = unsafe { inspect.cast::<Function<'_, FnArgs<(sys::napi_value, sys::napi_value)>, String>>() }?;
    let text = inspect.call(FnArgs::from((view.raw(), options.raw())))?;
    let shown = env.create_string(format!("{class} {text}"))?;
    // SAFETY: `shown` is a live string of `env`.
    Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), shown.raw()) })
}
