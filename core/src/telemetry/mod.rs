//! Tracing and metrics.
//!
//! Every service call runs in a `tracing` span named `deviceauth.call` (target
//! `deviceauth`, `otel.name` `<service>.<endpoint>`); retries are `retry` events inside it
//! and a monitor's status changes are `status_changed` / `unreachable` events. Add
//! `tracing-opentelemetry`'s layer to a subscriber to export them (see the README's
//! "Tracing and metrics"). The counters and histograms are process-wide and read with
//! [`metrics::snapshot`]. Nothing here ever holds a secret: names are fixed, and a session
//! token shows only as the first 8 hex digits of its SHA-256.

mod call;
pub mod metrics;
mod spans;

pub(crate) use call::{CallTrace, Endpoint, token_hash};
pub use spans::{AttributeValue, Attributes, SpanEvent, SpanRecord, SpanSink, set_span_sink};

use crate::activeconnect::Status;

/// A status as a metric label or trace field: the known wire names, else `unknown` (an
/// unknown status is the server's own text, which must not reach a trace).
pub(crate) fn status_label(status: &Status) -> &'static str {
    status.known_name()
}

/// Records a monitor's status change of the session `session_token` (metrics and a
/// `tracing` event).
pub(crate) fn status_changed(session_token: &str, previous: &Status, status: &Status) {
    let label = status_label(status);
    metrics::count(metrics::STATUS_CHANGES, &[("status", label)], 1);
    tracing::info!(
        deviceauth.session = %token_hash(session_token),
        deviceauth.previous = status_label(previous),
        deviceauth.status = label,
        "status_changed"
    );
}

/// Records that a monitor gave up on the session `session_token` as unreachable.
pub(crate) fn unreachable(session_token: &str, code: &'static str) {
    metrics::count(metrics::UNREACHABLE, &[], 1);
    tracing::warn!(
        deviceauth.session = %token_hash(session_token),
        deviceauth.outcome = code,
        "unreachable"
    );
}
