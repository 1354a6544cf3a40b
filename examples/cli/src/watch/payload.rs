//! What is POSTed: the event as JSON (the session token only as a short hash), and the
//! Stripe-style signature header over it.

use chrono::{DateTime, SecondsFormat, Utc};
use deviceauth::activeconnect::store::StoreEvent;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "DeviceAuth-Signature";
/// The header carrying the event's stable id (receivers drop repeats by it).
pub const EVENT_ID_HEADER: &str = "DeviceAuth-Event-Id";

/// The JSON body of one delivery.
#[derive(Serialize)]
struct Payload<'a> {
    id: &'a str,
    kind: &'a str,
    key: &'a str,
    user: &'a str,
    /// The first 16 hex digits of SHA-256(session token): enough to match a session the
    /// app knows, useless to anyone else.
    session_hash: String,
    previous: &'a str,
    status: &'a str,
    error: Option<&'a str>,
    at: String,
}

/// The JSON body for `event`.
pub fn body(event: &StoreEvent) -> Result<Vec<u8>, String> {
    let at = DateTime::<Utc>::from_timestamp_millis(event.at_ms).unwrap_or_default();
    let payload = Payload {
        id: &event.id,
        kind: &event.kind,
        key: &event.key,
        user: &event.user,
        session_hash: session_hash(&event.session_token),
        previous: event.previous.as_str(),
        status: event.status.as_str(),
        error: event.error.as_deref(),
        at: at.to_rfc3339_opts(SecondsFormat::Millis, true),
    };
    serde_json::to_vec(&payload).map_err(|e| format!("the event could not be written as JSON: {e}"))
}

/// The first 16 hex digits of SHA-256 of `token`.
pub fn session_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes())[..8])
}

/// The signature header's value for `body` sent at `t` (Unix seconds), with `mac` keyed
/// by the webhook secret.
pub fn signature(mac: &Hmac<Sha256>, t: i64, body: &[u8]) -> String {
    let mut mac = mac.clone();
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("t={t},v1={}", hex(&mac.finalize().into_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use hmac::KeyInit;

    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_t_dot_body() {
        // printf '%s' '1700000000.{}' | openssl dgst -sha256 -hmac 'Jefe'
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        assert_eq!(
            signature(&mac, 1_700_000_000, b"{}"),
            "t=1700000000,v1=d3793e2b4103edfbd98cc19591832f5fad701d413db9fcae0ae7dab8184ed207"
        );
    }

    #[test]
    fn the_body_holds_no_session_token() {
        let event = StoreEvent {
            id: "abc-2".into(),
            kind: "changed".into(),
            key: "sign-in-1".into(),
            user: "zoe".into(),
            session_token: "the-session-token".into(),
            previous: deviceauth::activeconnect::Status::Active,
            status: deviceauth::activeconnect::Status::Closed,
            error: None,
            at_ms: 1_700_000_000_123,
        };
        let body = String::from_utf8(body(&event).unwrap()).unwrap();
        assert!(!body.contains("the-session-token"), "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["status"], "closed");
        assert_eq!(json["previous"], "active");
        assert_eq!(json["at"], "2023-11-14T22:13:20.123Z");
        assert_eq!(json["session_hash"].as_str().unwrap().len(), 16);
        assert!(json["error"].is_null());
    }
}
