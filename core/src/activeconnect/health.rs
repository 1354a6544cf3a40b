//! `Client::health`: is the service reachable, and does it accept this application's
//! credentials? Answered with one signed, read-only request inside a short budget.
//!
//! The request and what each answer means are on [`Client::health_within`].

use std::time::Duration;

use tokio::time::Instant;

use super::Client;
use super::wire::HasDeviceReply;
use crate::limits::check_positive;
use crate::telemetry::Endpoint;
use crate::transport::{Replay, origin_text};
use crate::{Error, Result, RetryPolicy};

/// The default budget of [`Client::health`]: 3 seconds, room for one request on a fresh
/// TLS connection, short enough for a load balancer's or orchestrator's probe.
pub const DEFAULT_HEALTH_BUDGET: Duration = Duration::from_secs(3);

/// The user id a health check asks about. No user is ever added with it; the service's
/// logs show it as `has_registered_mobile_device` for this id.
pub const HEALTH_PROBE_USER: &str = "deviceauth-health-probe";
/// The health check in traces and metrics.
const HEALTH: Endpoint = Endpoint::activeconnect("health");

/// A passed health check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Health {
    /// How long the check took, from sending the request to reading the answer.
    pub latency: Duration,
    /// The origin checked, `scheme://host[:port]`.
    pub origin: String,
}

impl Client {
    /// [`Client::health_within`] the [`DEFAULT_HEALTH_BUDGET`].
    pub async fn health(&self) -> Result<Health> {
        self.health_within(DEFAULT_HEALTH_BUDGET).await
    }

    /// Checks that the service is reachable and accepts this application's credentials,
    /// with one read-only signed request, giving up after `budget` (`TIMEOUT`).
    /// `UNAUTHORIZED` names the credential to check; `TRANSPORT` the origin that could not
    /// be reached. A budget of zero or above [`crate::MAX_DURATION`] is
    /// `INVALID_ARGUMENT`, and nothing is sent.
    ///
    /// # The request, and why it proves what it says
    ///
    /// `GET /management/has_registered_mobile_device/{app}/{HEALTH_PROBE_USER}`, signed with
    /// the application's credentials. Its answers tell the cases apart:
    ///
    /// - **401/403**: the service knows the application but refused the signature (wrong
    ///   secret, or a clock far off): `UNAUTHORIZED`, naming the application secret.
    /// - **404 `Client Application <id> not found`**: the service looks the application up
    ///   before it checks the signature (it needs the application to find the secret), so this
    ///   says the application id is wrong: `UNAUTHORIZED`, naming the application id.
    /// - **404 `User <id> not found`**: the user is looked up by the call itself, after the
    ///   signature was verified, so the credentials were accepted: healthy. (This is the
    ///   usual answer: the probe user is never added.)
    /// - **200** `{"status": true, "device_registered": ...}`: healthy (someone added a user
    ///   with the probe's id; the answer is read and thrown away).
    /// - Any other 404 (an HTML page, a proxy's "Not Found"): the base URL does not lead to
    ///   the service: `NOT_FOUND`, naming the base URL. Other statuses are the usual errors
    ///   (`HTTP` for 429 and 5xx).
    ///
    /// The call only reads: no user is added, no push, SMS or session is started. It is sent
    /// once (never retried: a monitoring system calls again on its own schedule), except the
    /// second tries every application-signed call gets after a refusal (re-signed once with
    /// the server's clock; once with the other secret of
    /// [`super::ClientBuilder::next_application_secret`]); the whole check gives up at its
    /// budget (`TIMEOUT`). A service that cannot be reached is `TRANSPORT`, naming the
    /// origin.
    pub async fn health_within(&self, budget: Duration) -> Result<Health> {
        check_positive("health timeout", budget)?;
        let url = self.management_url("has_registered_mobile_device", Some(HEALTH_PROBE_USER))?;
        let origin = origin_text(&url);
        let once = RetryPolicy { max_attempts: 1, deadline: budget, ..RetryPolicy::default() };
        let started = Instant::now();
        let sent = self.send_with(HEALTH, reqwest::Method::GET, url, None, Replay::Safe, Some(once));
        let reply = tokio::time::timeout(budget, sent)
            .await
            .map_err(|_| Error::Timeout(format!("no answer from {origin} within {} ms", budget.as_millis())))??;
        let latency = started.elapsed();
        match reply.status {
            200..=299 => {
                reply.json::<HasDeviceReply>("health check")?.outcome.check(&reply)?;
            }
            404 => {
                let text = String::from_utf8_lossy(&reply.body).trim().to_ascii_lowercase();
                if !(text.starts_with("user") && text.ends_with("not found")) {
                    return Err(self.not_the_unknown_user_answer(&text, &origin, &reply.message()));
                }
            }
            _ => return Err(reply.status_error()),
        }
        Ok(Health { latency, origin })
    }

    /// The error for a 404 that is not the service's unknown-user answer: an unknown
    /// application (`UNAUTHORIZED`), else a base URL that does not lead to the service.
    fn not_the_unknown_user_answer(&self, text: &str, origin: &str, message: &str) -> Error {
        if text.contains("application") {
            return Error::Unauthorized {
                status: 404,
                message: format!(
                    "the service does not know application {:?}: check the application id ({message})",
                    self.application_id()
                ),
            };
        }
        Error::NotFound {
            status: 404,
            message: format!(
                "{origin} answered 404 without the service's unknown-user text: check the base URL {} ({message})",
                self.base_url()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_user_is_a_valid_user_id_without_the_words_the_check_looks_for() {
        assert!(super::super::client::validate_user(HEALTH_PROBE_USER).is_ok());
        let probe = HEALTH_PROBE_USER.to_ascii_lowercase();
        assert!(!probe.contains("user") && !probe.contains("application") && !probe.contains("not found"));
    }
}
