//! The trace of one service call: its `tracing` span, its metrics and, when a binding
//! asked for them, its [`SpanRecord`].

use std::time::{Duration, Instant, SystemTime};

use sha2::{Digest, Sha256};
use tracing::field::Empty;

use super::metrics::{self, RATE_LIMITED};
use super::spans::{self, Attributes, SpanEvent, SpanRecord, unix_nanos};

/// Which call of which service: fixed names, never a URL (URLs hold user ids and codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Endpoint {
    /// `activeconnect` or `projectinsight`.
    pub service: &'static str,
    /// The call, e.g. `authenticate_user`, `status`, `complete_device_activation`.
    pub name: &'static str,
}

impl Endpoint {
    /// An Activeconnect call.
    pub const fn activeconnect(name: &'static str) -> Self {
        Endpoint { service: "activeconnect", name }
    }

    /// A Project Insight call.
    pub const fn projectinsight(name: &'static str) -> Self {
        Endpoint { service: "projectinsight", name }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.service, self.name)
    }
}

/// The first 8 hex digits of the SHA-256 of a session token: enough to follow one session
/// through traces, useless to sign a request.
pub(crate) fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// A call in progress. Built once per call; costs a disabled span and a clock read when
/// no subscriber and no binding sink wants anything.
pub(crate) struct CallTrace {
    span: tracing::Span,
    endpoint: Endpoint,
    method: &'static str,
    session: Option<String>,
    started: Instant,
    started_at: SystemTime,
    attempts: u32,
    status: Option<u16>,
    /// Retry events, kept only for a binding's record.
    events: Option<Vec<SpanEvent>>,
    /// Set once the outcome is recorded.
    ended: bool,
}

impl CallTrace {
    /// Starts the trace of a call to `endpoint`, for the session `session_token` if any.
    pub fn start(endpoint: Endpoint, method: &reqwest::Method, session_token: Option<&str>) -> Self {
        let method = static_method(method);
        let span = tracing::info_span!(
            target: "deviceauth",
            "deviceauth.call",
            otel.name = %endpoint,
            otel.kind = "client",
            otel.status_code = Empty,
            deviceauth.service = endpoint.service,
            deviceauth.endpoint = endpoint.name,
            http.request.method = method,
            deviceauth.session = Empty,
            deviceauth.attempts = Empty,
            http.response.status_code = Empty,
            deviceauth.outcome = Empty,
            deviceauth.duration_ms = Empty,
        );
        let recording = spans::recording();
        let session = match session_token {
            Some(token) if recording || !span.is_disabled() => Some(token_hash(token)),
            _ => None,
        };
        if let Some(hash) = &session {
            span.record("deviceauth.session", hash.as_str());
        }
        CallTrace {
            span,
            endpoint,
            method,
            session,
            started: Instant::now(),
            started_at: SystemTime::now(),
            attempts: 0,
            status: None,
            events: recording.then(Vec::new),
            ended: false,
        }
    }

    /// The call's `tracing` span, to run its attempts in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// An attempt is being sent.
    pub fn attempt(&mut self) {
        self.attempts += 1;
    }

    /// An attempt got an HTTP answer.
    pub fn answered(&mut self, status: u16) {
        self.status = Some(status);
        if status == 429 {
            metrics::count(RATE_LIMITED, &[("source", "service")], 1);
        }
    }

    /// The attempt just made failed with `reason` (`HTTP 503` or an error code) and the
    /// call will be sent again after `wait`.
    pub fn retry(&mut self, wait: Duration, reason: &str) {
        let wait_ms = i64::try_from(wait.as_millis()).unwrap_or(i64::MAX);
        tracing::info!(
            parent: &self.span,
            deviceauth.attempt = i64::from(self.attempts),
            deviceauth.wait_ms = wait_ms,
            deviceauth.reason = reason,
            "retry"
        );
        if let Some(events) = &mut self.events {
            let mut attributes = Attributes::default();
            attributes.int("deviceauth.attempt", i64::from(self.attempts));
            attributes.int("deviceauth.wait_ms", wait_ms);
            attributes.text("deviceauth.reason", reason);
            events.push(SpanEvent { name: "retry", time_unix_nano: unix_nanos(SystemTime::now()), attributes });
        }
    }

    /// Ends the call: `outcome` is `ok` for a 2xx answer, else the error code of the
    /// answer or failure.
    pub fn finish(mut self, outcome: &'static str) {
        self.end(outcome);
    }

    fn end(&mut self, outcome: &'static str) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        let elapsed = self.started.elapsed();
        let millis = elapsed.as_secs_f64() * 1000.0;
        let retries = u64::from(self.attempts.saturating_sub(1));
        metrics::call(self.endpoint.service, self.endpoint.name, outcome, retries, millis);
        let duration_ms = i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX);
        let failed = outcome != "ok";
        if !self.span.is_disabled() {
            self.span.record("deviceauth.attempts", i64::from(self.attempts));
            if let Some(status) = self.status {
                self.span.record("http.response.status_code", i64::from(status));
            }
            self.span.record("deviceauth.outcome", outcome);
            self.span.record("deviceauth.duration_ms", duration_ms);
            self.span.record("otel.status_code", if failed { "ERROR" } else { "OK" });
        }
        let Some(events) = self.events.take() else { return };
        let mut attributes = Attributes::default();
        attributes.text("deviceauth.service", self.endpoint.service);
        attributes.text("deviceauth.endpoint", self.endpoint.name);
        attributes.text("http.request.method", self.method);
        if let Some(hash) = self.session.take() {
            attributes.text("deviceauth.session", hash);
        }
        attributes.int("deviceauth.attempts", i64::from(self.attempts));
        if let Some(status) = self.status {
            attributes.int("http.response.status_code", i64::from(status));
        }
        attributes.text("deviceauth.outcome", outcome);
        attributes.int("deviceauth.duration_ms", duration_ms);
        let start_unix_nano = unix_nanos(self.started_at);
        spans::emit(&SpanRecord {
            name: self.endpoint.to_string(),
            start_unix_nano,
            end_unix_nano: start_unix_nano.saturating_add(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)),
            attributes,
            events,
            error: failed.then_some(outcome),
        });
    }
}

impl Drop for CallTrace {
    /// A call dropped before its end (its caller gave up: an abort, a time budget) counts
    /// as `ABORTED` in the metrics and its `tracing` span. No binding record is made here:
    /// a drop may run on any thread, and a binding's sink may need the host's lock.
    fn drop(&mut self) {
        if !self.ended && !std::thread::panicking() {
            self.events = None;
            self.end("ABORTED");
        }
    }
}

fn static_method(method: &reqwest::Method) -> &'static str {
    match *method {
        reqwest::Method::GET => "GET",
        reqwest::Method::POST => "POST",
        reqwest::Method::PUT => "PUT",
        reqwest::Method::DELETE => "DELETE",
        reqwest::Method::PATCH => "PATCH",
        _ => "OTHER",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_token_shows_as_8_hex_digits_of_its_sha256() {
        // SHA-256("abc") = ba7816bf...
        assert_eq!(token_hash("abc"), "ba7816bf");
    }

    /// What telemetry adds to a call while it is off (no subscriber, no sink): a disabled
    /// span, two clock reads and the metrics update.
    #[test]
    fn tracing_a_call_while_off_costs_next_to_nothing() {
        const CALLS: u32 = 100_000;
        let endpoint = Endpoint::activeconnect("bench");
        let started = Instant::now();
        for _ in 0..CALLS {
            let mut trace = CallTrace::start(endpoint, &reqwest::Method::GET, Some("token"));
            trace.attempt();
            trace.answered(200);
            trace.finish("ok");
        }
        let per_call = started.elapsed() / CALLS;
        println!("telemetry off: {} ns per call traced", per_call.as_nanos());
        assert!(per_call < Duration::from_micros(20), "{per_call:?} per call");
    }
}
