//! Request signing, "Authentication Protocol 1" of the Activeconnect REST API.
//!
//! For one request, with the application pair (management calls, `authenticate_user`)
//! or the session pair (status and logout):
//! `token = SHA-256(nonce + secret)[..16]`,
//! `signature = base64(HMAC-SHA256(token, nonce + uri + timestamp)[..16])`, where `uri`
//! is the URL as sent without its scheme, sent as
//! `Authentication: hmac <client_id>:<nonce>:<signature>` plus timestamp and version
//! headers. Time and nonces come from a [`Clock`] and a [`NonceSource`], which tests may
//! replace.
//!
//! Why this module is public: [`Clock`] and [`NonceSource`] are the types of
//! [`super::ClientBuilder::clock`] and [`super::ClientBuilder::nonce_source`], so a user
//! who pins time in their own tests needs them; and [`signature`] / [`signed_uri`] are
//! what a user needs to call an Activeconnect endpoint this crate does not wrap, or to
//! verify signatures in their own test double (the emulator and the benchmark's bare
//! reqwest floor use them that way). Everything else about signing is private.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use sha2::{Digest, Sha256};
use url::Url;

use crate::transport::Authorize;
use crate::{Error, Result, Secret};

/// The header carrying `hmac <client_id>:<nonce>:<signature>`.
pub const AUTHENTICATION_HEADER: &str = "Authentication";
/// The timestamp header the official Activeconnect client sends.
pub const TIMESTAMP_HEADER: &str = "X-Sonikpass-Authentication-Timestamp";
/// The protocol version header the official Activeconnect client sends (value `1`).
pub const VERSION_HEADER: &str = "X-Sonikpass-Authentication-Version";

/// A source of the current time, in Unix seconds.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Seconds since the Unix epoch.
    fn unix_seconds(&self) -> u64;
}

/// A source of request nonces: 64 random bits each, never repeated.
pub trait NonceSource: Send + Sync + std::fmt::Debug {
    /// The next nonce.
    fn next_nonce(&self) -> u64;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_seconds(&self) -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

/// Nonces from the operating system's random generator, drawn afresh for every request,
/// so that a forked process (a gunicorn worker) never repeats its parent's nonces.
#[derive(Clone, Copy, Debug, Default)]
pub struct RandomNonces;

impl NonceSource for RandomNonces {
    fn next_nonce(&self) -> u64 {
        // Should the OS generator ever fail, a user-space generator mixed with the process
        // id still keeps parent and child apart.
        getrandom::u64().unwrap_or_else(|_| rand::random::<u64>() ^ u64::from(std::process::id()).rotate_left(32))
    }
}

/// The part of a URL that is signed: the URL as sent, without `scheme://`.
pub fn signed_uri(url: &Url) -> &str {
    let text = url.as_str();
    text.find("://").map_or(text, |i| &text[i + 3..])
}

/// The signature of one request (the third part of the `Authentication` header).
pub fn signature(secret: &str, nonce: u64, uri: &str, timestamp: u64) -> String {
    let nonce = nonce.to_string();
    let digest = Sha256::new().chain_update(nonce.as_bytes()).chain_update(secret.as_bytes()).finalize();
    let token = &digest[..16];
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token).expect("HMAC takes any key length");
    mac.update(nonce.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(timestamp.to_string().as_bytes());
    let tag = mac.finalize().into_bytes();
    base64::engine::general_purpose::STANDARD.encode(&tag[..16])
}

/// Skew the signer tolerates before it adopts the server's clock (the service accepts
/// 300 s).
const SKEW_TOLERANCE_SECONDS: i64 = 30;

/// The time and nonce sources a client signs with, and the offset learned from the
/// server's clock.
#[derive(Clone, Debug)]
pub(crate) struct Signer {
    clock: Arc<dyn Clock>,
    nonces: Arc<dyn NonceSource>,
    /// Seconds added to the local clock, learned from a refusal's `Date` header.
    offset: Arc<AtomicI64>,
}

impl Signer {
    pub fn new(clock: Arc<dyn Clock>, nonces: Arc<dyn NonceSource>) -> Self {
        Signer { clock, nonces, offset: Arc::new(AtomicI64::new(0)) }
    }

    /// The timestamp to sign with: the local clock corrected by the learned offset.
    fn timestamp(&self) -> u64 {
        let local = i64::try_from(self.clock.unix_seconds()).unwrap_or(i64::MAX);
        u64::try_from(local.saturating_add(self.offset.load(Ordering::Relaxed))).unwrap_or(0)
    }

    /// Adopts the server's clock when it differs from ours by more than the tolerance;
    /// `true` when the offset changed.
    fn learn(&self, server_unix: i64) -> bool {
        let local = i64::try_from(self.clock.unix_seconds()).unwrap_or(i64::MAX);
        let skew = server_unix.saturating_sub(local);
        let current = self.offset.load(Ordering::Relaxed);
        if skew.saturating_sub(current).unsigned_abs() <= SKEW_TOLERANCE_SECONDS.unsigned_abs() {
            return false;
        }
        self.offset.store(skew, Ordering::Relaxed);
        true
    }

    /// A key that signs requests as `client_id` with `secret`.
    pub fn key<'a>(&'a self, client_id: &'a str, secret: &'a Secret) -> SigningKey<'a> {
        SigningKey { signer: self, client_id, secret }
    }
}

/// One credential pair ready to sign requests; every request gets a new nonce.
pub(crate) struct SigningKey<'a> {
    signer: &'a Signer,
    client_id: &'a str,
    secret: &'a Secret,
}

impl Authorize for SigningKey<'_> {
    fn authorize(&self, url: &Url, headers: &mut HeaderMap) -> Result<()> {
        let nonce = self.signer.nonces.next_nonce();
        let timestamp = self.signer.timestamp();
        let sig = signature(self.secret.expose_secret(), nonce, signed_uri(url), timestamp);
        let value = HeaderValue::from_str(&format!("hmac {}:{nonce}:{sig}", self.client_id))
            .map_err(|_| Error::invalid("the client id contains characters not allowed in a header"))?;
        headers.insert(HeaderName::from_static("authentication"), value);
        headers.insert(HeaderName::from_static("x-sonikpass-authentication-timestamp"), HeaderValue::from(timestamp));
        headers.insert(HeaderName::from_static("x-sonikpass-authentication-version"), HeaderValue::from_static("1"));
        Ok(())
    }

    fn secrets(&self) -> Vec<&str> {
        vec![self.secret.expose_secret()]
    }

    fn learn_server_time(&self, server_unix: i64) -> bool {
        self.signer.learn(server_unix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fixed(u64);
    impl Clock for Fixed {
        fn unix_seconds(&self) -> u64 {
            self.0
        }
    }
    impl NonceSource for Fixed {
        fn next_nonce(&self) -> u64 {
            self.0
        }
    }

    const URL: &str = "https://activeconnect.activeapi.ninja/management/add_users/ABCD";

    #[test]
    fn worked_example_of_the_wire_spec() {
        let url = Url::parse(URL).unwrap();
        assert_eq!(signed_uri(&url), "activeconnect.activeapi.ninja/management/add_users/ABCD");
        let digest = Sha256::digest(b"9223372036854775807s3cret");
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, "bd97be5ac615231b56e8736cf9c98de8");
        assert_eq!(signature("s3cret", 9223372036854775807, signed_uri(&url), 1234567890), "P7/K50V7bn2CVNBe/dKGFQ==");
    }

    #[test]
    fn headers_carry_the_worked_example_byte_for_byte() {
        let signer = Signer::new(Arc::new(Fixed(1234567890)), Arc::new(Fixed(9223372036854775807)));
        let secret = Secret::from("s3cret");
        let mut headers = HeaderMap::new();
        signer.key("ABCD", &secret).authorize(&Url::parse(URL).unwrap(), &mut headers).unwrap();
        assert_eq!(headers["authentication"], "hmac ABCD:9223372036854775807:P7/K50V7bn2CVNBe/dKGFQ==");
        assert_eq!(headers[TIMESTAMP_HEADER], "1234567890");
        assert_eq!(headers[VERSION_HEADER], "1");
    }

    #[test]
    fn the_server_clock_is_adopted_beyond_the_tolerance() {
        let signer = Signer::new(Arc::new(Fixed(1_000_000)), Arc::new(RandomNonces));
        assert!(!signer.learn(1_000_020), "20 s is tolerated");
        assert_eq!(signer.timestamp(), 1_000_000);
        assert!(signer.learn(1_003_600));
        assert_eq!(signer.timestamp(), 1_003_600);
        assert!(!signer.learn(1_003_610), "already corrected");
    }

    #[test]
    fn random_nonces_do_not_repeat() {
        let nonces: std::collections::HashSet<u64> = (0..10_000).map(|_| RandomNonces.next_nonce()).collect();
        assert_eq!(nonces.len(), 10_000);
    }

    #[test]
    fn signed_uri_keeps_port_query_and_encoding() {
        let url = Url::parse("http://127.0.0.1:8790/management/x/a%2Fb?display_name=a+b").unwrap();
        assert_eq!(signed_uri(&url), "127.0.0.1:8790/management/x/a%2Fb?display_name=a+b");
    }
}
