//! `qr`: the core's QR codes ([`deviceauth::qr`]) for registration links and activation
//! URLs, drawn locally.

// Unit-test builds do not register #[napi] free functions, so nothing calls these there.
#![cfg_attr(test, allow(dead_code))]

use napi::Env;
use napi::bindgen_prelude::Unknown;
use napi_derive::napi;

use crate::{convert, errors};

/// A standalone `<svg>` element showing `text` as a QR code, black on white with the
/// quiet zone, to put in a web page. Throws `INVALID_ARGUMENT` for empty or too long text.
#[napi(namespace = "qr", ts_args_type = "text: string")]
pub fn svg(env: Env, text: Unknown) -> napi::Result<String> {
    convert::string(&text, "text").and_then(|t| deviceauth::qr::svg(&t)).map_err(|e| errors::throw(&env, e))
}

/// `text` as a QR code in Unicode half blocks for a dark terminal, one line per row.
#[napi(namespace = "qr", ts_args_type = "text: string")]
pub fn terminal(env: Env, text: Unknown) -> napi::Result<String> {
    convert::string(&text, "text").and_then(|t| deviceauth::qr::terminal(&t)).map_err(|e| errors::throw(&env, e))
}
