//! Entry points for fuzzing and property tests: each runs parsers or builders of this
//! crate on arbitrary input. They must never panic; where a property can be checked, an
//! `Err` describes the input that broke it. Not part of the stable API: compiled only
//! with the cargo feature `fuzzing` (the `deviceauth-fuzz` crate and the property tests
//! enable it).

use reqwest::header::{DATE, HeaderMap, HeaderValue, RETRY_AFTER};

use crate::activeconnect::client::validate_user;
use crate::activeconnect::wire::{AddUsersReply, AuthEnvelope, HasDeviceReply, LinkReply, Outcome};
use crate::activeconnect::{Client, SessionData, Status};
use crate::projectinsight::types::{CompleteWire, PendingWire};
use crate::transport::Reply;

/// One client for every call (building one makes a connection pool).
fn client() -> Result<&'static Client, String> {
    static CLIENT: std::sync::OnceLock<Result<Client, String>> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            Client::builder("APP", "secret").base_url("https://service.example/base").build().map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(Clone::clone)
}

fn reply(status: u16, body: &[u8], headers: HeaderMap) -> Reply {
    Reply { status, headers, body: bytes::Bytes::copy_from_slice(body), scrub: Default::default() }
}

/// Every Activeconnect response parser, and the error built from an error answer.
pub fn activeconnect_replies(body: &[u8]) {
    let ok = reply(200, body, HeaderMap::new());
    if let Ok(envelope) = ok.json::<AuthEnvelope>("fuzz") {
        let status = envelope.into_inner();
        let _ = status.session_status.map(|s| Status::from_wire(&s).is_ended());
    }
    let _ = ok.json::<Outcome>("fuzz").map(|o| o.check(&ok));
    let _ = ok.json::<AddUsersReply>("fuzz").map(|r| r.outcome.check(&ok));
    let _ = ok.json::<LinkReply>("fuzz").map(|r| r.outcome.check(&ok));
    let _ = ok.json::<HasDeviceReply>("fuzz").map(|r| r.outcome.check(&ok));
    let _ = reply(401, body, HeaderMap::new()).status_error().to_string();
}

/// Every Project Insight response parser, and the error built from an error answer.
pub fn projectinsight_replies(body: &[u8]) {
    let ok = reply(200, body, HeaderMap::new());
    let _ = ok.json::<PendingWire>("fuzz").map(PendingWire::into_pending);
    let _ = ok.json::<CompleteWire>("fuzz").map(CompleteWire::into_activation);
    let refused = reply(400, body, HeaderMap::new());
    let _ = crate::projectinsight::client::success(&refused).map_err(|e| e.to_string());
}

/// The time parsers: `...UTC` fields, `Retry-After`, `Date`.
pub fn timestamps(text: &str) {
    let _ = crate::projectinsight::timestamp::parse_utc("fuzz", text);
    if let Ok(value) = HeaderValue::from_str(text) {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, value.clone());
        headers.insert(DATE, value);
        let answer = reply(503, b"", headers);
        let _ = (answer.retry_after(), answer.server_time());
    }
}

/// A user id made into a management URL: it must stay one path segment that decodes
/// back to the id, or be refused as an argument.
pub fn user_url(user: &str) -> Result<(), String> {
    if validate_user(user).is_err() {
        return Ok(());
    }
    let url = client()?.url(&["management", "call", "APP", user]);
    let path = url.path();
    let segment =
        path.strip_prefix("/base/management/call/APP/").ok_or_else(|| format!("path {path:?} lost its prefix"))?;
    if segment.contains('/') || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("{user:?} escaped its path segment: {url}"));
    }
    let decoded = percent_encoding::percent_decode_str(segment).decode_utf8().map_err(|e| e.to_string())?;
    if decoded != user {
        return Err(format!("{user:?} came back as {decoded:?}"));
    }
    Ok(())
}

/// Arbitrary text offered as a sealed session must be refused (opening it would mean a
/// forgery).
pub fn unseal(text: &str) -> Result<(), String> {
    match client()?.unseal(text, &[7u8; crate::activeconnect::SEAL_KEY_BYTES]) {
        Ok(_) => Err(format!("{text:?} opened as a sealed session")),
        Err(_) => Ok(()),
    }
}

/// Stored session JSON: parsing never panics, an error never quotes the session secret,
/// and what parses survives a round trip.
pub fn session_json(text: &str) -> Result<(), String> {
    match SessionData::from_json(text) {
        Ok(data) => match SessionData::from_json(&data.to_json()) {
            Ok(back) if back == data => Ok(()),
            other => Err(format!("round trip of {text:?} gave {other:?}")),
        },
        Err(error) if text.contains("hunter2-") && error.to_string().contains("hunter2-") => {
            Err(format!("the error quotes the secret: {error}"))
        }
        Err(_) => Ok(()),
    }
}

/// Service text quoted in an error: never a control character, never longer than the
/// bound, never the secret the request carried.
pub fn quoted_text(text: &str) -> Result<(), String> {
    let mut scrub = crate::text::Scrub::default();
    scrub.add("hunter2-secret");
    let quoted = scrub.quote(text);
    if quoted.chars().any(char::is_control) || quoted.chars().count() > crate::text::MAX_QUOTED_CHARS + 1 {
        return Err(format!("{text:?} quoted as {quoted:?}"));
    }
    if quoted.to_ascii_lowercase().contains("hunter2-secret") {
        return Err(format!("{text:?} kept the secret: {quoted:?}"));
    }
    Ok(())
}
