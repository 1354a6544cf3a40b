//! The HTTP transport both services share: one pooled client per service client,
//! per-request time-outs, bounded response bodies, and the retry policy.

mod reply;
mod retry;

pub(crate) use reply::Reply;
pub use retry::RetryPolicy;

use std::error::Error as _;
use std::sync::Once;
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use tokio::time::Instant;
use url::Url;

use crate::{Error, Result};

/// The largest response body read into memory; anything longer is refused.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// Whether a call may be sent again once it may have reached the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Replay {
    /// Idempotent: retried on connection trouble, time-outs, 429, 502, 503 and 504.
    Safe,
    /// Acts on the service (starts a sign-in, sends an SMS, creates a request): retried
    /// only when the connection was never made, so the request provably never left.
    OnlyIfUnsent,
}

/// Adds credentials to one attempt of a request. It runs again for every retry, so each
/// attempt carries a fresh nonce and timestamp.
pub(crate) trait Authorize: Send + Sync {
    /// Adds the credential headers for a request to `url`.
    fn authorize(&self, url: &Url, headers: &mut HeaderMap) -> Result<()>;

    /// Told the server's clock (Unix seconds, from `Date`) after a refusal; `true` when
    /// the credentials now sign with a corrected time and the request is worth one more try.
    fn learn_server_time(&self, _server_unix: i64) -> bool {
        false
    }
}

/// One logical call, possibly sent several times.
pub(crate) struct Request<'a> {
    pub method: reqwest::Method,
    pub url: Url,
    pub json: Option<Vec<u8>>,
    pub auth: Option<&'a dyn Authorize>,
    pub replay: Replay,
}

/// Settings shared by both service clients' builders.
#[derive(Clone, Debug)]
pub(crate) struct TransportConfig {
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub user_agent: String,
    /// Plain `http://` to hosts other than loopback.
    pub allow_insecure_http: bool,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            user_agent: concat!("deviceauth/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
        }
    }
}

/// A pooled HTTP client plus the policy for using it.
#[derive(Clone, Debug)]
pub(crate) struct Transport {
    http: reqwest::Client,
    timeout: Duration,
    retry: RetryPolicy,
    allow_insecure_http: bool,
}

/// How one attempt ended when no HTTP response came back.
struct Failure {
    error: Error,
    reach: Reach,
}

/// How far a failed attempt got, which decides whether it may be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// The request could not be made (bad credentials for a header, deadline passed):
    /// sending it again cannot help.
    NotMade,
    /// The connection was never made: the request provably never left.
    NotSent,
    /// The request may have reached the service.
    MaybeArrived,
}

impl Transport {
    /// Builds the pooled client (rustls with the `ring` provider, proxies from the
    /// environment).
    pub fn new(config: &TransportConfig) -> Result<Self> {
        if config.timeout.is_zero() {
            return Err(Error::invalid("timeout must be greater than zero"));
        }
        config.retry.validate()?;
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.timeout)
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| Error::Transport(describe(&e)))?;
        Ok(Transport {
            http,
            timeout: config.timeout,
            retry: config.retry,
            allow_insecure_http: config.allow_insecure_http,
        })
    }

    /// The HTTPS policy: `https://` always; `http://` only to a loopback address
    /// (`127.0.0.0/8`, `::1`, `localhost`) unless insecure HTTP was allowed.
    pub fn check_url(&self, url: &Url) -> Result<()> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_insecure_http || is_loopback(url) => Ok(()),
            "http" => Err(Error::invalid(format!(
                "refusing plain http:// to {}: use https://, or allow insecure HTTP explicitly",
                url.host_str().unwrap_or("?")
            ))),
            other => Err(Error::invalid(format!("unsupported URL scheme {other:?}"))),
        }
    }

    /// Sends `request`, retrying as its [`Replay`] allows, inside the policy's deadline.
    /// Any HTTP response (error statuses included) is returned as a [`Reply`]; only
    /// failures to get one are errors.
    pub async fn send(&self, request: Request<'_>) -> Result<Reply> {
        self.check_url(&request.url)?;
        let deadline = Instant::now() + self.retry.deadline;
        let mut attempt = 1;
        let mut resigned = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let outcome = self.attempt(&request, self.timeout.min(remaining)).await;
            // A signature refused for its timestamp was not acted on: sign again, once,
            // with the server's time (even for calls that are never retried otherwise).
            if let (Ok(reply), Some(auth), false) = (&outcome, request.auth, resigned)
                && reply.status == 401
                && reply.server_time().is_some_and(|t| auth.learn_server_time(t))
            {
                log::warn!("deviceauth: the local clock differs from the server's; signing with the server's time");
                resigned = true;
                continue;
            }
            let retry_after = match &outcome {
                Ok(reply) if request.replay == Replay::Safe && reply.is_retryable_status() => reply.retry_after(),
                Err(Failure { reach: Reach::NotSent, .. }) => None,
                Err(Failure { reach: Reach::MaybeArrived, .. }) if request.replay == Replay::Safe => None,
                _ => return outcome.map_err(|f| f.error),
            };
            let delay = retry_after.unwrap_or_else(|| self.retry.backoff(attempt));
            if attempt >= self.retry.max_attempts || Instant::now() + delay >= deadline {
                return outcome.map_err(|f| f.error);
            }
            log::warn!(
                "deviceauth: {} {} failed ({}); retry {} in {} ms",
                request.method,
                request.url.path(),
                match &outcome {
                    Ok(reply) => format!("HTTP {}", reply.status),
                    Err(failure) => failure.error.to_string(),
                },
                attempt,
                delay.as_millis()
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, request: &Request<'_>, timeout: Duration) -> Result<Reply, Failure> {
        let fail = |error| Failure { error, reach: Reach::NotMade };
        if timeout.is_zero() {
            return Err(fail(Error::Timeout("the retry deadline has passed".into())));
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(auth) = request.auth {
            auth.authorize(&request.url, &mut headers).map_err(fail)?;
        }
        let mut builder = self.http.request(request.method.clone(), request.url.clone());
        if let Some(body) = &request.json {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            builder = builder.body(body.clone());
        }
        let started = Instant::now();
        let response = builder.headers(headers).timeout(timeout).send().await;
        let response = response.map_err(|e| {
            let error = classify(&e, timeout);
            // A certificate the client refuses is refused again on every try.
            let reach = match &error {
                Error::Transport(message) if message.starts_with(CERTIFICATE_REFUSED) => Reach::NotMade,
                _ if e.is_connect() => Reach::NotSent,
                _ => Reach::MaybeArrived,
            };
            Failure { error, reach }
        })?;
        let reply =
            Reply::read(response, timeout).await.map_err(|error| Failure { error, reach: Reach::MaybeArrived })?;
        log::debug!(
            "deviceauth: {} {} -> {} in {} ms",
            request.method,
            request.url.path(),
            reply.status,
            started.elapsed().as_millis()
        );
        Ok(reply)
    }
}

/// Turns a reqwest error into ours, with the real cause and never the URL (a query may
/// hold an activation code).
pub(crate) fn classify(error: &reqwest::Error, timeout: Duration) -> Error {
    if error.is_timeout() {
        Error::Timeout(format!("no answer within {} ms", timeout.as_millis()))
    } else {
        Error::Transport(describe(error))
    }
}

/// How a transport error caused by the server's certificate begins.
const CERTIFICATE_REFUSED: &str = "TLS certificate refused";

/// The error and its chain of causes, without the URL reqwest puts in its message.
fn describe(error: &reqwest::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    let head = if parts.iter().any(|p| p.contains("certificate")) {
        CERTIFICATE_REFUSED
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the response body could not be read"
    } else {
        "the request failed"
    };
    if parts.is_empty() { head.to_owned() } else { format!("{head}: {}", parts.join(": ")) }
}

/// Whether the URL's host is a loopback address.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost") || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    }
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another library may have installed a provider already; either one works.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
