//! Process-wide counters, one gauge and one histogram, readable as a [`MetricsSnapshot`].
//!
//! Global like most SDKs' metrics: every client in the process adds to the same
//! instruments, so an exporter reads one place whatever number of clients the app
//! builds, and a binding needs no handle to reach them. Labels are fixed names (service,
//! endpoint, error code, status), never user ids, URLs or tokens, so the number of series
//! stays small. Recording takes one short lock per finished call (next to nothing beside
//! an HTTP request).
//!
//! Each update is also a `tracing` event of the target [`METRICS_TARGET`] (level TRACE) in
//! the form `tracing-opentelemetry`'s `MetricsLayer` exports (`monotonic_counter.`,
//! `counter.`, `histogram.` fields, the labels as attributes): a Rust app exports the same
//! instruments through OpenTelemetry by adding that layer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};

use serde::Serialize;

/// Upper bounds (milliseconds) of the call-duration histogram's buckets; one more bucket
/// counts everything above the last.
pub const DURATION_BUCKETS_MS: [f64; 12] =
    [5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 10000.0, 30000.0];

/// Calls finished, by `service`, `endpoint` and `outcome` (`ok` or an error code).
pub const CALLS: &str = "deviceauth.calls";
/// Retries sent (attempts after the first), by `service` and `endpoint`.
pub const RETRIES: &str = "deviceauth.retries";
/// Time of a call in milliseconds, every attempt and wait included, by `service` and `endpoint`.
pub const CALL_DURATION: &str = "deviceauth.call.duration";
/// Sessions the process's monitors are watching now (a gauge).
pub const SESSIONS_WATCHED: &str = "deviceauth.monitor.sessions";
/// Status changes a monitor saw, by the new `status`.
pub const STATUS_CHANGES: &str = "deviceauth.monitor.status_changes";
/// Sessions a monitor gave up on as unreachable.
pub const UNREACHABLE: &str = "deviceauth.monitor.unreachable";
/// Attempts refused for rate, by `source`: `attempt_limit` (the client's per-user sign-in
/// limit, nothing sent) or `service` (an HTTP 429 answer).
pub const RATE_LIMITED: &str = "deviceauth.rate_limited";

/// The `tracing` target of the metric events (see the module's docs): this module's path.
pub const METRICS_TARGET: &str = module_path!();

type Labels = Vec<(&'static str, &'static str)>;

#[derive(Default)]
struct Histogram {
    count: u64,
    sum: f64,
    buckets: [u64; DURATION_BUCKETS_MS.len() + 1],
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, Labels), u64>,
    histograms: BTreeMap<(&'static str, Labels), Histogram>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);
static WATCHED: AtomicI64 = AtomicI64::new(0);

fn with_registry(change: impl FnOnce(&mut Registry)) {
    // A panic elsewhere cannot leave a half-updated number here: every update is one step.
    let mut registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    change(registry.get_or_insert_with(Registry::default));
}

/// Adds `by` to the counter `name` with `labels`.
pub(crate) fn count(name: &'static str, labels: &[(&'static str, &'static str)], by: u64) {
    with_registry(|r| *r.counters.entry((name, labels.to_vec())).or_default() += by);
    let label = |key: &str| labels.iter().find(|(k, _)| *k == key).map_or("", |(_, value)| *value);
    match name {
        STATUS_CHANGES => {
            tracing::trace!(monotonic_counter.deviceauth.monitor.status_changes = by, status = label("status"));
        }
        UNREACHABLE => tracing::trace!(monotonic_counter.deviceauth.monitor.unreachable = by),
        RATE_LIMITED => {
            tracing::trace!(monotonic_counter.deviceauth.rate_limited = by, source = label("source"));
        }
        _ => {}
    }
}

/// Records one finished call: its outcome, its retries and its duration.
pub(crate) fn call(service: &'static str, endpoint: &'static str, outcome: &'static str, retries: u64, millis: f64) {
    let place = [("service", service), ("endpoint", endpoint)];
    with_registry(|r| {
        let calls = [("service", service), ("endpoint", endpoint), ("outcome", outcome)];
        *r.counters.entry((CALLS, calls.to_vec())).or_default() += 1;
        if retries > 0 {
            *r.counters.entry((RETRIES, place.to_vec())).or_default() += retries;
        }
        let histogram = r.histograms.entry((CALL_DURATION, place.to_vec())).or_default();
        histogram.count += 1;
        histogram.sum += millis;
        let bucket = DURATION_BUCKETS_MS.iter().position(|bound| millis <= *bound).unwrap_or(DURATION_BUCKETS_MS.len());
        histogram.buckets[bucket] += 1;
    });
    tracing::trace!(monotonic_counter.deviceauth.calls = 1_u64, service, endpoint, outcome);
    if retries > 0 {
        tracing::trace!(monotonic_counter.deviceauth.retries = retries, service, endpoint);
    }
    tracing::trace!(histogram.deviceauth.call.duration = millis, service, endpoint);
}

/// Changes the number of sessions watched by `delta`.
pub(crate) fn watched(delta: i64) {
    WATCHED.fetch_add(delta, Ordering::Relaxed);
    tracing::trace!(counter.deviceauth.monitor.sessions = delta);
}

/// The value of every instrument at one moment; the same shape (as JSON) in Python and Node.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// Monotonic counters, one entry per label set seen.
    pub counters: Vec<CounterPoint>,
    /// Values that go up and down.
    pub gauges: Vec<GaugePoint>,
    /// Distributions of durations.
    pub histograms: Vec<HistogramPoint>,
}

/// One counter series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CounterPoint {
    /// The instrument's name, e.g. [`CALLS`].
    pub name: &'static str,
    /// The series' labels.
    pub attributes: BTreeMap<&'static str, &'static str>,
    /// The count since the process started.
    pub value: u64,
}

/// One gauge series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct GaugePoint {
    /// The instrument's name, e.g. [`SESSIONS_WATCHED`].
    pub name: &'static str,
    /// The series' labels.
    pub attributes: BTreeMap<&'static str, &'static str>,
    /// The value now.
    pub value: i64,
}

/// One histogram series.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistogramPoint {
    /// The instrument's name, e.g. [`CALL_DURATION`].
    pub name: &'static str,
    /// The unit of the recorded values (`ms`).
    pub unit: &'static str,
    /// The series' labels.
    pub attributes: BTreeMap<&'static str, &'static str>,
    /// Values recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
    /// Bucket upper bounds ([`DURATION_BUCKETS_MS`]).
    pub bounds: Vec<f64>,
    /// Values per bucket: one per bound, then one for values above the last bound.
    pub bucket_counts: Vec<u64>,
}

impl MetricsSnapshot {
    /// The counter `name` with exactly these `labels` (0 when never counted).
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.counters.iter().find(|c| c.name == name && same(&c.attributes, labels)).map_or(0, |c| c.value)
    }

    /// The counter `name` summed over every series whose labels include `labels`.
    pub fn counter_sum(&self, name: &str, labels: &[(&str, &str)]) -> u64 {
        self.counters
            .iter()
            .filter(|c| c.name == name && labels.iter().all(|(k, v)| c.attributes.get(k) == Some(v)))
            .map(|c| c.value)
            .sum()
    }

    /// The gauge `name` (without labels); 0 when absent.
    pub fn gauge(&self, name: &str) -> i64 {
        self.gauges.iter().find(|g| g.name == name).map_or(0, |g| g.value)
    }

    /// The histogram `name` with exactly these `labels`.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<&HistogramPoint> {
        self.histograms.iter().find(|h| h.name == name && same(&h.attributes, labels))
    }
}

fn same(attributes: &BTreeMap<&'static str, &'static str>, labels: &[(&str, &str)]) -> bool {
    attributes.len() == labels.len() && labels.iter().all(|(k, v)| attributes.get(k) == Some(v))
}

/// The value of every instrument now. Counters only grow while the process lives.
pub fn snapshot() -> MetricsSnapshot {
    let registry = REGISTRY.lock().unwrap_or_else(PoisonError::into_inner);
    let mut snapshot = MetricsSnapshot {
        gauges: vec![GaugePoint {
            name: SESSIONS_WATCHED,
            attributes: BTreeMap::new(),
            value: WATCHED.load(Ordering::Relaxed),
        }],
        ..MetricsSnapshot::default()
    };
    if let Some(registry) = registry.as_ref() {
        snapshot.counters = registry
            .counters
            .iter()
            .map(|((name, labels), value)| CounterPoint {
                name,
                attributes: labels.iter().copied().collect(),
                value: *value,
            })
            .collect();
        snapshot.histograms = registry
            .histograms
            .iter()
            .map(|((name, labels), h)| HistogramPoint {
                name,
                unit: "ms",
                attributes: labels.iter().copied().collect(),
                count: h.count,
                sum: h.sum,
                bounds: DURATION_BUCKETS_MS.to_vec(),
                bucket_counts: h.buckets.to_vec(),
            })
            .collect();
    }
    snapshot
}

/// [`snapshot`] as JSON text (for the bindings, which hand it on as a dict / object).
pub fn snapshot_json() -> String {
    serde_json::to_string(&snapshot()).unwrap_or_else(|_| "{}".to_owned())
}
