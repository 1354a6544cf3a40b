//! One event's delivery to the webhook: signed POSTs, retried with exponential backoff
//! and jitter on 5xx, 429 and transport errors (honouring `Retry-After`), up to a number
//! of attempts and an age.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::Hmac;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, RETRY_AFTER};
use sha2::Sha256;
use tokio::sync::watch;
use tokio::time::Instant;
use url::Url;

use super::log;
use super::payload::{EVENT_ID_HEADER, SIGNATURE_HEADER, signature};

/// When to give up on a delivery.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The most POSTs of one event.
    pub max_attempts: u32,
    /// No retry is started later than this after the first attempt.
    pub max_age: Duration,
    /// The wait before the second attempt; doubled for each further one.
    pub backoff: Duration,
    /// The longest wait between attempts (a `Retry-After` may ask for more).
    pub max_backoff: Duration,
    /// How long one POST may take.
    pub timeout: Duration,
}

/// How a delivery ended.
#[derive(Debug)]
pub enum Outcome {
    /// The webhook answered 2xx.
    Delivered {
        /// POSTs made.
        attempts: u32,
    },
    /// Given up (a refusal, too many attempts, too old, or shutdown).
    Failed {
        /// POSTs made.
        attempts: u32,
        /// Why the last attempt failed.
        error: String,
    },
}

/// What one POST said.
enum Attempt {
    Delivered,
    Retry { error: String, after: Option<Duration> },
    Refused(String),
}

/// The webhook: where, how it is signed, and the retry policy.
pub struct Webhook {
    http: reqwest::Client,
    url: Url,
    mac: Hmac<Sha256>,
    policy: Policy,
}

impl Webhook {
    /// A webhook at `url`, signing with `mac` (keyed by the webhook secret). Redirects are
    /// not followed, so the signed events go to the configured origin only.
    pub fn new(url: Url, mac: Hmac<Sha256>, policy: Policy) -> Result<Webhook, String> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .user_agent(concat!("deviceauth-cli/", env!("CARGO_PKG_VERSION"), " (watch)"))
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(policy.timeout)
            .build()
            .map_err(|e| format!("the HTTP client: {}", describe(&e)))?;
        Ok(Webhook { http, url, mac, policy })
    }

    /// POSTs `body` (event `id`) until it is delivered or given up; `abandon` turning true
    /// (at the end of the shutdown grace) gives up at once, even mid-attempt.
    pub async fn deliver(&self, id: &str, body: &[u8], mut abandon: watch::Receiver<bool>) -> Outcome {
        let started = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let attempt = tokio::select! {
                attempt = self.attempt(id, body) => attempt,
                _ = abandon.wait_for(|gone| *gone) => {
                    return Outcome::Failed { attempts, error: "abandoned at shutdown mid-attempt".into() };
                }
            };
            let (error, after) = match attempt {
                Attempt::Delivered => return Outcome::Delivered { attempts },
                Attempt::Refused(error) => return Outcome::Failed { attempts, error },
                Attempt::Retry { error, after } => (error, after),
            };
            if attempts >= self.policy.max_attempts {
                return Outcome::Failed { attempts, error };
            }
            let wait = after.unwrap_or_else(|| self.backoff(attempts));
            if started.elapsed() + wait > self.policy.max_age {
                return Outcome::Failed { attempts, error: format!("{error} (no retry: past --max-age)") };
            }
            log::info(format!("event {id}: attempt {attempts} failed ({error}); retrying in {wait:.1?}"));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = abandon.wait_for(|gone| *gone) => {
                    return Outcome::Failed { attempts, error: format!("{error} (abandoned at shutdown)") };
                }
            }
        }
    }

    /// The wait after failed attempt number `attempts`: `backoff * 2^(attempts-1)` capped
    /// at `max_backoff`, then a random half to all of it (jitter).
    fn backoff(&self, attempts: u32) -> Duration {
        let doubled = self.policy.backoff.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
        let capped = doubled.min(self.policy.max_backoff);
        let half = capped / 2;
        half + half.mul_f64(rand::random::<f64>())
    }

    async fn attempt(&self, id: &str, body: &[u8]) -> Attempt {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0);
        let sent = self
            .http
            .post(self.url.clone())
            .timeout(self.policy.timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(&self.mac, t, body))
            .header(EVENT_ID_HEADER, id)
            .body(body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return Attempt::Retry { error: describe(&error), after: None },
        };
        let status = response.status();
        if status.is_success() {
            Attempt::Delivered
        } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Attempt::Retry { error: format!("HTTP {}", status.as_u16()), after: retry_after(response.headers()) }
        } else if status.is_redirection() {
            Attempt::Refused(format!("HTTP {}: redirects are not followed", status.as_u16()))
        } else {
            Attempt::Refused(format!("HTTP {}", status.as_u16()))
        }
    }
}

/// A `Retry-After` of seconds or an HTTP date, as a wait from now.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = when.signed_duration_since(chrono::Utc::now());
    Some(wait.to_std().unwrap_or(Duration::ZERO))
}

/// A transport error and its causes, without the URL (it may hold a token).
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() { "timed out".to_owned() } else { "could not connect or send".to_owned() };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use hmac::KeyInit;

    use super::*;

    fn webhook(backoff_ms: u64, max_ms: u64) -> Webhook {
        let policy = Policy {
            max_attempts: 5,
            max_age: Duration::from_secs(60),
            backoff: Duration::from_millis(backoff_ms),
            max_backoff: Duration::from_millis(max_ms),
            timeout: Duration::from_secs(1),
        };
        let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"0123456789abcdef").unwrap();
        Webhook::new(Url::parse("http://127.0.0.1:9/").unwrap(), mac, policy).unwrap()
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let hook = webhook(100, 1000);
        for (attempts, full) in [(1, 100), (2, 200), (3, 400), (4, 800), (5, 1000), (30, 1000)] {
            let wait = hook.backoff(attempts);
            assert!(
                wait >= Duration::from_millis(full / 2) && wait <= Duration::from_millis(full),
                "{attempts}: {wait:?}"
            );
        }
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(RETRY_AFTER, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[tokio::test]
    async fn a_closed_port_is_retried_then_given_up() {
        let (_keep, abandon) = watch::channel(false);
        match webhook(1, 2).deliver("e-1", b"{}", abandon).await {
            Outcome::Failed { attempts, error } => {
                assert_eq!(attempts, 5);
                assert!(!error.contains("127.0.0.1:9"), "{error}");
            }
            other => panic!("{other:?}"),
        }
    }
}
