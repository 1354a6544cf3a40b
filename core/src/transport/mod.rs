//! The HTTP transport both services share: one pooled client per service client,
//! per-request time-outs, bounded response bodies, and the retry policy.

mod failure;
mod options;
mod reply;
mod retry;

pub(crate) use failure::origin_text;
use failure::{CERTIFICATE_REFUSED, classify, describe, is_loopback, redirect_error};
pub use options::DEFAULT_TIMEOUT;
pub(crate) use options::{CaSource, HttpOptions, http_builder_methods, parse_base_url};
pub(crate) use reply::Reply;
pub use retry::RetryPolicy;

use std::sync::{Mutex, Once};
use std::time::Duration;

use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderValue};
use tokio::time::Instant;
use tracing::Instrument;
use url::{Origin, Url};

use crate::limits::later;
use crate::telemetry::{CallTrace, Endpoint};
use crate::text::Scrub;
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

    /// The secrets these credentials are made from, to scrub from the service's text.
    fn secrets(&self) -> Vec<&str>;

    /// Told the server's clock (Unix seconds, from `Date`) after a refusal; `true` when
    /// the credentials now sign with a corrected time and the request is worth one more try.
    fn learn_server_time(&self, _server_unix: i64) -> bool {
        false
    }
}

/// One logical call, possibly sent several times.
pub(crate) struct Request<'a> {
    /// The call's fixed name, for traces and metrics.
    pub endpoint: Endpoint,
    /// The session token the call is made for, traced only as a short hash.
    pub session: Option<&'a str>,
    pub method: reqwest::Method,
    pub url: Url,
    pub json: Option<Vec<u8>>,
    pub auth: Option<&'a dyn Authorize>,
    pub replay: Replay,
    /// Secrets the URL or body carries besides the credentials (an activation code).
    pub secrets: Vec<&'a str>,
}

/// A pooled HTTP client plus the policy for using it. The pool is built at the first
/// request (building one loads the system's root certificates), and built again in a
/// process forked from the one that built it (connections are never shared across fork).
#[derive(Debug)]
pub(crate) struct Transport {
    /// The pooled client and the id of the process it was built in.
    http: Mutex<Option<(u32, reqwest::Client)>>,
    certificates: Vec<reqwest::Certificate>,
    options: HttpOptions,
    /// The base URL's origin first, then the allowed ones.
    origins: Vec<Origin>,
}

/// How one attempt ended when no HTTP response came back.
struct Failure {
    error: Error,
    reach: Reach,
}

/// How far a failed attempt got, which decides whether it may be sent again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reach {
    /// The request could not be made (bad credentials for a header, deadline passed, a
    /// redirect): sending it again cannot help.
    NotMade,
    /// The connection was never made: the request provably never left.
    NotSent,
    /// The request may have reached the service.
    MaybeArrived,
}

impl Transport {
    /// Checks `options` against `base` and builds the pooled client (rustls with the
    /// `ring` provider, proxies from the environment, redirects never followed).
    pub fn new(options: &HttpOptions, base: &Url) -> Result<Self> {
        options.validate()?;
        let mut origins = vec![base.origin()];
        for text in &options.allowed_origins {
            let url = parse_base_url(text).map_err(|e| match e {
                Error::InvalidArgument(m) => {
                    Error::invalid(format!("allowed_origins: {}", m.replacen("base_url ", "", 1)))
                }
                other => other,
            })?;
            if base.scheme() == "https" && url.scheme() != "https" {
                return Err(Error::invalid(format!(
                    "allowed_origins: {} is plain http:// but the base URL is https://",
                    origin_text(&url)
                )));
            }
            origins.push(url.origin());
        }
        let certificates = options.certificates()?;
        let transport = Transport { http: Mutex::new(None), certificates, options: options.clone(), origins };
        for origin in &transport.origins {
            if let Ok(url) = Url::parse(&origin.ascii_serialization()) {
                transport.check_scheme(&url)?;
            }
        }
        Ok(transport)
    }

    /// The HTTPS policy: `https://` always; `http://` only to a loopback address
    /// (`127.0.0.0/8`, `::1`, `localhost`) unless insecure HTTP was allowed.
    fn check_scheme(&self, url: &Url) -> Result<()> {
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.options.allow_insecure_http || is_loopback(url) => Ok(()),
            "http" => Err(Error::invalid(format!(
                "refusing plain http:// to {}: use https://, or allow insecure HTTP explicitly",
                url.host_str().unwrap_or("?")
            ))),
            other => Err(Error::invalid(format!("unsupported URL scheme {other:?}"))),
        }
    }

    /// Whether credentials may go to `url`: its origin is the base URL's or an allowed
    /// one, and its scheme passes the HTTPS policy.
    pub fn allows(&self, url: &Url) -> bool {
        self.origins.contains(&url.origin()) && self.check_scheme(url).is_ok()
    }

    /// `Err(InvalidArgument)` unless [`Transport::allows`] `url`.
    pub fn check_url(&self, url: &Url) -> Result<()> {
        self.check_scheme(url)?;
        if !self.origins.contains(&url.origin()) {
            return Err(Error::invalid(format!(
                "refusing to send credentials to {}: not the base URL's origin {} nor an allowed origin",
                origin_text(url),
                self.origins.first().map(Origin::ascii_serialization).unwrap_or_default()
            )));
        }
        Ok(())
    }

    /// The pooled client, built first when there is none yet or this process is a fork
    /// of the one that built it.
    fn client(&self) -> Result<reqwest::Client> {
        let mut http = self.http.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let pid = std::process::id();
        match &*http {
            Some((built_in, client)) if *built_in == pid => Ok(client.clone()),
            _ => {
                let client = build_client(&self.options, &self.certificates)?;
                *http = Some((pid, client.clone()));
                Ok(client)
            }
        }
    }

    /// Sends `request`, retrying as its [`Replay`] allows, inside the policy's deadline.
    /// Any HTTP response (error statuses included) is returned as a [`Reply`]; only
    /// failures to get one are errors.
    pub async fn send(&self, request: Request<'_>) -> Result<Reply> {
        self.send_with(request, self.options.retry).await
    }

    /// [`Transport::send`] under `retry` instead of the client's policy (each attempt
    /// still stops at the client's request timeout, or sooner at `retry`'s deadline).
    /// Every call goes through here and is traced ([`CallTrace`]): one span and one set of
    /// metrics per call, whatever its retries.
    pub async fn send_with(&self, request: Request<'_>, retry: RetryPolicy) -> Result<Reply> {
        let mut trace = CallTrace::start(request.endpoint, &request.method, request.session);
        let span = trace.span().clone();
        let outcome = self.send_traced(request, retry, &mut trace).instrument(span).await;
        trace.finish(match &outcome {
            Ok(reply) => reply.outcome_code(),
            Err(error) => error.code(),
        });
        outcome
    }

    async fn send_traced(&self, request: Request<'_>, retry: RetryPolicy, trace: &mut CallTrace) -> Result<Reply> {
        self.check_url(&request.url)?;
        let mut scrub = Scrub::default();
        request
            .secrets
            .iter()
            .chain(request.auth.map(|a| a.secrets()).unwrap_or_default().iter())
            .for_each(|s| scrub.add(s));
        let deadline = later(Instant::now(), retry.deadline);
        let mut attempt = 1;
        let mut resigned = false;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            trace.attempt();
            let outcome = self.attempt(&request, self.options.timeout.min(remaining), &scrub).await;
            if let Ok(reply) = &outcome {
                trace.answered(reply.status);
            }
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
            let delay = retry_after.unwrap_or_else(|| retry.backoff(attempt));
            if attempt >= retry.max_attempts || later(Instant::now(), delay) >= deadline {
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
            trace.retry(
                delay,
                &match &outcome {
                    Ok(reply) => format!("HTTP {}", reply.status),
                    Err(failure) => failure.error.code().to_owned(),
                },
            );
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt(&self, request: &Request<'_>, timeout: Duration, scrub: &Scrub) -> Result<Reply, Failure> {
        let fail = |error| Failure { error, reach: Reach::NotMade };
        if timeout.is_zero() {
            return Err(fail(Error::Timeout("the retry deadline has passed".into())));
        }
        let mut headers = HeaderMap::new();
        headers.insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(auth) = request.auth {
            auth.authorize(&request.url, &mut headers).map_err(fail)?;
        }
        let mut builder = self.client().map_err(fail)?.request(request.method.clone(), request.url.clone());
        if let Some(body) = &request.json {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            builder = builder.body(body.clone());
        }
        let started = Instant::now();
        let response = builder.headers(headers).timeout(timeout).send().await;
        let origin = origin_text(&request.url);
        let response = response.map_err(|e| {
            let error = classify(&e, timeout, &origin);
            // A certificate the client refuses is refused again on every try.
            let reach = match &error {
                Error::Transport(message) if message.starts_with(CERTIFICATE_REFUSED) => Reach::NotMade,
                _ if e.is_connect() => Reach::NotSent,
                _ => Reach::MaybeArrived,
            };
            Failure { error, reach }
        })?;
        if response.status().is_redirection() {
            return Err(fail(redirect_error(&request.url, &response)));
        }
        let reply = Reply::read(response, timeout, &origin, scrub.clone()).await.map_err(|error| {
            // An answer too large is refused again on every try; a cut one may pass.
            let reach = if matches!(error, Error::Protocol(_)) { Reach::NotMade } else { Reach::MaybeArrived };
            Failure { error, reach }
        })?;
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

fn build_client(options: &HttpOptions, certificates: &[reqwest::Certificate]) -> Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(options.user_agent.clone())
        .connect_timeout(options.timeout)
        .pool_idle_timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .tls_certs_merge(certificates.iter().cloned())
        .build()
        .map_err(|e| Error::Transport(describe(&e, "the HTTP client")))
}

fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Another library may have installed a provider already; either one works.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_is_built_at_first_use_and_again_after_fork() {
        let base = Url::parse("http://127.0.0.1:1").unwrap();
        let transport = Transport::new(&HttpOptions::default(), &base).unwrap();
        assert!(transport.http.lock().unwrap().is_none(), "nothing built before the first request");
        transport.client().unwrap();
        assert_eq!(transport.http.lock().unwrap().as_ref().map(|h| h.0), Some(std::process::id()));
        // As if this process were a fork of another: the next request builds a new pool.
        transport.http.lock().unwrap().as_mut().unwrap().0 = std::process::id().wrapping_add(1);
        transport.client().unwrap();
        assert_eq!(transport.http.lock().unwrap().as_ref().map(|h| h.0), Some(std::process::id()));
    }

    #[test]
    fn origins_are_the_base_and_the_allowed_ones_only() {
        let base = Url::parse("https://a.example").unwrap();
        let options = HttpOptions {
            allowed_origins: vec!["https://b.example:8443/ignored/path".into()],
            ..HttpOptions::default()
        };
        let transport = Transport::new(&options, &base).unwrap();
        for ok in ["https://a.example/x", "https://A.EXAMPLE:443/y", "https://b.example:8443/z"] {
            assert!(transport.allows(&Url::parse(ok).unwrap()), "{ok}");
        }
        for bad in ["http://a.example/x", "https://a.example:444/", "https://b.example/", "https://evil.a.example/"] {
            assert!(!transport.allows(&Url::parse(bad).unwrap()), "{bad}");
            assert_eq!(transport.check_url(&Url::parse(bad).unwrap()).unwrap_err().code(), "INVALID_ARGUMENT");
        }
    }
}
