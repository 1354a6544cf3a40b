//! Tracing and metrics: the `tracing` spans exported through OpenTelemetry (the SDK's
//! in-memory exporter behind `tracing-opentelemetry`'s layer), the binding span records,
//! and the metrics snapshot, for a sign-in, a retried call and refused ones; none of them
//! holds a secret, even when the server echoes secrets back.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Env, fault};
use deviceauth::activeconnect::{
    AttemptLimit, AuthenticateOptions, Client, Monitor, MonitorEvent, MonitorOptions, Status, WaitOptions,
};
use deviceauth::projectinsight::DeviceInfo;
use deviceauth::telemetry::metrics::{self, MetricsSnapshot};
use deviceauth::telemetry::{AttributeValue, SpanRecord, set_span_sink};
use opentelemetry::trace::{Status as OtelStatus, TracerProvider as _};
use opentelemetry::{Key, Value};
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData};
use opentelemetry_sdk::metrics::{InMemoryMetricExporter, SdkMeterProvider};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::json;
use sha2::{Digest, Sha256};
use tracing_subscriber::Layer as _;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt;

/// Metrics and the span sink are process-wide: the tests of this file run one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Spans exported while the returned guard lives (this thread's subscriber: the tests
/// run on a current-thread runtime, emulator included).
struct Traced {
    exporter: InMemorySpanExporter,
    provider: SdkTracerProvider,
    /// Every `deviceauth` event as text (`message=... field=value ...`), spans or not.
    events: Arc<Mutex<Vec<String>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

/// A layer writing down each event's fields.
struct EventLog(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for EventLog {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut text = String::new();
        event.record(&mut |field: &tracing::field::Field, value: &dyn std::fmt::Debug| {
            text.push_str(&format!("{}={value:?} ", field.name()));
        });
        self.0.lock().unwrap().push(text);
    }
}

fn traced() -> Traced {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder().with_simple_exporter(exporter.clone()).build();
    // Only the library's own spans and events (reqwest's pool logs through `tracing` too),
    // as the README shows.
    let ours = Targets::new().with_target("deviceauth", tracing::Level::INFO);
    let layer = tracing_opentelemetry::layer().with_tracer(provider.tracer("deviceauth-test")).with_filter(ours);
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = EventLog(events.clone()).with_filter(Targets::new().with_target("deviceauth", tracing::Level::INFO));
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer).with(log));
    Traced { exporter, provider, events, _guard: guard }
}

impl Traced {
    fn spans(&self) -> Vec<SpanData> {
        let _ = self.provider.force_flush();
        self.exporter.get_finished_spans().expect("finished spans")
    }
}

fn attribute<'a>(span: &'a SpanData, key: &str) -> Option<&'a Value> {
    span.attributes.iter().find(|kv| kv.key == Key::from(key.to_owned())).map(|kv| &kv.value)
}

fn text(span: &SpanData, key: &str) -> String {
    attribute(span, key).map(|v| v.as_str().into_owned()).unwrap_or_default()
}

fn int(span: &SpanData, key: &str) -> i64 {
    match attribute(span, key) {
        Some(Value::I64(n)) => *n,
        other => panic!("{key} of {} is {other:?}", span.name),
    }
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> Vec<&'a SpanData> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// Everything a span carries, as text, for the secret audit.
fn span_text(span: &SpanData) -> String {
    format!("{} {:?} {:?} {:?}", span.name, span.attributes, span.events.events, span.status)
}

fn hash8(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Collects the records a binding would receive.
fn record_spans() -> Arc<Mutex<Vec<SpanRecord>>> {
    let records = Arc::new(Mutex::new(Vec::new()));
    let sink = records.clone();
    set_span_sink(Some(Arc::new(move |record: &SpanRecord| sink.lock().unwrap().push(record.clone()))));
    records
}

fn delta(before: &MetricsSnapshot, after: &MetricsSnapshot, name: &str, labels: &[(&str, &str)]) -> u64 {
    after.counter(name, labels) - before.counter(name, labels)
}

#[tokio::test]
async fn a_sign_in_is_traced_from_request_to_approval() {
    let _serial = SERIAL.lock().await;
    let env = Env::approving_after(Duration::from_millis(300)).await;
    let client = env.client();
    client.add_user("alice").await.unwrap();
    env.register_device("alice").await;
    let before = metrics::snapshot();
    let records = record_spans();
    let traced = traced();

    let session = client.authenticate_user("alice", &AuthenticateOptions::default()).await.unwrap();
    let wait = WaitOptions { interval: Duration::from_millis(100), deadline: Duration::from_secs(10) };
    assert_eq!(session.wait(&wait).await.unwrap(), Status::Active);
    set_span_sink(None);

    let spans = traced.spans();
    let started = named(&spans, "activeconnect.authenticate_user");
    assert_eq!(started.len(), 1, "{spans:#?}");
    let start = started[0];
    assert_eq!(text(start, "deviceauth.service"), "activeconnect");
    assert_eq!(text(start, "deviceauth.endpoint"), "authenticate_user");
    assert_eq!(text(start, "http.request.method"), "POST");
    assert_eq!(int(start, "deviceauth.attempts"), 1);
    assert_eq!(int(start, "http.response.status_code"), 202);
    assert_eq!(text(start, "deviceauth.outcome"), "ok");
    assert!(int(start, "deviceauth.duration_ms") >= 0);
    assert_eq!(start.status, OtelStatus::Ok);
    assert_eq!(start.span_kind, opentelemetry::trace::SpanKind::Client);

    let token = session.session_token();
    let polls = named(&spans, "activeconnect.status");
    assert!(polls.len() >= 2, "polled until approved: {polls:#?}");
    for poll in &polls {
        assert_eq!(text(poll, "deviceauth.session"), hash8(&token));
        assert_eq!(int(poll, "http.response.status_code"), 200);
        assert_eq!(text(poll, "deviceauth.outcome"), "ok");
    }

    // The binding records say the same.
    let records = records.lock().unwrap().clone();
    let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names[0], "activeconnect.authenticate_user");
    assert_eq!(names.len(), 1 + polls.len(), "{names:?}");
    let poll = records.last().unwrap();
    assert_eq!(poll.attributes.get("deviceauth.session"), Some(&AttributeValue::Text(hash8(&token))));
    assert_eq!(poll.attributes.get("http.response.status_code"), Some(&AttributeValue::Int(200)));
    assert!(poll.start_unix_nano <= poll.end_unix_nano && poll.error.is_none());

    let after = metrics::snapshot();
    let sign_in = [("service", "activeconnect"), ("endpoint", "authenticate_user"), ("outcome", "ok")];
    assert_eq!(delta(&before, &after, metrics::CALLS, &sign_in), 1);
    let status = [("service", "activeconnect"), ("endpoint", "status"), ("outcome", "ok")];
    assert_eq!(delta(&before, &after, metrics::CALLS, &status), polls.len() as u64);
    let place = [("service", "activeconnect"), ("endpoint", "status")];
    let histogram = after.histogram(metrics::CALL_DURATION, &place).expect("a duration histogram");
    let counted = histogram.count - before.histogram(metrics::CALL_DURATION, &place).map_or(0, |h| h.count);
    assert_eq!(counted, polls.len() as u64);
    assert_eq!(histogram.bucket_counts.len(), histogram.bounds.len() + 1);
    assert_eq!(histogram.bucket_counts.iter().sum::<u64>(), histogram.count);
}

#[tokio::test]
async fn a_retried_call_has_one_span_with_its_retries() {
    let _serial = SERIAL.lock().await;
    let env = Env::start().await;
    let client = env.client();
    client.add_user("bob").await.unwrap();
    let path = "/management/has_registered_mobile_device";
    env.fault(fault(path, json!({"status": 503, "count": 2, "body": "busy"}))).await;
    let before = metrics::snapshot();
    let records = record_spans();
    let traced = traced();

    assert!(!client.has_registered_mobile_device("bob").await.unwrap());
    env.fault(fault(path, json!({"status": 429, "retry_after": "0"}))).await;
    assert!(!client.has_registered_mobile_device("bob").await.unwrap());
    env.fault(fault(path, json!({"drop": true}))).await;
    assert!(!client.has_registered_mobile_device("bob").await.unwrap());
    set_span_sink(None);

    let spans = traced.spans();
    let calls = named(&spans, "activeconnect.has_registered_mobile_device");
    assert_eq!(calls.len(), 3, "one span per call, not per attempt: {spans:#?}");
    let first = calls[0];
    assert_eq!(int(first, "deviceauth.attempts"), 3);
    assert_eq!(int(first, "http.response.status_code"), 200);
    assert_eq!(text(first, "deviceauth.outcome"), "ok");
    let retries = &first.events.events;
    assert_eq!(retries.len(), 2, "{retries:?}");
    for (n, event) in retries.iter().enumerate() {
        assert_eq!(event.name, "retry");
        let field = |key: &str| event.attributes.iter().find(|kv| kv.key.as_str() == key).map(|kv| kv.value.clone());
        assert_eq!(field("deviceauth.attempt"), Some(Value::I64(n as i64 + 1)));
        assert_eq!(field("deviceauth.reason"), Some(Value::from("HTTP 503")));
        assert!(matches!(field("deviceauth.wait_ms"), Some(Value::I64(ms)) if (10..=200).contains(&ms)));
    }
    assert_eq!(int(calls[1], "deviceauth.attempts"), 2);
    let dropped = &calls[2].events.events;
    assert_eq!(dropped.len(), 1);
    let reason = dropped[0].attributes.iter().find(|kv| kv.key.as_str() == "deviceauth.reason").unwrap();
    assert!(matches!(reason.value.as_str().as_ref(), "TRANSPORT" | "TIMEOUT"), "{reason:?}");

    let records = records.lock().unwrap().clone();
    assert_eq!(records.len(), 3);
    assert_eq!(records[0].events.len(), 2);
    assert_eq!(
        records[0].events[0].attributes.get("deviceauth.reason"),
        Some(&AttributeValue::Text("HTTP 503".into()))
    );
    assert_eq!(records[0].attributes.get("deviceauth.attempts"), Some(&AttributeValue::Int(3)));

    let after = metrics::snapshot();
    let place = [("service", "activeconnect"), ("endpoint", "has_registered_mobile_device")];
    assert_eq!(delta(&before, &after, metrics::RETRIES, &place), 4);
    assert_eq!(delta(&before, &after, metrics::RATE_LIMITED, &[("source", "service")]), 1);
    let ok = [place[0], place[1], ("outcome", "ok")];
    assert_eq!(delta(&before, &after, metrics::CALLS, &ok), 3);
}

#[tokio::test]
async fn a_call_its_caller_gives_up_on_counts_as_aborted() {
    let _serial = SERIAL.lock().await;
    let env = Env::start().await;
    let client = env.client();
    client.add_user("gina").await.unwrap();
    env.fault(fault("/management/has_registered_mobile_device", json!({"delay_ms": 1000}))).await;
    let before = metrics::snapshot();
    let records = record_spans();
    let traced = traced();
    let call = client.has_registered_mobile_device("gina");
    assert!(tokio::time::timeout(Duration::from_millis(100), call).await.is_err());
    set_span_sink(None);

    let spans = traced.spans();
    let [span] = &named(&spans, "activeconnect.has_registered_mobile_device")[..] else { panic!("{spans:#?}") };
    assert_eq!(text(span, "deviceauth.outcome"), "ABORTED");
    assert_eq!(int(span, "deviceauth.attempts"), 1);
    assert!(records.lock().unwrap().is_empty(), "no binding record from a dropped call");
    let aborted = [("service", "activeconnect"), ("endpoint", "has_registered_mobile_device"), ("outcome", "ABORTED")];
    assert_eq!(delta(&before, &metrics::snapshot(), metrics::CALLS, &aborted), 1);
}

#[tokio::test]
async fn refused_sign_ins_are_traced_as_failures() {
    let _serial = SERIAL.lock().await;
    let env = Env::start().await;
    let client = env.client();
    let session = env.signed_in_attempt("carol").await;
    let before = metrics::snapshot();
    let traced = traced();

    // The service refuses the application's signature.
    let wrong = Client::builder(&env.app_id, "wrong-secret").base_url(env.emulator.base_url()).build().unwrap();
    let err = wrong.authenticate_user("carol", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "UNAUTHORIZED");
    // The client's per-user limit refuses before sending.
    let limit = AttemptLimit { attempts: 1, window: Duration::from_secs(60) };
    let limited = client.with_attempt_limit_at("memory", None, limit).await.unwrap();
    client.add_user("dave").await.unwrap();
    env.register_device("dave").await;
    limited.authenticate_user("dave", &AuthenticateOptions::default()).await.unwrap();
    let err = limited.authenticate_user("dave", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "RATE_LIMITED");
    // The user denies on the phone while a monitor watches.
    let options = MonitorOptions { interval: Duration::from_millis(50), ..MonitorOptions::default() };
    let (monitor, events) = Monitor::start(&client, options).unwrap();
    let watched = metrics::snapshot().gauge(metrics::SESSIONS_WATCHED);
    assert!(monitor.add(session.data()));
    assert_eq!(metrics::snapshot().gauge(metrics::SESSIONS_WATCHED), watched + 1);
    env.act(&session, "deny").await;
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert!(matches!(event, MonitorEvent::Changed { status: Status::Failed, .. }), "{event:?}");
    assert_eq!(metrics::snapshot().gauge(metrics::SESSIONS_WATCHED), watched, "an ended session is let go");
    monitor.close();

    let changed = format!(
        "message=status_changed deviceauth.session={} deviceauth.previous=\"pending\" deviceauth.status=\"failed\" ",
        hash8(&session.session_token())
    );
    assert!(traced.events.lock().unwrap().contains(&changed), "{:?}", traced.events.lock().unwrap());
    let spans = traced.spans();
    let refused = named(&spans, "activeconnect.authenticate_user");
    assert_eq!(refused.len(), 2, "the limited request sends nothing: {refused:#?}");
    assert_eq!(int(refused[0], "http.response.status_code"), 401);
    assert_eq!(text(refused[0], "deviceauth.outcome"), "UNAUTHORIZED");
    assert!(matches!(refused[0].status, OtelStatus::Error { .. }), "{:?}", refused[0].status);
    assert_eq!(text(refused[1], "deviceauth.outcome"), "ok");

    let after = metrics::snapshot();
    let unauthorized = [("service", "activeconnect"), ("endpoint", "authenticate_user"), ("outcome", "UNAUTHORIZED")];
    assert_eq!(delta(&before, &after, metrics::CALLS, &unauthorized), 1);
    assert_eq!(delta(&before, &after, metrics::RATE_LIMITED, &[("source", "attempt_limit")]), 1);
    assert_eq!(delta(&before, &after, metrics::STATUS_CHANGES, &[("status", "failed")]), 1);
}

#[tokio::test]
async fn traces_and_metrics_hold_no_secret_even_when_the_server_echoes_them() {
    let _serial = SERIAL.lock().await;
    let env = Env::start().await;
    let client = env.client();
    let records = record_spans();
    let traced = traced();

    let session = env.signed_in_attempt("erin").await;
    let data = session.data();
    let pi = env.pi();
    let pending = pi.create_device_activation(&DeviceInfo::new("agent")).await.unwrap();
    let code = env.activation_code(&pending.id).await;
    let done = pi.complete_device_activation(&pending.id, &code, "agent", None).await.unwrap();
    let api_token = done.api_token.expose_secret().to_owned();
    let secrets = [
        env.app_secret.clone(),
        data.session_token.clone(),
        data.session_secret.expose_secret().to_owned(),
        api_token.clone(),
        code.clone(),
    ];
    // The server echoes every secret in its error answers.
    let echo = secrets.join(" ");
    let status_path = data.status_url.path().to_owned();
    env.fault(fault(&status_path, json!({"status": 503, "count": 2, "body": echo}))).await;
    session.refresh().await.unwrap();
    env.fault(fault("/api/echo", json!({"status": 500, "body": echo}))).await;
    let api = pi.with_api_token(done.api_token.clone());
    let _ = api.get("echo").await;
    let _ = pi.complete_device_activation(&pending.id, &code, "agent", None).await;
    let logout = env.signed_in_attempt("erin2").await;
    env.fault(fault("/", json!({"status": 401, "body": echo, "count": 1}))).await;
    let _ = logout.logout().await;
    let _ = client.add_user(&echo).await;
    // A monitor's events: a change, and a session it cannot reach (the server echoing).
    let options = MonitorOptions {
        interval: Duration::from_millis(50),
        unreachable_after: Duration::from_millis(100),
        ..MonitorOptions::default()
    };
    let (monitor, events) = Monitor::start(&client, options).unwrap();
    let watched = env.signed_in_attempt("erin3").await;
    assert!(monitor.add(watched.data()));
    env.act(&watched, "approve").await;
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert!(matches!(event, MonitorEvent::Changed { .. }), "{event:?}");
    env.fault(fault(watched.data().status_url.path(), json!({"status": 500, "count": 1000, "body": echo}))).await;
    let event = tokio::time::timeout(Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    assert!(matches!(event, MonitorEvent::Unreachable { .. }), "{event:?}");
    monitor.close();
    set_span_sink(None);

    let spans = traced.spans();
    assert!(spans.len() >= 8, "{spans:#?}");
    let mut texts: Vec<String> = spans.iter().map(span_text).collect();
    let logged = traced.events.lock().unwrap().clone();
    assert!(logged.iter().any(|e| e.starts_with("message=status_changed")), "{logged:?}");
    assert!(logged.iter().any(|e| e.starts_with("message=unreachable")), "{logged:?}");
    texts.extend(logged);
    texts.extend(records.lock().unwrap().iter().map(SpanRecord::to_json));
    texts.push(metrics::snapshot_json());
    for text in &texts {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "secret leaked in {text}");
        }
    }
    // A session token shows only as its 8-digit hash.
    assert!(texts.iter().any(|t| t.contains(&hash8(&data.session_token))));
}

/// Telemetry off (no subscriber, no sink) costs next to nothing: the same calls with a
/// binding sink and with an OpenTelemetry layer exporting every span are timed beside them,
/// in alternating rounds (the fastest round of each counts, to leave out the machine's noise).
/// The metrics as `tracing-opentelemetry`'s `MetricsLayer` exports them (the README's
/// recipe), read back from the SDK's in-memory exporter: name, kind, attributes and value
/// (sum, or count and sum for a histogram), as text.
fn exported_metrics(exporter: &InMemoryMetricExporter, provider: &SdkMeterProvider) -> Vec<String> {
    provider.force_flush().expect("flushed");
    let mut lines = Vec::new();
    for resource in exporter.get_finished_metrics().expect("finished metrics") {
        for scope in resource.scope_metrics() {
            for metric in scope.metrics() {
                let name = metric.name();
                let attributes = |kvs: &mut dyn Iterator<Item = &opentelemetry::KeyValue>| {
                    let mut pairs: Vec<String> = kvs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
                    pairs.sort();
                    pairs.join(",")
                };
                match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(sum)) => sum.data_points().for_each(|p| {
                        lines.push(format!("{name} sum [{}] {}", attributes(&mut p.attributes()), p.value()))
                    }),
                    AggregatedMetrics::I64(MetricData::Sum(sum)) => sum.data_points().for_each(|p| {
                        lines.push(format!("{name} sum [{}] {}", attributes(&mut p.attributes()), p.value()))
                    }),
                    AggregatedMetrics::F64(MetricData::Histogram(histogram)) => histogram.data_points().for_each(|p| {
                        lines.push(format!("{name} histogram [{}] count={}", attributes(&mut p.attributes()), p.count()))
                    }),
                    other => lines.push(format!("{name} {other:?}")),
                }
            }
        }
    }
    lines
}

#[tokio::test]
async fn metrics_export_through_opentelemetry_with_the_metrics_layer() {
    let _serial = SERIAL.lock().await;
    let env = Env::approving_after(Duration::from_millis(200)).await;
    let client = env.client();
    client.add_user("mia").await.unwrap();
    env.register_device("mia").await;
    let exporter = InMemoryMetricExporter::default();
    let provider = SdkMeterProvider::builder().with_periodic_exporter(exporter.clone()).build();
    let layer = tracing_opentelemetry::MetricsLayer::new(provider.clone());
    let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(layer));

    let session = client.authenticate_user("mia", &AuthenticateOptions::default()).await.unwrap();
    let wait = WaitOptions { interval: Duration::from_millis(100), deadline: Duration::from_secs(10) };
    assert_eq!(session.wait(&wait).await.unwrap(), Status::Active);
    let path = "/management/has_registered_mobile_device";
    env.fault(fault(path, json!({"status": 503, "count": 1, "body": "busy"}))).await;
    assert!(client.has_registered_mobile_device("mia").await.unwrap());
    drop(guard);

    let lines = exported_metrics(&exporter, &provider);
    let has = |prefix: &str| lines.iter().any(|line| line.starts_with(prefix));
    assert!(
        has("deviceauth.calls sum [endpoint=authenticate_user,outcome=ok,service=activeconnect] 1"),
        "{lines:#?}"
    );
    assert!(has("deviceauth.calls sum [endpoint=status,outcome=ok,service=activeconnect] "), "{lines:#?}");
    assert!(has("deviceauth.retries sum [endpoint=has_registered_mobile_device,service=activeconnect] 1"), "{lines:#?}");
    assert!(
        has("deviceauth.call.duration histogram [endpoint=authenticate_user,service=activeconnect] count=1"),
        "{lines:#?}"
    );
    let text = format!("{lines:?}");
    for secret in [env.app_secret.clone(), session.session_token()] {
        assert!(!text.contains(&secret), "a secret in the exported metrics: {text}");
    }
}

#[tokio::test]
async fn telemetry_off_costs_next_to_nothing() {
    let _serial = SERIAL.lock().await;
    let env = Env::start().await;
    let client = env.client();
    client.add_user("frank").await.unwrap();
    const CALLS: u32 = 200;
    async fn run(client: &Client) -> Duration {
        let started = Instant::now();
        for _ in 0..CALLS {
            client.has_registered_mobile_device("frank").await.unwrap();
        }
        started.elapsed()
    }
    run(&client).await; // warm the pool
    let (mut off, mut sink, mut otel) = (Duration::MAX, Duration::MAX, Duration::MAX);
    for _ in 0..3 {
        off = off.min(run(&client).await);
        let records = record_spans();
        sink = sink.min(run(&client).await);
        set_span_sink(None);
        assert_eq!(records.lock().unwrap().len(), CALLS as usize);
        let traced = traced();
        otel = otel.min(run(&client).await);
        assert_eq!(traced.spans().len(), CALLS as usize);
    }
    let per_call = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(CALLS);
    println!(
        "{CALLS} calls to the emulator, fastest of 3 rounds: telemetry off {:.0} us/call, binding sink {:.0} us/call, \
         OpenTelemetry layer {:.0} us/call",
        per_call(off),
        per_call(sink),
        per_call(otel)
    );
}
