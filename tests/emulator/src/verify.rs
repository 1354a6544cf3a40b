//! Checks the signature, timestamp and nonce of an incoming Activeconnect request.

use std::collections::HashMap;
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode, Uri, header};
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::respond::Reject;
use crate::signature::{parse_auth_header, signature, signatures_match};

/// Largest accepted distance between the request timestamp and the emulator clock.
pub(crate) const TIMESTAMP_WINDOW_SECS: u64 = 300;
/// How long a used nonce is remembered.
const NONCE_MEMORY: Duration = Duration::from_secs(600);
/// How often the nonce memory is pruned.
const PRUNE_EVERY: Duration = Duration::from_secs(30);

/// Timestamp header names, all accepted (the first one present is used).
pub(crate) const TIMESTAMP_HEADERS: [&str; 4] = [
    "x-sonikpass-authentication-timestamp",
    "x-iampass-authentication-timestamp",
    "x-activeconnect-authentiaction-timestamp",
    "x-activeconnect-authentication-timestamp",
];

/// Who signs a request: decides the wording of a client id mismatch.
#[derive(Clone, Copy)]
pub(crate) enum Signer {
    /// The application pair (management, authenticate_user).
    Application,
    /// The session pair (status, logout).
    Session,
}

/// Nonces seen recently, per client id.
pub(crate) struct NonceCache {
    inner: Mutex<NonceInner>,
}

struct NonceInner {
    seen: HashMap<(String, String), Instant>,
    last_prune: Instant,
}

impl NonceCache {
    /// An empty cache.
    pub(crate) fn new() -> NonceCache {
        NonceCache { inner: Mutex::new(NonceInner { seen: HashMap::new(), last_prune: Instant::now() }) }
    }

    /// Records the nonce; `false` when it was already seen for that client id.
    pub(crate) fn first_use(&self, client_id: &str, nonce: &str) -> bool {
        let now = Instant::now();
        let mut inner = self.inner.lock();
        if now.duration_since(inner.last_prune) >= PRUNE_EVERY {
            inner.seen.retain(|_, at| now.duration_since(*at) < NONCE_MEMORY);
            inner.last_prune = now;
        }
        let key = (client_id.to_owned(), nonce.to_owned());
        match inner.seen.get(&key) {
            Some(at) if now.duration_since(*at) < NONCE_MEMORY => false,
            _ => {
                inner.seen.insert(key, now);
                true
            }
        }
    }

    /// Number of remembered nonces (for tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner.lock().seen.len()
    }
}

fn unauthorized(message: &str) -> Reject {
    Reject::new(StatusCode::UNAUTHORIZED, message)
}

/// The string that was signed: `host[:port]/path?query` as received.
pub(crate) fn signed_uri(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let host = match headers.get(header::HOST).and_then(|h| h.to_str().ok()) {
        Some(host) => host.to_owned(),
        None => uri.authority()?.as_str().to_owned(),
    };
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    Some(format!("{host}{path}"))
}

/// Verifies a signed request for `client_id`/`secret`; the error is the 401 (or 400) to send.
pub(crate) fn verify_request(
    headers: &HeaderMap,
    uri: &Uri,
    client_id: &str,
    secret: &str,
    signer: Signer,
    clock: &Clock,
    nonces: &NonceCache,
) -> Result<(), Reject> {
    let Some(raw) = headers.get("authentication") else {
        return Err(unauthorized("Missing Authentication header"));
    };
    let parsed = raw.to_str().ok().and_then(parse_auth_header).ok_or_else(|| {
        unauthorized("Malformed Authentication header: expected 'hmac <client_id>:<nonce>:<signature>'")
    })?;
    if parsed.client_id != client_id {
        return Err(unauthorized(match signer {
            Signer::Application => {
                "The client id in the Authentication header does not match the application in the URL"
            }
            Signer::Session => "The client id in the Authentication header does not match the session in the URL",
        }));
    }
    let Some(ts_value) = TIMESTAMP_HEADERS.iter().find_map(|name| headers.get(*name)) else {
        return Err(unauthorized("Missing authentication timestamp header (X-Sonikpass-Authentication-Timestamp)"));
    };
    let timestamp = ts_value.to_str().map(str::trim).unwrap_or("");
    let Ok(ts_secs) = timestamp.parse::<i64>() else {
        return Err(unauthorized("Malformed authentication timestamp: expected Unix seconds"));
    };
    let Some(uri_text) = signed_uri(headers, uri) else {
        return Err(Reject::new(StatusCode::BAD_REQUEST, "Missing Host header"));
    };
    let expected = signature(secret, parsed.nonce, &uri_text, timestamp);
    if !signatures_match(&expected, parsed.signature) {
        return Err(unauthorized("Invalid signature"));
    }
    if clock.unix_now().abs_diff(ts_secs) > TIMESTAMP_WINDOW_SECS {
        return Err(unauthorized("Timestamp outside the allowed window of 300 seconds"));
    }
    if !nonces.first_use(client_id, parsed.nonce) {
        return Err(unauthorized("Nonce has already been used"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_are_per_client() {
        let cache = NonceCache::new();
        assert!(cache.first_use("a", "1"));
        assert!(!cache.first_use("a", "1"));
        assert!(cache.first_use("b", "1"));
        assert_eq!(cache.len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn nonces_are_pruned() {
        let cache = NonceCache::new();
        assert!(cache.first_use("a", "1"));
        tokio::time::advance(NONCE_MEMORY + Duration::from_secs(1)).await;
        assert!(cache.first_use("a", "2"));
        assert_eq!(cache.len(), 1, "the old nonce was pruned");
        assert!(cache.first_use("a", "1"), "forgotten after the memory period");
    }

    #[test]
    fn signed_uri_is_raw() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "127.0.0.1:8790".parse().expect("valid"));
        let uri: Uri = "/management/x/A%2Fb?display_name=a%20b".parse().expect("valid");
        assert_eq!(signed_uri(&headers, &uri).as_deref(), Some("127.0.0.1:8790/management/x/A%2Fb?display_name=a%20b"));
    }
}
