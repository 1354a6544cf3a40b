//! A hostile or broken service (every byte from a raw TCP server the test controls) can
//! never crash, steer or leak through the client (issue 10).

mod raw_server;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use deviceauth::activeconnect::signing::{Clock, SystemClock};
use deviceauth::activeconnect::{
    AuthenticateOptions, Client, Monitor, MonitorEvent, MonitorOptions, SessionData, Status, WaitOptions,
};
use deviceauth::projectinsight::{Client as PiClient, DeviceInfo};
use deviceauth::{Error, RetryPolicy};
use futures_util::StreamExt;
use raw_server::{RawServer, json, response};

const APP_SECRET: &str = "app-Secret/9f8e+7d";
const SESSION_SECRET: &str = "sess-Secret/1a2b+3c";
const API_TOKEN: &str = "tok-Secret-77aa99bb";
const CODE: &str = "c0de/42+x";

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        deadline: Duration::from_secs(3),
    }
}

fn client(base: &str) -> Client {
    Client::builder("APP", APP_SECRET)
        .base_url(base)
        .retry_policy(fast())
        .timeout(Duration::from_secs(2))
        .build()
        .unwrap()
}

fn pi(server: &RawServer) -> PiClient {
    PiClient::builder(server.url("/api")).retry_policy(fast()).timeout(Duration::from_secs(2)).build().unwrap()
}

fn session_data(status_url: &str, logout_url: &str, status: Status) -> SessionData {
    SessionData {
        user: "u".into(),
        session_token: "tok-1".into(),
        session_secret: SESSION_SECRET.into(),
        status_url: status_url.parse().unwrap(),
        logout_url: logout_url.parse().unwrap(),
        status,
    }
}

fn started_json(status_url: &str, logout_url: &str) -> String {
    format!(
        r#"{{"authenticated":true,"session_status":"pending","status_url":"{status_url}","logout_url":"{logout_url}","session_token":"tok-1","session_secret":"{SESSION_SECRET}"}}"#
    )
}

#[tokio::test]
async fn retry_after_beyond_any_clock_is_clamped_not_a_panic() {
    for value in ["10000000000000000000", "99999999999999999999999999999", "Fri, 31 Dec 9999 23:59:59 GMT"] {
        let header = format!("Retry-After: {value}");
        let server = RawServer::start(move |_| response("503 Service Unavailable", &[&header], "busy")).await;
        let started = std::time::Instant::now();
        let err = client(&server.origin()).add_user("u").await.unwrap_err();
        assert_eq!((err.code(), err.status()), ("HTTP", Some(503)), "{value}: {err}");
        assert!(started.elapsed() < Duration::from_secs(2), "gave up at once: {:?}", started.elapsed());
        assert_eq!(server.seen().len(), 1, "a delay past the deadline is not waited for");

        // The same through the single-flight status poll: the next refresh sends again.
        let session =
            client(&server.origin()).resume(session_data(&server.url("/s"), &server.url("/l"), Status::Active));
        assert_eq!(session.refresh().await.unwrap_err().code(), "HTTP");
        assert_eq!(session.refresh().await.unwrap_err().code(), "HTTP");
        assert_eq!(server.seen().len(), 3);
    }
}

#[tokio::test]
async fn huge_settings_are_refused_not_a_panic() {
    let huge = Duration::from_secs_f64(1.8e19);
    let too_long = [
        RetryPolicy { deadline: Duration::from_secs_f64(1e19), ..fast() },
        RetryPolicy { max_backoff: huge, ..fast() },
        RetryPolicy { initial_backoff: Duration::MAX, ..fast() },
    ];
    for policy in too_long {
        let err = Client::builder("A", "s").base_url("http://127.0.0.1:1").retry_policy(policy).build().unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
        assert!(err.to_string().contains("retry policy"), "{err}");
        assert_eq!(
            PiClient::builder("http://127.0.0.1:1").retry_policy(policy).build().unwrap_err().code(),
            "INVALID_ARGUMENT"
        );
    }
    let err = Client::builder("A", "s").base_url("http://127.0.0.1:1").timeout(huge).build().unwrap_err();
    assert!(err.to_string().contains("timeout"), "{err}");

    let client = client("http://127.0.0.1:1");
    let options = MonitorOptions { interval: huge, ..MonitorOptions::default() };
    assert!(Monitor::start(&client, options).unwrap_err().to_string().contains("monitor interval"));
    let options = MonitorOptions { unreachable_after: Duration::MAX, ..MonitorOptions::default() };
    assert!(Monitor::start(&client, options).unwrap_err().to_string().contains("unreachable_after"));

    let session = client.resume(session_data("http://127.0.0.1:1/s", "http://127.0.0.1:1/l", Status::Pending));
    for options in [
        WaitOptions { deadline: huge, ..WaitOptions::default() },
        WaitOptions { interval: Duration::MAX, ..WaitOptions::default() },
    ] {
        assert_eq!(session.wait(&options).await.unwrap_err().code(), "INVALID_ARGUMENT");
    }
    let first = session.watch(huge).next().await.unwrap().unwrap_err();
    assert!(first.to_string().contains("watch interval"), "{first}");
    assert_eq!(deviceauth::ffi::seconds("interval", 1.8e19).unwrap_err().code(), "INVALID_ARGUMENT");
    assert_eq!(deviceauth::ffi::millis("intervalMs", 1.8e22).unwrap_err().code(), "INVALID_ARGUMENT");
}

/// A clock that panics once when armed: a defect inside a status poll.
#[derive(Debug, Default)]
struct PanicOnce(AtomicBool);

impl Clock for PanicOnce {
    fn unix_seconds(&self) -> u64 {
        if self.0.swap(false, Ordering::SeqCst) {
            panic!("clock exploded (test)");
        }
        SystemClock.unix_seconds()
    }
}

fn panicking_client(base: &str, clock: Arc<PanicOnce>) -> Client {
    Client::builder("APP", APP_SECRET).base_url(base).retry_policy(fast()).clock(clock).build().unwrap()
}

#[tokio::test]
async fn a_panic_in_one_poll_does_not_poison_the_next() {
    let server = RawServer::start(|_| json(r#"{"session_status":"active"}"#)).await;
    let clock = Arc::new(PanicOnce::default());
    let client = panicking_client(&server.origin(), clock.clone());
    let session = client.resume(session_data(&server.url("/s"), &server.url("/l"), Status::Pending));
    clock.0.store(true, Ordering::SeqCst);
    let err = session.refresh().await.unwrap_err();
    assert_eq!(err.code(), "INTERNAL", "{err}");
    assert!(err.to_string().contains("clock exploded"), "{err}");
    assert_eq!(server.seen().len(), 0);
    assert_eq!(session.refresh().await.unwrap(), Status::Active, "the next refresh sends normally");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn the_monitor_keeps_polling_a_session_after_a_panic() {
    let server = RawServer::start(|_| json(r#"{"session_status":"active"}"#)).await;
    let clock = Arc::new(PanicOnce::default());
    let client = panicking_client(&server.origin(), clock.clone());
    let options = MonitorOptions { interval: Duration::from_millis(50), ..MonitorOptions::default() };
    let (monitor, events) = Monitor::start(&client, options).unwrap();
    clock.0.store(true, Ordering::SeqCst);
    assert!(monitor.add(session_data(&server.url("/s"), &server.url("/l"), Status::Pending)));
    let event = tokio::time::timeout(Duration::from_secs(3), events.recv()).await.expect("an event").unwrap();
    assert!(
        matches!(&event, MonitorEvent::Changed { previous: Status::Pending, status: Status::Active, .. }),
        "{event:?}"
    );
    assert!(!clock.0.load(Ordering::SeqCst), "the panic happened");
    assert!(monitor.contains("tok-1"));
    monitor.close();
}

#[tokio::test]
async fn a_closed_monitor_stops_and_its_events_end_once_read() {
    let server = RawServer::start(|_| json(r#"{"session_status":"closed"}"#)).await;
    let client = client(&server.origin());
    let options = MonitorOptions { interval: Duration::from_millis(20), ..MonitorOptions::default() };
    let (monitor, events) = Monitor::start(&client, options).unwrap();
    assert!(monitor.add(session_data(&server.url("/s"), &server.url("/l"), Status::Active)));
    let batch = events.recv_batch(10, Duration::from_secs(3)).await;
    assert_eq!(batch.len(), 1, "{batch:?}");
    assert!(!events.is_finished());
    assert!(events.recv_batch(10, Duration::from_millis(50)).await.is_empty(), "time-out: empty");
    assert!(!events.is_finished(), "a time-out is not the end");
    monitor.close();
    monitor.close();
    assert!(monitor.is_closed());
    let mut data = session_data(&server.url("/s"), &server.url("/l"), Status::Active);
    data.session_token = "tok-2".into();
    assert!(!monitor.add(data), "add after close");
    assert!(events.recv_batch(10, Duration::MAX).await.is_empty());
    assert!(events.is_finished());
    assert!(events.recv().await.is_none());
    let polls = server.seen().len();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(server.seen().len(), polls, "no poll after close");
}

#[tokio::test]
async fn redirects_are_never_followed_and_name_only_the_origin() {
    let elsewhere = RawServer::start(|_| json("{}")).await;
    for status in
        ["301 Moved Permanently", "302 Found", "303 See Other", "307 Temporary Redirect", "308 Permanent Redirect"]
    {
        let location = format!("Location: {}", elsewhere.url("/steal?activationCode=x&token=y"));
        let server = RawServer::start(move |_| response(status, &[&location], "")).await;
        let code: u16 = status[..3].parse().unwrap();
        let ac = client(&server.origin());
        let api = pi(&server).with_api_token(API_TOKEN);
        let errors = [
            ac.add_user("u").await.unwrap_err(),
            ac.has_registered_mobile_device("u").await.unwrap_err(),
            ac.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err(),
            pi(&server).complete_device_activation("id", CODE, "cli/1", None).await.unwrap_err(),
            api.get("project/active").await.unwrap_err(),
            api.post_text("x", "{}").await.unwrap_err(),
        ];
        for err in errors {
            assert_eq!((err.code(), err.status()), ("HTTP", Some(code)), "{err}");
            let text = err.to_string();
            assert!(text.contains(&elsewhere.origin()) && text.contains("redirect"), "{text}");
            assert!(!text.contains("steal") && !text.contains("token=y"), "{text}");
        }
        assert_eq!(elsewhere.seen().len(), 0, "nothing reaches the redirect target");
    }
    let relative = RawServer::start(|_| response("302 Found", &["Location: /x?secret=1"], "")).await;
    let err = client(&relative.origin()).add_user("u").await.unwrap_err();
    assert!(err.to_string().contains(&relative.origin()) && !err.to_string().contains("secret"), "{err}");
    let bare = RawServer::start(|_| response("307 Temporary Redirect", &[], "")).await;
    assert!(client(&bare.origin()).add_user("u").await.unwrap_err().to_string().contains("without a Location"));
}

#[tokio::test]
async fn session_urls_outside_the_base_origin_are_refused_and_never_contacted() {
    let foreign = RawServer::start(|_| json(r#"{"session_status":"active","status":true}"#)).await;
    let (status_url, logout_url) = (foreign.url("/s"), foreign.url("/l"));
    let body = started_json(&status_url, &logout_url);
    let server = RawServer::start(move |_| json(&body)).await;
    let err = client(&server.origin()).authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "PROTOCOL", "{err}");
    assert!(err.to_string().contains(&foreign.origin()), "{err}");

    let data = session_data(&status_url, &logout_url, Status::Active);
    let ac = client(&server.origin());
    assert_eq!(ac.try_resume(data.clone()).unwrap_err().code(), "INVALID_ARGUMENT");
    let resumed = ac.resume(data.clone());
    assert_eq!(resumed.refresh().await.unwrap_err().code(), "INVALID_ARGUMENT");
    assert_eq!(resumed.logout().await.unwrap_err().code(), "INVALID_ARGUMENT");
    assert_eq!(foreign.seen().len(), 0);

    // Allowed explicitly, the same answer works.
    let allowing = Client::builder("APP", APP_SECRET)
        .base_url(server.origin())
        .allowed_origins([foreign.origin()])
        .build()
        .unwrap();
    let session = allowing.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap();
    assert_eq!(session.refresh().await.unwrap(), Status::Active);
    assert!(allowing.try_resume(data).is_ok());
    assert_eq!(foreign.seen().len(), 1);
}

/// Every secret, in every spelling checked.
fn assert_clean(text: &str) {
    assert_clean_of(text, &[APP_SECRET, SESSION_SECRET, API_TOKEN, CODE]);
}

/// `secrets`, in every spelling checked, control characters, and length.
fn assert_clean_of(text: &str, secrets: &[&str]) {
    for &secret in secrets {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let percent = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC).to_string();
        for spelling in [secret.to_owned(), encoded, percent] {
            assert!(!text.to_ascii_lowercase().contains(&spelling.to_ascii_lowercase()), "{spelling} in {text}");
        }
    }
    assert!(!text.contains(['\r', '\n', '\u{1b}']), "control characters in {text:?}");
    assert!(text.chars().count() < 450, "{} characters", text.chars().count());
}

/// The request echoed, with every secret in several spellings, control characters, and
/// a lot of padding.
fn echo(seen: &raw_server::Seen) -> String {
    let pct = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
    format!(
        "\u{1b}[31mrefused\r\n{} {} {} {} {} {} {}{}",
        seen.head,
        APP_SECRET.to_uppercase(),
        pct(SESSION_SECRET).to_lowercase(),
        SESSION_SECRET,
        APP_SECRET,
        pct(CODE),
        String::from_utf8_lossy(&seen.body),
        "x".repeat(5000)
    )
}

#[tokio::test]
async fn server_text_is_bounded_escaped_and_scrubbed_of_every_secret() {
    for as_json in [false, true] {
        let server = RawServer::start(move |seen| {
            let text = echo(seen);
            if seen.target().contains("authenticate_user") {
                let reason = serde_json::to_string(&text).unwrap();
                return json(&format!(r#"{{"authenticated":false,"reason":{reason}}}"#));
            }
            if seen.target().contains("delete_users") {
                let reason = serde_json::to_string(&text).unwrap();
                return json(&format!(r#"{{"status":false,"reason":{reason}}}"#));
            }
            let body =
                if as_json { format!(r#"{{"message":{}}}"#, serde_json::to_string(&text).unwrap()) } else { text };
            response("400 Bad Request", &[], &body)
        })
        .await;
        let ac = client(&server.origin());
        let session = ac.resume(session_data(&server.url("/s"), &server.url("/l"), Status::Active));
        // Each client scrubs what it holds: Activeconnect its application secret and the
        // session's secret, Project Insight the activation code and the API token.
        let ac_secrets = [APP_SECRET, SESSION_SECRET];
        let pi_secrets = [CODE, API_TOKEN];
        let errors = [
            (ac.add_user("u").await.unwrap_err(), &ac_secrets[..1]),
            (ac.delete_users(&["u"]).await.unwrap_err(), &ac_secrets[..1]),
            (ac.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err(), &ac_secrets[..1]),
            (session.refresh().await.unwrap_err(), &ac_secrets[..]),
            (session.logout().await.unwrap_err(), &ac_secrets[..]),
            (pi(&server).complete_device_activation("id", CODE, "cli/1", None).await.unwrap_err(), &pi_secrets[..1]),
            (pi(&server).with_api_token(API_TOKEN).get("project/active").await.unwrap_err(), &pi_secrets[1..]),
        ];
        for (err, secrets) in errors {
            let text = err.to_string();
            assert!(text.contains("refused") && text.contains("\\u{1b}") && text.contains("\\r\\n"), "{text}");
            assert_clean_of(&text, secrets);
            assert_clean_of(err.reason().unwrap_or(""), secrets);
        }
    }
}

#[tokio::test]
async fn unknown_statuses_from_the_server_are_made_safe() {
    let status = format!("weird\u{1b}[2J\r\n{SESSION_SECRET}{}", "y".repeat(1000));
    let body = serde_json::json!({ "session_status": status }).to_string();
    let server = RawServer::start(move |_| json(&body)).await;
    let session = client(&server.origin()).resume(session_data(&server.url("/s"), &server.url("/l"), Status::Active));
    let status = session.refresh().await.unwrap();
    assert!(status.is_ended());
    assert_clean(status.as_str());
}

#[test]
fn loopback_means_literal_loopback_only() {
    for ok in ["http://127.0.0.1:1", "http://127.200.3.4", "http://[::1]:1", "http://localhost:1", "http://LOCALHOST"] {
        assert!(Client::builder("A", "s").base_url(ok).build().is_ok(), "{ok}");
        assert!(PiClient::new(ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://evil.localhost",
        "http://localhost.evil.example",
        "http://127.0.0.1.nip.io",
        "http://[::2]",
        "http://0.0.0.0",
    ] {
        let err = Client::builder("A", "s").base_url(bad).build().unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{bad}");
        assert_eq!(PiClient::new(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad}");
    }
}

#[test]
fn a_base_url_without_a_scheme_is_refused_naming_it() {
    for bare in ["127.0.0.1:8799", "localhost:8799", "service.example/api"] {
        let errors = [Client::builder("A", "s").base_url(bare).build().unwrap_err(), PiClient::new(bare).unwrap_err()];
        for err in errors {
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            assert!(err.to_string().contains(bare) && err.to_string().contains("scheme"), "{err}");
        }
    }
}

#[tokio::test]
async fn expiry_years_outside_1_to_9999_are_protocol_errors() {
    for year in ["10000-01-01T00:00:00", "+12345-01-01T00:00:00", "0000-12-31T00:00:00Z", "-0001-01-01T00:00:00"] {
        let pending = format!(
            r#"{{"DeviceActivationId":"1","DeviceActivationRequestUrl":"https://h/a","ExpirationDateTimeUTC":"{year}"}}"#
        );
        let complete =
            format!(r#"{{"ApiToken":"t","DeviceId":1,"UserId":"u","ApiTokenExpirationDateTimeUTC":"{year}"}}"#);
        let server = RawServer::start(move |seen| {
            json(if seen.target().contains("create-request") { &pending } else { &complete })
        })
        .await;
        let pi = pi(&server);
        assert_eq!(
            pi.create_device_activation(&DeviceInfo::new("cli/1")).await.unwrap_err().code(),
            "PROTOCOL",
            "{year}"
        );
        assert_eq!(
            pi.complete_device_activation("1", "c", "cli/1", None).await.unwrap_err().code(),
            "PROTOCOL",
            "{year}"
        );
    }
}

#[tokio::test]
async fn transport_errors_name_the_origin_and_never_the_path() {
    let pi = PiClient::builder("http://127.0.0.1:1/api").retry_policy(RetryPolicy::never()).build().unwrap();
    let err = pi.complete_device_activation("id-7", CODE, "cli/1", None).await.unwrap_err();
    assert_eq!(err.code(), "TRANSPORT");
    let text = err.to_string();
    assert!(text.contains("could not connect to http://127.0.0.1:1"), "{text}");
    assert!(!text.contains("/api") && !text.contains("id-7") && !text.contains("c0de"), "{text}");

    // A server that accepts and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let ac = Client::builder("A", "s")
        .base_url(format!("http://127.0.0.1:{port}"))
        .timeout(Duration::from_millis(200))
        .retry_policy(RetryPolicy::never())
        .build()
        .unwrap();
    let err = ac.has_registered_mobile_device("secret-user").await.unwrap_err();
    assert_eq!(err.code(), "TIMEOUT");
    assert!(
        err.to_string().contains(&format!("http://127.0.0.1:{port}")) && !err.to_string().contains("secret-user"),
        "{err}"
    );
}

#[tokio::test]
async fn malformed_answers_are_protocol_errors() {
    let cases: Vec<Vec<u8>> = vec![
        json("not json"),
        json(r#"{"authenticated":true}"#),
        response("200 OK", &["Content-Length: 99999999999"], ""),
        json(&format!(
            r#"{{"authenticated":true,"session_status":"pending","status_url":5,"logout_url":"x","session_token":"t","session_secret":"{SESSION_SECRET}"}}"#
        )),
    ];
    for case in cases {
        let server = RawServer::start(move |_| case.clone()).await;
        let err = client(&server.origin()).authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err();
        assert!(matches!(err, Error::Protocol(_) | Error::Transport(_)), "{err}");
        assert_clean(&err.to_string());
    }
}

#[tokio::test]
async fn oversized_answers_are_refused_as_protocol_errors() {
    let declared = RawServer::start(|_| b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\n{}".to_vec()).await;
    let big = "x".repeat(deviceauth::MAX_RESPONSE_BYTES + 10);
    let chunked = RawServer::start(move |_| {
        format!("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{big}\r\n0\r\n\r\n", big.len())
            .into_bytes()
    })
    .await;
    for server in [declared, chunked] {
        let err = client(&server.origin()).add_user("u").await.unwrap_err();
        assert_eq!(err.code(), "PROTOCOL", "{err}");
        assert!(err.to_string().contains("larger than"), "{err}");
        assert_eq!(server.seen().len(), 1, "not asked again");
    }
}
