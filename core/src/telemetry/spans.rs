//! Finished-call records handed to a language binding, which turns them into its own
//! OpenTelemetry spans (Rust users read the `tracing` spans instead).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;
use serde::ser::SerializeMap;

/// Receives each finished call's record, on the thread that finished the call.
pub type SpanSink = Arc<dyn Fn(&SpanRecord) + Send + Sync>;

static SINK: RwLock<Option<SpanSink>> = RwLock::new(None);
/// Whether a sink is set: read on every call, so no record is built while none is.
static RECORDING: AtomicBool = AtomicBool::new(false);

/// Sends every finished call's [`SpanRecord`] to `sink` (`None` stops). For bindings; a
/// Rust program adds a `tracing` layer instead. The sink runs with no lock of the
/// library held; a panic in it is caught and the record dropped.
pub fn set_span_sink(sink: Option<SpanSink>) {
    let mut slot = SINK.write().unwrap_or_else(PoisonError::into_inner);
    RECORDING.store(sink.is_some(), Ordering::SeqCst);
    *slot = sink;
}

/// Whether records are wanted.
pub(crate) fn recording() -> bool {
    RECORDING.load(Ordering::Relaxed)
}

/// Hands `record` to the sink, if one is set.
pub(crate) fn emit(record: &SpanRecord) {
    let sink = SINK.read().unwrap_or_else(PoisonError::into_inner).clone();
    if let Some(sink) = sink {
        let _ = catch_unwind(AssertUnwindSafe(|| sink(record)));
    }
}

/// An attribute value: text or a whole number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AttributeValue {
    /// Text.
    Text(String),
    /// A whole number.
    Int(i64),
}

/// Attributes in the order they were set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes(pub Vec<(&'static str, AttributeValue)>);

impl Attributes {
    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&AttributeValue> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    pub(crate) fn text(&mut self, key: &'static str, value: impl Into<String>) {
        self.0.push((key, AttributeValue::Text(value.into())));
    }

    pub(crate) fn int(&mut self, key: &'static str, value: i64) {
        self.0.push((key, AttributeValue::Int(value)));
    }
}

impl Serialize for Attributes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Something that happened during a call (a retry), at a time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpanEvent {
    /// `retry`.
    pub name: &'static str,
    /// When, in nanoseconds since the Unix epoch.
    pub time_unix_nano: u64,
    /// What it carries (`deviceauth.attempt`, `deviceauth.wait_ms`, `deviceauth.reason`).
    pub attributes: Attributes,
}

/// One finished service call, with the attributes of its `tracing` span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SpanRecord {
    /// `<service>.<endpoint>`, e.g. `activeconnect.authenticate_user`.
    pub name: String,
    /// Start, in nanoseconds since the Unix epoch.
    pub start_unix_nano: u64,
    /// End, in nanoseconds since the Unix epoch.
    pub end_unix_nano: u64,
    /// The span's attributes (see the README's "Tracing and metrics").
    pub attributes: Attributes,
    /// Retries, in order.
    pub events: Vec<SpanEvent>,
    /// The error code when the call did not end with a 2xx answer.
    pub error: Option<&'static str>,
}

impl SpanRecord {
    /// The record as JSON text, for bindings.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn unix_nanos(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}
