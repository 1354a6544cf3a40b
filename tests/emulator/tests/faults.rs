//! Fault injection and the request log.

mod common;

use std::time::{Duration, Instant};

use common::*;
use reqwest::Method;
use serde_json::json;

async fn add_fault(h: &Harness, spec: serde_json::Value) -> String {
    let (status, body) = h.control(Method::POST, "/_emulator/faults", Some(spec.clone())).await;
    assert_eq!(status, 201, "{spec}: {body}");
    body["id"].as_str().expect("id").to_owned()
}

fn has_device(h: &Harness) -> String {
    format!("/management/has_registered_mobile_device/{}/u1", h.app)
}

#[tokio::test]
async fn status_fault_with_retry_after_then_normal_service() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    add_fault(&h, json!({ "path": "/management/has_registered_mobile_device", "status": 503, "retry_after": "1", "body": "busy" })).await;
    let r = h.signed(Method::GET, &has_device(&h), None).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers().get("retry-after").and_then(|v| v.to_str().ok()), Some("1"));
    assert!(r.headers().get("date").is_some());
    assert_eq!(r.text().await.expect("text"), "busy");
    let r = h.signed(Method::GET, &has_device(&h), None).await;
    assert_eq!(r.status(), 200, "count 1: gone after one use");
}

#[tokio::test]
async fn count_method_and_listing() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    let id = add_fault(&h, json!({ "path": "/management/", "method": "GET", "count": 2, "status": 500 })).await;
    let (_, list) = h.control(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(list[0]["id"], id.as_str());
    assert_eq!(list[0]["remaining"], 2);
    // POST does not match a GET fault.
    let r = h.signed(Method::POST, &format!("/management/add_users/{}", h.app), Some(json!({ "users": ["u2"] }))).await;
    assert_eq!(r.status(), 201);
    assert_eq!(h.signed(Method::GET, &has_device(&h), None).await.status(), 500);
    let (_, list) = h.control(Method::GET, "/_emulator/faults", None).await;
    assert_eq!(list[0]["remaining"], 1);
    // Control paths are never affected.
    assert_eq!(h.control(Method::GET, "/_emulator/faults", None).await.0, 200);
    assert_eq!(h.signed(Method::GET, &has_device(&h), None).await.status(), 500);
    assert_eq!(h.signed(Method::GET, &has_device(&h), None).await.status(), 200);
    assert_eq!(h.control(Method::GET, "/_emulator/faults", None).await.1, json!([]));

    add_fault(&h, json!({ "path": "/", "status": 500, "count": 100 })).await;
    assert_eq!(h.control(Method::DELETE, "/_emulator/faults", None).await.0, 200);
    assert_eq!(h.signed(Method::GET, &has_device(&h), None).await.status(), 200, "cleared");
}

#[tokio::test]
async fn invalid_fault_specs_are_refused() {
    let h = start().await;
    for spec in [
        json!({ "path": "/x" }),
        json!({ "status": 500 }),
        json!({ "path": "/_emulator/apps", "status": 500 }),
        json!({ "path": "/x", "drop": true, "status": 500 }),
    ] {
        let (status, body) = h.control(Method::POST, "/_emulator/faults", Some(spec.clone())).await;
        assert_eq!(status, 400, "{spec}");
        assert!(body["error"].is_string());
    }
}

#[tokio::test]
async fn delay_then_normal_service() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    add_fault(&h, json!({ "path": "/management/has_registered_mobile_device", "delay_ms": 600 })).await;
    let t = Instant::now();
    let r = h.signed(Method::GET, &has_device(&h), None).await;
    assert!(t.elapsed() >= Duration::from_millis(600), "{:?}", t.elapsed());
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.expect("json")["device_registered"], false);
    // Delay combined with a status: delayed first.
    add_fault(&h, json!({ "path": "/management/", "delay_ms": 300, "status": 502 })).await;
    let t = Instant::now();
    assert_eq!(h.signed(Method::GET, &has_device(&h), None).await.status(), 502);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[tokio::test]
async fn dropped_connection_is_a_transport_error_and_logged_as_0() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    add_fault(&h, json!({ "path": "/management/has_registered_mobile_device", "drop": true })).await;
    let url = format!("{}{}", h.base, has_device(&h));
    let ts = now();
    let result = h
        .http
        .get(&url)
        .header("Authentication", sign(&h.app, &h.secret, rand::random(), &url, ts))
        .header(SONIKPASS_TS, ts.to_string())
        .send()
        .await;
    let err = result.expect_err("no response at all");
    assert!(err.is_request() && err.status().is_none(), "{err:?}");
    assert!(format!("{err:?}").contains("IncompleteMessage"), "the connection closed mid-exchange: {err:?}");
    let (_, log) = h.control(Method::GET, "/_emulator/requests?path=/management/has_registered", None).await;
    assert_eq!(
        log,
        json!([{ "method": "GET", "path": "/management/has_registered_mobile_device/APP/u1", "status": 0 }])
    );
    // The next request is served.
    assert_eq!(h.signed(Method::GET, &has_device(&h), None).await.status(), 200);
}

#[tokio::test]
async fn malformed_body() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    add_fault(&h, json!({ "path": "/management/has_registered_mobile_device", "malformed": true })).await;
    let r = h.signed(Method::GET, &has_device(&h), None).await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.expect("text");
    assert!(serde_json::from_str::<serde_json::Value>(&text).is_err(), "{text}");
}

#[tokio::test]
async fn request_log_counts_retries_and_clears() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    add_fault(&h, json!({ "path": "/management/has_registered_mobile_device", "status": 503, "count": 2 })).await;
    for _ in 0..3 {
        h.signed(Method::GET, &format!("{}?x=secret-query", has_device(&h)), None).await;
    }
    h.control(Method::GET, "/_emulator/apps", None).await;
    let (_, log) =
        h.control(Method::GET, "/_emulator/requests?path=/management/has_registered_mobile_device", None).await;
    let statuses: Vec<u64> =
        log.as_array().expect("array").iter().map(|e| e["status"].as_u64().expect("status")).collect();
    assert_eq!(statuses, [503, 503, 200]);
    assert!(!log.to_string().contains("secret-query"), "paths are logged without the query");
    let (_, all) = h.control(Method::GET, "/_emulator/requests", None).await;
    assert_eq!(all.as_array().expect("array").len(), 4, "add_users + 3; control requests are not logged");
    assert_eq!(h.control(Method::DELETE, "/_emulator/requests", None).await.0, 200);
    assert_eq!(h.control(Method::GET, "/_emulator/requests", None).await.1, json!([]));
}
