//! Request signing: accepted forms and every rejection.

mod common;

use common::*;
use reqwest::Method;

const TS_HEADERS: [&str; 4] = [
    "X-Sonikpass-Authentication-Timestamp",
    "X-IAMPASS-Authentication-Timestamp",
    "X-Activeconnect-Authentiaction-Timestamp",
    "X-Activeconnect-Authentication-Timestamp",
];

fn has_device_url(h: &Harness, user: &str) -> String {
    format!("{}/management/has_registered_mobile_device/{}/{}", h.base, h.app, seg(user))
}

/// Sends a GET with explicit auth parts; returns status and body text.
async fn raw_get(h: &Harness, url: &str, auth: Option<String>, ts_header: Option<(&str, String)>) -> (u16, String) {
    let mut req = h.http.get(url);
    if let Some(auth) = auth {
        req = req.header("Authentication", auth);
    }
    if let Some((name, value)) = ts_header {
        req = req.header(name, value);
    }
    let r = req.send().await.expect("sent");
    (r.status().as_u16(), r.text().await.expect("text"))
}

#[tokio::test]
async fn accepted_under_each_timestamp_header_family() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    let url = has_device_url(&h, "u1");
    for name in TS_HEADERS {
        let ts = now();
        let auth = sign(&h.app, &h.secret, rand::random(), &url, ts);
        let (status, body) = raw_get(&h, &url, Some(auth), Some((name, ts.to_string()))).await;
        assert_eq!(status, 200, "{name}: {body}");
        let body: serde_json::Value = serde_json::from_str(&body).expect("json");
        assert_eq!(body, serde_json::json!({ "status": true, "device_registered": false }));
    }
    // The IAMPASS client's misspelt version header is tolerated.
    let ts = now();
    let r = h
        .http
        .get(&url)
        .header("Authentication", sign(&h.app, &h.secret, rand::random(), &url, ts))
        .header("X-IAMPASS-Authentication-Timestamp", ts.to_string())
        .header("X-IAMOASS-Authentication-Version", "1")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn rejections_are_401_with_a_clear_text() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    let url = has_device_url(&h, "u1");
    let ts = now();
    let ts_header = || Some((TS_HEADERS[0], ts.to_string()));

    let (status, body) = raw_get(&h, &url, None, ts_header()).await;
    assert_eq!((status, body.as_str()), (401, "Missing Authentication header"));

    for malformed in ["Bearer abc", "hmac APP", "hmac APP:notanumber:sig", "hmac APP:1:"] {
        let (status, body) = raw_get(&h, &url, Some(malformed.into()), ts_header()).await;
        assert_eq!(status, 401, "{malformed}");
        assert!(body.starts_with("Malformed Authentication header"), "{body}");
    }

    let good = sign(&h.app, &h.secret, 42, &url, ts);
    let (status, body) = raw_get(&h, &url, Some(good.clone()), None).await;
    assert_eq!(status, 401);
    assert!(body.contains("timestamp"), "{body}");

    let wrong_secret = sign(&h.app, "not-the-secret", 43, &url, ts);
    let (status, body) = raw_get(&h, &url, Some(wrong_secret), ts_header()).await;
    assert_eq!((status, body.as_str()), (401, "Invalid signature"));

    // Signed for one timestamp, sent with another.
    let (status, body) =
        raw_get(&h, &url, Some(sign(&h.app, &h.secret, 44, &url, ts)), Some((TS_HEADERS[0], (ts + 1).to_string())))
            .await;
    assert_eq!((status, body.as_str()), (401, "Invalid signature"));

    // Signed over another host than the one in the Host header.
    let other_host = url.replace("127.0.0.1", "localhost");
    let (status, body) = raw_get(&h, &url, Some(sign(&h.app, &h.secret, 45, &other_host, ts)), ts_header()).await;
    assert_eq!((status, body.as_str()), (401, "Invalid signature"));

    // Signed with the scheme kept (the docs' wording, not what the service verifies).
    let with_scheme = sign(&h.app, &h.secret, 46, &format!("x://{url}"), ts);
    let (status, _) = raw_get(&h, &url, Some(with_scheme), ts_header()).await;
    assert_eq!(status, 401);

    // Replay: the first use passes, the second is refused.
    let (status, _) = raw_get(&h, &url, Some(good.clone()), ts_header()).await;
    assert_eq!(status, 200);
    let (status, body) = raw_get(&h, &url, Some(good), ts_header()).await;
    assert_eq!((status, body.as_str()), (401, "Nonce has already been used"));

    // Skew beyond 300 s either way; within it is fine.
    for skew in [-301, 301, -100_000] {
        let t = ts + skew;
        let (status, body) = raw_get(
            &h,
            &url,
            Some(sign(&h.app, &h.secret, rand::random(), &url, t)),
            Some((TS_HEADERS[0], t.to_string())),
        )
        .await;
        assert_eq!(
            (status, body.as_str()),
            (401, "Timestamp outside the allowed window of 300 seconds"),
            "skew {skew}"
        );
    }
    for extreme in [i64::MIN, i64::MAX] {
        let (status, _) = raw_get(
            &h,
            &url,
            Some(sign(&h.app, &h.secret, rand::random(), &url, extreme)),
            Some((TS_HEADERS[0], extreme.to_string())),
        )
        .await;
        assert_eq!(status, 401, "{extreme}");
    }
    let t = ts - 250;
    let (status, _) =
        raw_get(&h, &url, Some(sign(&h.app, &h.secret, rand::random(), &url, t)), Some((TS_HEADERS[0], t.to_string())))
            .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_client_id_must_match_the_url() {
    let h = start_with(EmulatorConfig {
        apps: vec![("APP".into(), "s3cret".into()), ("OTHER".into(), "other-secret".into())],
        ..Default::default()
    })
    .await;
    h.ready_user("u1").await;
    let url = has_device_url(&h, "u1");
    // Correctly signed by another application, sent to APP's URL.
    let r = h.signed_as(Method::GET, &url, None, "OTHER", "other-secret").await;
    assert_eq!(r.status(), 401);
    let body = r.text().await.expect("text");
    assert!(body.contains("does not match the application"), "{body}");

    // A session's status signed with the application pair.
    let s = h.session("u1").await;
    let r = h.signed_as(Method::GET, &s.status_url, None, &h.app, &h.secret).await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.expect("text").contains("does not match the session"));
    // With the session pair it works.
    assert_eq!(h.status(&s).await, "pending");
}

#[tokio::test]
async fn nonces_are_per_client_id() {
    let h = start_with(EmulatorConfig {
        apps: vec![("APP".into(), "s3cret".into()), ("OTHER".into(), "other".into())],
        ..Default::default()
    })
    .await;
    let ts = now();
    for (app, secret) in [("APP", "s3cret"), ("OTHER", "other")] {
        let url = format!("{}/management/add_users/{app}", h.base);
        let r = h
            .http
            .post(&url)
            .header("Authentication", sign(app, secret, 7, &url, ts))
            .header(SONIKPASS_TS, ts.to_string())
            .json(&serde_json::json!({ "users": ["x"] }))
            .send()
            .await
            .expect("sent");
        assert_eq!(r.status(), 201, "same nonce, other client id: {app}");
    }
}

#[tokio::test]
async fn clock_offset_moves_the_window_and_the_date_header() {
    let h = start_with(EmulatorConfig { clock_offset: 3600, ..Default::default() }).await;
    let r = h.http.get(format!("{}/", h.base)).send().await.expect("sent");
    let date = r.headers().get("date").expect("Date header").to_str().expect("ascii").to_owned();
    let server = chrono::DateTime::parse_from_rfc2822(&date).expect("http date").timestamp();
    assert!((server - now() - 3600).abs() <= 2, "Date {date} is one hour ahead");

    let url = has_device_url(&h, "u1");
    let ts = now();
    let (status, body) =
        raw_get(&h, &url, Some(sign(&h.app, &h.secret, 1, &url, ts)), Some((SONIKPASS_TS, ts.to_string()))).await;
    assert_eq!((status, body.as_str()), (401, "Timestamp outside the allowed window of 300 seconds"));
    // Signed with the server's clock it passes (and reaches the user lookup).
    let (status, body) =
        raw_get(&h, &url, Some(sign(&h.app, &h.secret, 2, &url, server)), Some((SONIKPASS_TS, server.to_string())))
            .await;
    assert_eq!((status, body.as_str()), (404, "User u1 not found"));
}

#[tokio::test]
async fn every_response_carries_a_date_header() {
    let h = start().await;
    for path in ["/", "/management/add_users/APP", "/nope", "/_emulator/faults"] {
        let r = h.http.get(format!("{}{path}", h.base)).send().await.expect("sent");
        let date = r.headers().get("date").expect("Date header").to_str().expect("ascii");
        let t = chrono::DateTime::parse_from_rfc2822(date).expect("http date").timestamp();
        assert!((t - now()).abs() <= 2, "{path}: {date}");
    }
}
