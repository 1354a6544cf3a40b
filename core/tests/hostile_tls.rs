//! HTTPS against a real TLS server (a CA made by the test): an unknown certificate is
//! refused, an extra CA is trusted on request, and https never drops to http (issue 10).

mod raw_server;

use std::time::Duration;

use deviceauth::RetryPolicy;
use deviceauth::activeconnect::{AuthenticateOptions, Client};
use deviceauth::projectinsight::Client as PiClient;
use raw_server::{RawServer, json, response};

fn builder(base: &str) -> deviceauth::activeconnect::ClientBuilder {
    Client::builder("APP", "app-secret")
        .base_url(base)
        .retry_policy(RetryPolicy::never())
        .timeout(Duration::from_secs(3))
}

#[tokio::test]
async fn an_unknown_certificate_is_refused_and_a_trusted_ca_works() {
    let (server, ca) = RawServer::start_tls(|_| json(r#"{"status":true,"device_registered":true}"#)).await;
    let err = builder(&server.origin()).build().unwrap().has_registered_mobile_device("u").await.unwrap_err();
    assert_eq!(err.code(), "TRANSPORT", "{err}");
    let text = err.to_string();
    assert!(text.contains(&format!("TLS certificate refused by {}", server.origin())), "{text}");
    assert!(!text.contains("has_registered"), "{text}");
    assert_eq!(server.seen().len(), 0, "no request crosses a refused handshake");

    assert!(
        builder(&server.origin()).ca_pem(ca.clone()).build().unwrap().has_registered_mobile_device("u").await.unwrap()
    );
    let file = std::env::temp_dir().join(format!("deviceauth-test-ca-{}.pem", std::process::id()));
    std::fs::write(&file, &ca).unwrap();
    let pi = PiClient::builder(server.url("/api")).ca_file(&file).build().unwrap();
    let api = pi.with_api_token("tok");
    assert!(api.get_text("x").await.unwrap().contains("device_registered"));
    let _ = std::fs::remove_file(&file);
}

#[test]
fn unusable_certificate_files_are_invalid_arguments() {
    let missing = builder("https://127.0.0.1:1").ca_file("/nonexistent/ca.pem").build().unwrap_err();
    assert_eq!(missing.code(), "INVALID_ARGUMENT");
    assert!(missing.to_string().contains("/nonexistent/ca.pem"), "{missing}");
    let garbage = PiClient::builder("https://127.0.0.1:1").ca_pem("not a certificate").build().unwrap_err();
    assert_eq!(garbage.code(), "INVALID_ARGUMENT", "{garbage}");
}

#[tokio::test]
async fn a_redirect_from_https_to_http_is_not_followed() {
    let plain = RawServer::start(|_| json("{}")).await;
    let location = format!("Location: {}", plain.url("/collect"));
    let (server, ca) = RawServer::start_tls(move |_| response("307 Temporary Redirect", &[&location], "")).await;
    let client = builder(&server.origin()).ca_pem(ca.clone()).build().unwrap();
    let err = client.add_user("u").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("HTTP", Some(307)), "{err}");
    assert!(err.to_string().contains(&plain.origin()), "{err}");
    let api = PiClient::builder(server.url("/api")).ca_pem(ca).build().unwrap().with_api_token("tok");
    assert_eq!(api.get("x").await.unwrap_err().status(), Some(307));
    assert_eq!(plain.seen().len(), 0, "nothing is sent over plain http");
}

#[tokio::test]
async fn https_session_urls_never_drop_to_http() {
    let plain = RawServer::start(|_| json(r#"{"session_status":"active"}"#)).await;
    let body = format!(
        r#"{{"authenticated":true,"session_status":"pending","status_url":"{}","logout_url":"/l","session_token":"t","session_secret":"s3"}}"#,
        plain.url("/s")
    );
    let (server, ca) = RawServer::start_tls(move |_| json(&body)).await;
    let client = builder(&server.origin()).ca_pem(ca.clone()).build().unwrap();
    let err = client.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "PROTOCOL", "{err}");
    // Same host and port over plain http is another origin too.
    let downgrade = format!("http://127.0.0.1:{}", server.port);
    let err = builder(&server.origin()).ca_pem(ca).allowed_origins([downgrade]).build().unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT");
    assert!(err.to_string().contains("plain http"), "{err}");
    assert_eq!(plain.seen().len(), 0);
}
