//! The Authentication API: starting, polling, logging out, control actions and timing.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn no_mobile_device_is_refused_with_200() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    let (status, body) = h.authenticate("u1", "").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({ "authentication_status": { "authenticated": false, "session_status": "failed", "reason": "NO_MOBILE_DEVICE" } })
    );
}

#[tokio::test]
async fn started_session_shape() {
    let h = start().await;
    h.ready_user("u1").await;
    let (status, body) = h.authenticate("u1", "?methods=acceptance,device,facial&duration_seconds=60").await;
    assert_eq!(status, 202);
    let a = &body["authentication_status"];
    assert_eq!(a["authenticated"], true);
    assert_eq!(a["session_status"], "pending");
    let token = a["session_token"].as_str().expect("token");
    let secret = a["session_secret"].as_str().expect("secret");
    assert!(token.len() == 32 && token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    assert!(secret.len() == 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()), "{secret}");
    assert_eq!(a["status_url"], format!("{}/authentication/session_status/{token}", h.base));
    assert_eq!(a["logout_url"], format!("{}/authentication/logout/{token}", h.base));
    assert_eq!(a.as_object().expect("object").len(), 6);
}

#[tokio::test]
async fn body_may_be_empty_or_an_empty_object_but_options_are_checked() {
    let h = start().await;
    h.ready_user("u1").await;
    let url = format!("{}/authentication/authenticate_user/{}/u1", h.base, h.app);
    let ts = now();
    let r = h
        .http
        .post(&url)
        .header("Authentication", sign(&h.app, &h.secret, 1, &url, ts))
        .header(SONIKPASS_TS, ts.to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 202, "empty body");
    assert_eq!(h.authenticate("u1", "").await.0, 202, "{{}} body");
    for bad in [
        "?methods=voice",
        "?methods=acceptance,retina",
        "?duration_seconds=0",
        "?duration_seconds=-1",
        "?duration_seconds=soon",
    ] {
        let path = format!("/authentication/authenticate_user/{}/u1{bad}", h.app);
        let r = h.signed(Method::POST, &path, Some(json!({}))).await;
        assert_eq!(r.status(), 400, "{bad}");
        assert!(!r.text().await.expect("text").is_empty());
    }
}

#[tokio::test]
async fn nested_status_shape_by_default_and_flat_on_request() {
    let h = start().await;
    h.ready_user("u1").await;
    let s = h.session("u1").await;
    assert_eq!(
        h.status_json(&s).await,
        json!({ "authentication_status": { "authenticated": false, "session_status": "pending" } })
    );
    h.act(&s.token, "approve").await;
    assert_eq!(
        h.status_json(&s).await,
        json!({ "authentication_status": { "authenticated": true, "session_status": "active" } })
    );

    let f = start_with(EmulatorConfig { status_shape: StatusShape::Flat, ..Default::default() }).await;
    f.ready_user("u1").await;
    let s = f.session("u1").await;
    assert_eq!(f.status_json(&s).await, json!({ "authenticated": false, "session_status": "pending" }));
    f.act(&s.token, "approve").await;
    f.act(&s.token, "walkaway").await;
    assert_eq!(f.status_json(&s).await, json!({ "authenticated": true, "session_status": "walkaway" }));
}

#[tokio::test]
async fn logout() {
    let h = start().await;
    h.ready_user("u1").await;
    let s = h.session("u1").await;
    h.act(&s.token, "approve").await;
    // Signed with the application pair: refused.
    let r = h.signed_as(Method::POST, &s.logout_url, None, &h.app, &h.secret).await;
    assert_eq!(r.status(), 401);
    let r = h.signed_as(Method::POST, &s.logout_url, None, &s.token, &s.secret).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.expect("json"), json!({ "status": true }));
    assert_eq!(h.status(&s).await, "closed");
    let r = h.signed_as(Method::POST, &s.logout_url, None, &s.token, &s.secret).await;
    assert_eq!(r.json::<serde_json::Value>().await.expect("json"), json!({ "status": false }));
}

#[tokio::test]
async fn every_control_action_and_refused_transitions() {
    let h = start().await;
    h.ready_user("u1").await;
    let cases: [(&[&str], &str); 7] = [
        (&["approve"], "active"),
        (&["deny"], "failed"),
        (&["cancel"], "cancelled"),
        (&["approve", "walkaway"], "walkaway"),
        (&["approve", "walkaway", "return"], "active"),
        (&["approve", "walkaway", "remote-logout"], "closed"),
        (&["expire"], "timeout"),
    ];
    for (actions, expected) in cases {
        let s = h.session("u1").await;
        for action in actions {
            let (status, body) = h.act(&s.token, action).await;
            assert_eq!(status, 200, "{action}: {body}");
            assert_eq!(body["session_token"], s.token.as_str());
        }
        assert_eq!(h.status(&s).await, expected, "{actions:?}");
    }
    let s = h.session("u1").await;
    h.act(&s.token, "approve").await;
    assert_eq!(h.act(&s.token, "expire").await, (200, json!({ "session_token": s.token, "status": "closed" })));

    let s = h.session("u1").await;
    for refused in ["walkaway", "return", "remote-logout"] {
        let (status, body) = h.act(&s.token, refused).await;
        assert_eq!(status, 409, "{refused} from pending");
        assert!(body["error"].as_str().is_some_and(|e| e.contains("pending")), "{body}");
    }
    h.act(&s.token, "deny").await;
    assert_eq!(h.act(&s.token, "approve").await.0, 409, "ended sessions stay ended");
    assert_eq!(h.status(&s).await, "failed");

    assert_eq!(h.act("0000", "approve").await.0, 404);
    let (status, body) = h.act(&s.token, "explode").await;
    assert_eq!(status, 400);
    assert!(body["error"].is_string());
}

#[tokio::test]
async fn sessions_are_listed_with_their_current_status() {
    let h = start().await;
    h.ready_user("u1").await;
    h.ready_user("u2").await;
    let s1 = h.session("u1").await;
    let s2 = h.session("u2").await;
    h.act(&s2.token, "approve").await;
    let (status, list) = h.control(Method::GET, &format!("/_emulator/apps/{}/sessions", h.app), None).await;
    assert_eq!(status, 200);
    assert_eq!(
        list,
        json!([
            { "session_token": s1.token, "user": "u1", "status": "pending" },
            { "session_token": s2.token, "user": "u2", "status": "active" },
        ])
    );
    assert_eq!(h.control(Method::GET, "/_emulator/apps/NOPE/sessions", None).await.0, 404);
}

#[tokio::test]
async fn approve_after_passes_through_identifying() {
    let h = start_with(EmulatorConfig {
        approval: Approval::ApproveAfter(Duration::from_millis(2000)),
        ..Default::default()
    })
    .await;
    h.ready_user("u1").await;
    let started = tokio::time::Instant::now();
    let s = h.session("u1").await;
    assert_eq!(h.status(&s).await, "pending");
    tokio::time::sleep_until(started + Duration::from_millis(1300)).await;
    assert_eq!(h.status(&s).await, "identifying");
    tokio::time::sleep_until(started + Duration::from_millis(2300)).await;
    assert_eq!(h.status(&s).await, "active");
}

#[tokio::test]
async fn pending_sessions_time_out_and_active_ones_expire() {
    let h = start_with(EmulatorConfig { pending_timeout: Duration::from_millis(300), ..Default::default() }).await;
    h.ready_user("u1").await;
    let waiting = h.session("u1").await;
    let (_, body) = h.authenticate("u1", "?duration_seconds=1").await;
    let short = body["authentication_status"]["session_token"].as_str().expect("token").to_owned();
    h.act(&short, "approve").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(h.status(&waiting).await, "timeout");
    assert_eq!(h.act(&short, "walkaway").await.1["status"], "walkaway", "still within its second");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let (_, list) = h.control(Method::GET, &format!("/_emulator/apps/{}/sessions", h.app), None).await;
    let row =
        list.as_array().expect("array").iter().find(|r| r["session_token"] == short.as_str()).cloned().expect("listed");
    assert_eq!(row["status"], "closed", "closed after duration_seconds");
}

#[tokio::test]
async fn opening_the_phone_page_makes_a_request_identifying() {
    let h = start().await;
    h.ready_user("u1").await;
    let s = h.session("u1").await;
    assert_eq!(h.status(&s).await, "pending");
    let link = h.get_json(&format!("/management/device_registration_link/{}/u1", h.app)).await;
    let state =
        h.http.get(format!("{}/state", link["register_url"].as_str().expect("url"))).send().await.expect("state");
    let state: serde_json::Value = state.json().await.expect("json");
    assert_eq!(state["sessions"][0]["status"], "identifying");
    assert_eq!(h.status(&s).await, "identifying");
}

#[tokio::test]
async fn thousands_of_concurrent_sessions() {
    let h = std::sync::Arc::new(start().await);
    h.ready_user("u1").await;
    // 1000 sessions alive at once, at most 100 requests in flight (file descriptors).
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(100));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..1000 {
        let h = h.clone();
        let permits = permits.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("semaphore open");
            let s = h.session("u1").await;
            h.act(&s.token, "approve").await;
            h.status(&s).await
        });
    }
    while let Some(status) = tasks.join_next().await {
        assert_eq!(status.expect("task"), "active");
    }
    let (_, list) = h.control(Method::GET, &format!("/_emulator/apps/{}/sessions", h.app), None).await;
    assert_eq!(list.as_array().expect("array").len(), 1000);
}
