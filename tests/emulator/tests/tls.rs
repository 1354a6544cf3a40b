//! HTTPS: `tls: true` / `--tls --ca-file PATH` serve with a certificate from a CA made at
//! start; clients that trust that CA get through (HTTP/2 and HTTP/1.1), others are refused.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use tokio::io::AsyncReadExt;

fn trusting(ca_pem: &str) -> reqwest::ClientBuilder {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes()).expect("CA PEM parses");
    reqwest::Client::builder().tls_certs_only([ca]).redirect(reqwest::redirect::Policy::none()).no_proxy()
}

async fn tls_harness(config: EmulatorConfig) -> Harness {
    let mut config = EmulatorConfig { tls: true, ..config };
    config.apps = vec![("APP".into(), "s3cret".into())];
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let http = trusting(emulator.ca_pem().expect("a CA with tls")).build().expect("client");
    Harness { base: emulator.base_url(), emulator, http, app: "APP".into(), secret: "s3cret".into() }
}

#[tokio::test]
async fn a_client_trusting_the_ca_signs_in_over_https() {
    let h = tls_harness(EmulatorConfig::default()).await;
    assert!(h.base.starts_with("https://127.0.0.1:"), "{}", h.base);
    let pem = h.emulator.ca_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n") && pem.ends_with("-----END CERTIFICATE-----\n"));

    let r = h.http.get(format!("{}/_emulator/apps", h.base)).send().await.expect("https request");
    assert_eq!(r.status(), 200);
    assert_eq!(r.version(), reqwest::Version::HTTP_2, "ALPN picks HTTP/2");

    // The signed flow, with the https status and logout URLs it hands out.
    h.ready_user("u").await;
    let s = h.session("u").await;
    assert!(s.status_url.starts_with("https://127.0.0.1:"), "{}", s.status_url);
    assert_eq!(h.status(&s).await, "pending");
    assert_eq!(h.act(&s.token, "approve").await.0, 200);
    assert_eq!(h.status(&s).await, "active");

    // HTTP/1.1 and the names localhost and ::1 are covered by the certificate too.
    let h1 = trusting(pem).http1_only().build().expect("client");
    let port = h.emulator.addr().port();
    let r = h1.get(format!("https://localhost:{port}/_emulator/apps")).send().await.expect("localhost");
    assert_eq!((r.status().as_u16(), r.version()), (200, reqwest::Version::HTTP_11));
    let v6 =
        Emulator::start(EmulatorConfig { tls: true, listen: "[::1]:0".parse().expect("addr"), ..Default::default() })
            .await;
    if let Ok(v6) = v6 {
        let c = trusting(v6.ca_pem().expect("pem")).build().expect("client");
        let r = c.get(format!("{}/_emulator/apps", v6.base_url())).send().await.expect("::1");
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn clients_that_do_not_trust_the_ca_or_speak_plain_http_are_refused() {
    let h = tls_harness(EmulatorConfig::default()).await;
    let other_ca = Emulator::start(EmulatorConfig { tls: true, ..Default::default() }).await.expect("second");
    let wrong = trusting(other_ca.ca_pem().expect("pem")).build().expect("client");
    let err = wrong.get(format!("{}/_emulator/apps", h.base)).send().await.expect_err("unknown issuer");
    let mut chain = format!("{err}");
    let mut source = std::error::Error::source(&err);
    while let Some(e) = source {
        chain.push_str(&format!(": {e}"));
        source = e.source();
    }
    assert!(chain.contains("UnknownIssuer") || chain.contains("certificate"), "{chain}");

    let plain = http_client();
    let port = h.emulator.addr().port();
    let r = plain.get(format!("http://127.0.0.1:{port}/_emulator/apps")).send().await;
    assert!(r.is_err() || r.is_ok_and(|r| r.status() != 200), "plain http is not served on the TLS port");
}

#[tokio::test]
async fn a_stalled_tls_handshake_is_closed_after_the_header_timeout() {
    let header = Duration::from_millis(300);
    let h = tls_harness(EmulatorConfig {
        header_timeout: header,
        idle_timeout: Duration::from_secs(5),
        ..Default::default()
    })
    .await;
    let mut stream = tokio::net::TcpStream::connect(h.emulator.addr()).await.expect("connect");
    let t0 = Instant::now();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await.expect("closed in time");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");
    let elapsed = t0.elapsed();
    assert!(
        elapsed >= header - Duration::from_millis(50) && elapsed < header + Duration::from_millis(1500),
        "{elapsed:?}"
    );
}

#[test]
fn the_binary_writes_the_ca_file_before_printing_an_https_url() {
    let dir = std::env::temp_dir().join(format!("emu-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let ca_file = dir.join("ca.pem");
    let _ = std::fs::remove_file(&ca_file);
    let mut child = Command::new(env!("CARGO_BIN_EXE_deviceauth-emulator"))
        .args(["--listen", "127.0.0.1:0", "--quiet", "--tls", "--ca-file"])
        .arg(&ca_file)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    let base = first.strip_prefix("deviceauth-emulator listening on ").expect("first line").to_owned();
    assert!(base.starts_with("https://127.0.0.1:"), "{base}");
    let pem = std::fs::read_to_string(&ca_file).expect("CA file written before the first line");
    let rest: Vec<String> = lines.by_ref().take(4).map(|l| l.expect("utf-8")).collect();
    assert!(rest[0].starts_with("application_id="), "{rest:?}");
    assert_eq!(rest[1], format!("project insight base url: {base}/api"));
    assert!(rest[2].contains(&*ca_file.to_string_lossy()), "a hint names the CA file: {rest:?}");

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = trusting(&pem).build().expect("client");
        let r = client.get(format!("{base}/_emulator/apps")).send().await.expect("https request");
        assert_eq!(r.status(), 200);
    });
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    assert!(child.wait().expect("exits").success(), "clean exit on SIGTERM");
    let _ = std::fs::remove_dir_all(&dir);

    let out = Command::new(env!("CARGO_BIN_EXE_deviceauth-emulator"))
        .args(["--ca-file", "/tmp/x.pem"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "--ca-file needs --tls");
}

#[tokio::test]
async fn the_control_api_answers_the_same_over_https() {
    let h = tls_harness(EmulatorConfig::default()).await;
    let (status, body) = h.control(Method::GET, "/_emulator/stats", None).await;
    assert_eq!(status, 200);
    assert!(body["uptime_seconds"].is_number());
}

#[tokio::test]
async fn a_redirect_fault_sends_an_https_client_to_plain_http() {
    let h = tls_harness(EmulatorConfig::default()).await;
    h.add_users(&["u1"]).await;
    let target = "http://127.0.0.1:9/management/has_registered_mobile_device/APP/u1";
    let spec = serde_json::json!({
        "path": "/management/has_registered_mobile_device", "status": 307,
        "headers": { "Location": target, "X-Extra": "1" }, "body": ""
    });
    let (status, body) = h.control(Method::POST, "/_emulator/faults", Some(spec)).await;
    assert_eq!(status, 201, "{body}");
    let (_, list) = h.control(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(list[0]["headers"]["Location"], target);
    let r = h.signed(Method::GET, "/management/has_registered_mobile_device/APP/u1", None).await;
    assert_eq!(r.status(), 307);
    assert_eq!(r.headers().get("location").and_then(|v| v.to_str().ok()), Some(target));
    assert_eq!(r.headers().get("x-extra").and_then(|v| v.to_str().ok()), Some("1"));
    let bad = serde_json::json!({ "path": "/management/", "status": 302, "headers": { "Location": "a\nb" } });
    assert_eq!(h.control(Method::POST, "/_emulator/faults", Some(bad)).await.0, 400);
}

#[tokio::test]
async fn an_idle_http2_connection_gets_goaway_and_the_client_reconnects() {
    let idle = Duration::from_millis(500);
    let h = tls_harness(EmulatorConfig { idle_timeout: idle, ..Default::default() }).await;
    let url = format!("{}/_emulator/stats", h.base);
    let first: serde_json::Value = h.http.get(&url).send().await.expect("first").json().await.expect("json");
    assert_eq!(first["connections"], 1);
    tokio::time::sleep(idle + Duration::from_millis(600)).await;
    let r = h.http.get(&url).send().await.expect("a new connection after the idle close");
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    let second: serde_json::Value = r.json().await.expect("json");
    assert_eq!(second["connections"], 1, "the idle one was closed");
}
