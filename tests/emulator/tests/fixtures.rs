//! The control API the packaged test fixtures use: pending sign-ins (newest first),
//! registering from a registration link, setting a session's status by name.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn link(h: &Harness, user: &str) -> String {
    let path = format!("/management/device_registration_link/{}/{}", h.app, seg(user));
    h.get_json(&path).await["register_url"].as_str().expect("register_url").to_owned()
}

async fn registered(h: &Harness, user: &str) -> bool {
    let path = format!("/management/has_registered_mobile_device/{}/{}", h.app, seg(user));
    h.get_json(&path).await["device_registered"].as_bool().expect("bool")
}

async fn register_link(h: &Harness, url: &str) -> (u16, Value) {
    let q = format!("/_emulator/register?link={}", seg(url));
    h.control(Method::POST, &q, None).await
}

#[tokio::test]
async fn a_registration_link_registers_the_phone_like_the_page() {
    let h = start().await;
    h.add_users(&["u 1/é"]).await;
    let url = link(&h, "u 1/é").await;
    assert!(!registered(&h, "u 1/é").await);
    let (status, body) = register_link(&h, &url).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"status": true, "application_id": "APP", "user": "u 1/é", "already_registered": false}));
    assert!(registered(&h, "u 1/é").await);
    // Again: nothing changes; also as a JSON body.
    let (status, body) = h.control(Method::POST, "/_emulator/register", Some(json!({ "link": url }))).await;
    assert_eq!((status, body["already_registered"].clone()), (200, json!(true)));

    // Lost device: the old link is dead, the new one works.
    let lost = h.get_json(&format!("/management/lost_user_mobile_device/{}/{}", h.app, seg("u 1/é"))).await;
    let new_url = lost["register_url"].as_str().expect("new link").to_owned();
    let (status, body) = register_link(&h, &url).await;
    assert_eq!(status, 404, "{body}");
    assert!(!registered(&h, "u 1/é").await);
    assert_eq!(register_link(&h, &new_url).await.0, 200);
    assert!(registered(&h, "u 1/é").await);

    // Not a registration link, no link at all.
    assert_eq!(register_link(&h, "http://127.0.0.1:1/somewhere").await.0, 400);
    assert_eq!(h.control(Method::POST, "/_emulator/register", None).await.0, 400);
}

#[tokio::test]
async fn pending_sign_ins_are_listed_newest_first() {
    let h = start().await;
    h.ready_user("alice").await;
    h.ready_user("bob").await;
    let first = h.session("alice").await;
    let second = h.session("bob").await;
    let third = h.session("alice").await;
    let path = format!("/_emulator/apps/{}/sign-ins?pending=true", h.app);
    let (status, list) = h.control(Method::GET, &path, None).await;
    assert_eq!(status, 200);
    let tokens: Vec<&str> =
        list.as_array().expect("list").iter().map(|r| r["session_token"].as_str().expect("t")).collect();
    assert_eq!(tokens, [third.token.as_str(), second.token.as_str(), first.token.as_str()]);
    let row = &list[0];
    assert_eq!(row["user"], "alice");
    assert_eq!(row["status"], "pending", "listing does not mark requests as seen");
    let created = row["created_at"].as_str().expect("created_at");
    let parsed = chrono::DateTime::parse_from_rfc3339(created).expect("RFC 3339");
    assert!((chrono::Utc::now() - parsed.with_timezone(&chrono::Utc)).num_seconds().abs() < 30, "{created}");
    assert!(created.ends_with('Z'));

    // Approving one removes it from the pending list but not from the full list.
    assert_eq!(h.act(&second.token, "approve").await.0, 200);
    let (_, list) = h.control(Method::GET, &path, None).await;
    assert_eq!(list.as_array().expect("list").len(), 2);
    let (_, all) = h.control(Method::GET, &format!("/_emulator/apps/{}/sign-ins", h.app), None).await;
    assert_eq!(all.as_array().expect("list").len(), 3);
    assert_eq!(all[1]["status"], "active");
    let (_, mine) = h.control(Method::GET, &format!("{path}&user=bob"), None).await;
    assert_eq!(mine, json!([]));
    let (_, mine) = h.control(Method::GET, &format!("{path}&user=alice"), None).await;
    assert_eq!(mine.as_array().expect("list").len(), 2);

    assert_eq!(h.control(Method::GET, "/_emulator/apps/NOPE/sign-ins", None).await.0, 404);
    assert_eq!(h.control(Method::GET, &format!("/_emulator/apps/{}/sign-ins?pending=maybe", h.app), None).await.0, 400);
}

async fn set(h: &Harness, token: &str, status: &str) -> (u16, Value) {
    h.control(Method::POST, &format!("/_emulator/sessions/{token}/status"), Some(json!({ "status": status }))).await
}

#[tokio::test]
async fn set_status_by_name_walks_the_phone_transitions() {
    let h = start().await;
    h.ready_user("u").await;
    let s = h.session("u").await;
    assert_eq!(set(&h, &s.token, "identifying").await.1["status"], "identifying");
    let (code, body) = set(&h, &s.token, "active").await;
    assert_eq!(
        (code, body),
        (200, json!({"session_token": s.token, "status": "active", "previous_status": "identifying"}))
    );
    assert_eq!(h.status(&s).await, "active");
    assert_eq!(set(&h, &s.token, "walkaway").await.1["status"], "walkaway");
    assert_eq!(h.status(&s).await, "walkaway");
    assert_eq!(set(&h, &s.token, "active").await.1["status"], "active", "come back");
    assert_eq!(set(&h, &s.token, "active").await.0, 200, "same status is a no-op");
    assert_eq!(set(&h, &s.token, "closed").await.1["status"], "closed", "remote logout");
    assert_eq!(h.status(&s).await, "closed");
    let (code, body) = set(&h, &s.token, "active").await;
    assert_eq!(code, 409, "{body}");
    assert!(body["error"].as_str().expect("error").contains("closed"));

    for (name, expected) in [
        ("failed", "failed"),
        ("deny", "failed"),
        ("cancelled", "cancelled"),
        ("timeout", "timeout"),
        ("walkaway", "walkaway"),
    ] {
        let s = h.session("u").await;
        let (code, body) = set(&h, &s.token, name).await;
        assert_eq!((code, body["status"].clone()), (200, json!(expected)), "{name}");
        assert_eq!(h.status(&s).await, expected, "{name}");
    }
    let s = h.session("u").await;
    assert_eq!(set(&h, &s.token, "closed").await.0, 409, "a waiting request cannot be logged out remotely");
    assert_eq!(set(&h, &s.token, "sideways").await.0, 400);
    assert_eq!(set(&h, "nosuchtoken", "active").await.0, 404);
    let r = h
        .http
        .post(format!("{}/_emulator/sessions/{}/status", h.base, s.token))
        .body("nope")
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 400);
    // The action routes still work beside it.
    assert_eq!(h.act(&s.token, "approve").await.0, 200);
}
