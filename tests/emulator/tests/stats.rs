//! `GET /_emulator/stats`: a request counter that load tests read.

mod common;

use common::*;
use reqwest::Method;

#[tokio::test]
async fn stats_count_requests_outside_the_control_api() {
    let h = start().await;
    let (status, before) = h.control(Method::GET, "/_emulator/stats", None).await;
    assert_eq!(status, 200);
    assert_eq!(before["requests_total"], 0, "{before}");
    assert_eq!(before["sessions"], 0, "{before}");
    assert!(before["uptime_seconds"].as_f64().is_some_and(|s| s >= 0.0), "{before}");

    // 2 signed management requests, plus control requests that do not count.
    h.ready_user("u1").await; // add_users (counted) + control register_device (not)
    h.session("u1").await; // authenticate_user (counted)
    let unsigned = h
        .http
        .get(format!("{}/management/has_registered_mobile_device/{}/u1", h.base, h.app))
        .send()
        .await
        .expect("sent");
    assert_eq!(unsigned.status(), 401); // answered 401, still counted
    h.control(Method::GET, "/_emulator/requests", None).await;
    h.control(Method::DELETE, "/_emulator/requests", None).await; // does not reset the counter

    let (_, after) = h.control(Method::GET, "/_emulator/stats", None).await;
    assert_eq!(after["requests_total"], 3, "{after}");
    assert_eq!(after["sessions"], 1, "{after}");
    assert!(after["uptime_seconds"].as_f64() >= before["uptime_seconds"].as_f64(), "{after}");
    assert!(after["connections"].as_u64().is_some_and(|n| n >= 1), "this request's connection counts: {after}");
}
