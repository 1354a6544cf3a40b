//! JavaScript arguments to the core's Rust types.
//!
//! Every public method takes its arguments as `unknown` and converts them here, so that
//! a value of the wrong type is an `INVALID_ARGUMENT` error (a rejected Promise for the
//! async methods) rather than napi-rs's own conversion error. Messages name the
//! argument and the type received, never the value (it may be a secret).

use std::time::Duration;

use napi::bindgen_prelude::{Function, JsObjectValue, Object, Uint8ArraySlice, Unknown};
use napi::{Env, JsValue, ValueType};

use crate::errors::CoreError;

/// The result of a conversion: the value, or `INVALID_ARGUMENT`.
pub(crate) type Arg<T> = Result<T, CoreError>;

pub(crate) fn invalid(message: impl Into<String>) -> CoreError {
    CoreError::InvalidArgument(message.into())
}

/// "a number", "null", ... for messages.
fn describe(value: &Unknown<'_>) -> &'static str {
    match value.get_type() {
        Ok(ValueType::Undefined) => "undefined",
        Ok(ValueType::Null) => "null",
        Ok(ValueType::Boolean) => "a boolean",
        Ok(ValueType::Number) => "a number",
        Ok(ValueType::String) => "a string",
        Ok(ValueType::Symbol) => "a symbol",
        Ok(ValueType::Function) => "a function",
        Ok(ValueType::BigInt) => "a bigint",
        Ok(ValueType::Object) if value.is_array().unwrap_or(false) => "an array",
        Ok(ValueType::Object) => "an object",
        _ => "a value of an unknown type",
    }
}

fn is_nullish(value: &Unknown<'_>) -> bool {
    matches!(value.get_type(), Ok(ValueType::Undefined | ValueType::Null))
}

/// A required string.
pub(crate) fn string(value: &Unknown<'_>, name: &str) -> Arg<String> {
    if value.get_type().ok() != Some(ValueType::String) {
        return Err(invalid(format!("{name} must be a string, not {}", describe(value))));
    }
    // SAFETY: the value is a JS string.
    unsafe { value.cast::<String>() }.map_err(|_| invalid(format!("{name} could not be read as a string")))
}

/// Required bytes: a `Buffer` or a `Uint8Array`.
pub(crate) fn bytes(value: &Unknown<'_>, name: &str) -> Arg<Vec<u8>> {
    if !value.is_typedarray().unwrap_or(false) {
        return Err(invalid(format!("{name} must be a Buffer or Uint8Array, not {}", describe(value))));
    }
    // SAFETY: the value is a typed array (a Buffer is a Uint8Array).
    unsafe { value.cast::<Uint8ArraySlice<'_>>() }
        .map(|bytes| bytes.to_vec())
        .map_err(|_| invalid(format!("{name} must be a Buffer or Uint8Array of bytes")))
}

/// An optional boolean option (absent, `undefined` or `null` is `false`).
pub(crate) fn opt_bool(options: Option<&Object<'_>>, key: &str) -> Arg<bool> {
    match field(options, key)? {
        None => Ok(false),
        Some(value) if value.get_type().ok() == Some(ValueType::Boolean) => {
            // SAFETY: the value is a JS boolean.
            unsafe { value.cast::<bool>() }.map_err(|_| invalid(format!("{key} could not be read")))
        }
        Some(value) => Err(invalid(format!("{key} must be a boolean, not {}", describe(&value)))),
    }
}

/// A required array of strings.
pub(crate) fn strings(value: &Unknown<'_>, name: &str) -> Arg<Vec<String>> {
    if !value.is_array().unwrap_or(false) {
        return Err(invalid(format!("{name} must be an array of strings, not {}", describe(value))));
    }
    // SAFETY: the value is a JS array, hence an object.
    let array = unsafe { value.cast::<Object<'_>>() }.map_err(|_| invalid(format!("{name} could not be read")))?;
    let length = array.get_array_length().map_err(|_| invalid(format!("{name} could not be read")))?;
    (0..length)
        .map(|index| {
            let item = array
                .get_element::<Unknown<'_>>(index)
                .map_err(|_| invalid(format!("{name}[{index}] could not be read")))?;
            string(&item, &format!("{name}[{index}]"))
        })
        .collect()
}

/// An optional options object: `undefined` and `null` are `None`.
pub(crate) fn options<'env>(value: &Unknown<'env>, name: &str) -> Arg<Option<Object<'env>>> {
    if is_nullish(value) {
        return Ok(None);
    }
    object(value, name).map(Some)
}

/// A required object.
pub(crate) fn object<'env>(value: &Unknown<'env>, name: &str) -> Arg<Object<'env>> {
    if value.get_type().ok() != Some(ValueType::Object) || value.is_array().unwrap_or(false) {
        return Err(invalid(format!("{name} must be an object, not {}", describe(value))));
    }
    // SAFETY: the value is a JS object.
    unsafe { value.cast::<Object<'env>>() }.map_err(|_| invalid(format!("{name} could not be read")))
}

/// A property of an options object; `undefined` and `null` are `None`.
pub(crate) fn field<'env>(options: Option<&Object<'env>>, key: &str) -> Arg<Option<Unknown<'env>>> {
    let Some(options) = options else {
        return Ok(None);
    };
    let value = options
        .get_named_property::<Unknown<'env>>(key)
        .map_err(|_| invalid(format!("option {key} could not be read")))?;
    Ok((!is_nullish(&value)).then_some(value))
}

/// An optional string option.
pub(crate) fn opt_string(options: Option<&Object<'_>>, key: &str) -> Arg<Option<String>> {
    field(options, key)?.map(|value| string(&value, key)).transpose()
}

/// A required string option.
pub(crate) fn req_string(options: Option<&Object<'_>>, key: &str) -> Arg<String> {
    opt_string(options, key)?.ok_or_else(|| invalid(format!("{key} is required")))
}

fn number(value: &Unknown<'_>, name: &str) -> Arg<f64> {
    if value.get_type().ok() != Some(ValueType::Number) {
        return Err(invalid(format!("{name} must be a number, not {}", describe(value))));
    }
    // SAFETY: the value is a JS number.
    let number =
        unsafe { value.cast::<f64>() }.map_err(|_| invalid(format!("{name} could not be read as a number")))?;
    if !number.is_finite() {
        return Err(invalid(format!("{name} must be a finite number")));
    }
    Ok(number)
}

/// An optional duration in milliseconds (zero is passed on: the core refuses it).
pub(crate) fn opt_millis(options: Option<&Object<'_>>, key: &str) -> Arg<Option<Duration>> {
    let Some(value) = field(options, key)? else {
        return Ok(None);
    };
    let ms = number(&value, key)?;
    if ms < 0.0 {
        return Err(invalid(format!("{key} must not be negative")));
    }
    Duration::try_from_secs_f64(ms / 1000.0).map(Some).map_err(|_| invalid(format!("{key} is too large")))
}

/// An optional whole number from 0 to 2^32 - 1 (zero is passed on: the core refuses it).
pub(crate) fn opt_u32(options: Option<&Object<'_>>, key: &str) -> Arg<Option<u32>> {
    let Some(value) = field(options, key)? else {
        return Ok(None);
    };
    let n = number(&value, key)?;
    if n.fract() != 0.0 || !(0.0..=f64::from(u32::MAX)).contains(&n) {
        return Err(invalid(format!("{key} must be a whole number from 0 to {}", u32::MAX)));
    }
    // In range and whole, checked above.
    Ok(Some(n as u32))
}

/// `JSON.stringify(value)`, for values the core takes as JSON text.
pub(crate) fn json_text(env: &Env, value: &Unknown<'_>, name: &str) -> Arg<String> {
    let failed = |why: &str| invalid(format!("{name} could not be converted to JSON: {why}"));
    let stringify = env
        .get_global()
        .and_then(|global| global.get_named_property::<Object<'_>>("JSON"))
        .and_then(|json| json.get_named_property::<Function<'_, Unknown<'_>, Unknown<'_>>>("stringify"))
        .map_err(|_| failed("JSON.stringify is not available"))?;
    // `call` clears an exception JSON.stringify throws (cycles, BigInt) into the error.
    let text = stringify.call(*value).map_err(|e| failed(&e.reason))?;
    if text.get_type().ok() != Some(ValueType::String) {
        return Err(failed("it has no JSON form"));
    }
    // SAFETY: the value is a JS string.
    unsafe { text.cast::<String>() }.map_err(|_| failed("the JSON text could not be read"))
}
