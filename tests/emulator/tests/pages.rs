//! The browser pages: phone page, activation page, index; hostile strings are escaped.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

const HOSTILE: &str = "<script>alert(\"x\")</script>&'";
const HOSTILE_ESCAPED: &str = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;";

async fn page(h: &Harness, url: &str) -> (u16, String) {
    let r = h.http.get(url).send().await.expect("page");
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let body = r.text().await.expect("html");
    if status == 200 {
        assert!(ct.starts_with("text/html"), "{ct}");
    }
    (status, body)
}

/// Posts a phone-page form; the answer must be a 303 back to the page.
async fn press(h: &Harness, phone_url: &str, action_path: &str) {
    let r = h.http.post(format!("{phone_url}{action_path}")).send().await.expect("post");
    assert_eq!(r.status(), 303, "{action_path}");
    let location = r.headers().get("location").and_then(|v| v.to_str().ok()).expect("location");
    assert!(phone_url.ends_with(location), "{location}");
}

/// The `<li>` of one session on the phone page.
fn row<'a>(html: &'a str, token: &str) -> &'a str {
    let start = html.find(&format!("data-session-token=\"{token}\"")).expect("session row");
    let rest = &html[start..];
    &rest[..rest.find("</li>").expect("row end")]
}

#[tokio::test]
async fn phone_page_registers_and_answers_requests() {
    let h = start().await;
    h.add_users(&[HOSTILE]).await;
    let path = format!("/management/device_registration_link/{}/{}?display_name={}", h.app, seg(HOSTILE), seg(HOSTILE));
    let phone_url = h.get_json(&path).await["register_url"].as_str().expect("url").to_owned();

    let (status, html) = page(&h, &phone_url).await;
    assert_eq!(status, 200);
    assert!(!html.contains("<script>alert"), "user id and display name are escaped");
    assert!(html.matches(HOSTILE_ESCAPED).count() >= 2, "user id and display name shown");
    assert!(html.contains("data-testid=\"register\""));
    assert!(html.contains("Register this phone"));
    assert!(html.contains("setInterval") && html.contains("2000"), "refreshes itself");

    press(&h, &phone_url, "/register").await;
    let has = format!("/management/has_registered_mobile_device/{}/{}", h.app, seg(HOSTILE));
    assert_eq!(h.get_json(&has).await["device_registered"], true);
    let (_, html) = page(&h, &phone_url).await;
    assert!(!html.contains("data-testid=\"register\""));
    assert!(html.contains("data-testid=\"no-sessions\""));

    let s = h.session(HOSTILE).await;
    let (_, html) = page(&h, &phone_url).await;
    let r = row(&html, &s.token);
    assert!(r.contains("data-status=\"identifying\""), "the phone shows it: {r}");
    for id in ["approve", "deny", "cancel"] {
        assert!(r.contains(&format!("data-testid=\"{id}\"")), "{id}");
    }
    assert!(!r.contains("data-testid=\"walkaway\""));

    press(&h, &phone_url, &format!("/sessions/{}/approve", s.token)).await;
    assert_eq!(h.status(&s).await, "active");
    let (_, html) = page(&h, &phone_url).await;
    let r = row(&html, &s.token);
    assert!(
        r.contains("data-testid=\"walkaway\"")
            && r.contains("data-testid=\"remote-logout\"")
            && !r.contains("data-testid=\"approve\"")
    );

    press(&h, &phone_url, &format!("/sessions/{}/walkaway", s.token)).await;
    assert_eq!(h.status(&s).await, "walkaway");
    let (_, html) = page(&h, &phone_url).await;
    let r = row(&html, &s.token);
    assert!(
        r.contains("data-testid=\"return\"") && r.contains("Come back") && r.contains("data-testid=\"remote-logout\"")
    );
    press(&h, &phone_url, &format!("/sessions/{}/return", s.token)).await;
    press(&h, &phone_url, &format!("/sessions/{}/remote-logout", s.token)).await;
    assert_eq!(h.status(&s).await, "closed");

    // Deny and cancel from the page.
    for (action, expected) in [("deny", "failed"), ("cancel", "cancelled")] {
        let s = h.session(HOSTILE).await;
        press(&h, &phone_url, &format!("/sessions/{}/{action}", s.token)).await;
        assert_eq!(h.status(&s).await, expected);
    }
}

#[tokio::test]
async fn phone_page_only_acts_on_its_own_sessions() {
    let h = start().await;
    h.ready_user("u1").await;
    h.ready_user("u2").await;
    let s2 = h.session("u2").await;
    let (_, users) = h.control(Method::GET, &format!("/_emulator/apps/{}/users", h.app), None).await;
    let u1 = users.as_array().expect("array").iter().find(|u| u["user"] == "u1").expect("u1");
    let phone1 = u1["register_url"].as_str().expect("url");
    let r = h.http.post(format!("{phone1}/sessions/{}/approve", s2.token)).send().await.expect("post");
    assert_eq!(r.status(), 404);
    assert_eq!(h.status(&s2).await, "pending");
    assert_eq!(page(&h, &format!("{}/_emulator/phone/not-a-token", h.base)).await.0, 404);
}

#[tokio::test]
async fn state_json_changes_when_the_page_must_reload() {
    let h = start().await;
    h.ready_user("u1").await;
    let (_, users) = h.control(Method::GET, &format!("/_emulator/apps/{}/users", h.app), None).await;
    let phone = users[0]["register_url"].as_str().expect("url").to_owned();
    let state = |h: &Harness| {
        let url = format!("{phone}/state");
        let http = h.http.clone();
        async move { http.get(url).send().await.expect("state").json::<Value>().await.expect("json") }
    };
    let before = state(&h).await;
    assert_eq!(before["user"], "u1");
    assert_eq!(before["device_registered"], true);
    let s = h.session("u1").await;
    let after = state(&h).await;
    assert_ne!(before["version"], after["version"]);
    assert_eq!(after["sessions"], json!([{ "session_token": s.token, "status": "identifying" }]));
    assert_eq!(state(&h).await["version"], after["version"], "stable while nothing changes");
    let (_, html) = page(&h, &phone).await;
    assert!(html.contains(&format!("data-state-version=\"{}\"", after["version"].as_str().expect("version"))));
}

#[tokio::test]
async fn activation_page_signs_in_and_shows_the_code() {
    let h = start().await;
    let r = h
        .http
        .post(format!("{}/api/device-activation/create-request", h.base))
        .header("Accept", "application/json")
        .json(&json!({ "ClientAgent": HOSTILE, "ClientHostName": "host<1>" }))
        .send()
        .await
        .expect("sent");
    let v: Value = r.json().await.expect("json");
    let id = v["DeviceActivationId"].as_str().expect("id").to_owned();
    let url = v["DeviceActivationRequestUrl"].as_str().expect("url").to_owned();

    let (status, html) = page(&h, &url).await;
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"sign-in\"") && html.contains(">Sign in<"));
    assert!(html.contains("name=\"username\"") && html.contains("type=\"password\""));
    assert!(html.contains(HOSTILE_ESCAPED) && !html.contains("<script>alert") && html.contains("host&lt;1&gt;"));

    let r = h
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=&password=x")
        .send()
        .await
        .expect("post");
    assert!(r.text().await.expect("html").contains("data-testid=\"error\""), "username required");

    let r = h
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("username=ann%3Cb%3E&password=secret")
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    let html = r.text().await.expect("html");
    assert!(html.contains("Your activation code"));
    assert!(html.contains("ann&lt;b&gt;") && html.contains(HOSTILE_ESCAPED));
    let marker = "data-testid=\"activation-code\">";
    let start = html.find(marker).expect("code element") + marker.len();
    let code = &html[start..start + 6];
    assert!(code.chars().all(|c| c.is_ascii_digit()), "{code}");

    let done = h
        .http
        .get(format!(
            "{}/api/device-activation/complete-request?activationRequestId={id}&activationCode={code}&clientAgent={}",
            h.base,
            seg(HOSTILE)
        ))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("sent");
    assert_eq!(done.status(), 200, "the page's code completes the activation");
    let (status, html) = page(&h, &url).await;
    assert_eq!(status, 410);
    assert!(html.contains("already"));
}

#[tokio::test]
async fn activation_page_for_unknown_and_expired_requests() {
    let h = start().await;
    let (status, html) = page(&h, &format!("{}/_emulator/activate/nope", h.base)).await;
    assert_eq!(status, 404);
    assert!(html.contains("not valid"));
    let r = h
        .http
        .post(format!("{}/api/device-activation/create-request", h.base))
        .header("Accept", "application/json")
        .json(&json!({ "ClientAgent": "a" }))
        .send()
        .await
        .expect("sent");
    let v: Value = r.json().await.expect("json");
    let id = v["DeviceActivationId"].as_str().expect("id");
    h.control(Method::POST, &format!("/_emulator/activations/{id}/expire"), None).await;
    let (status, html) = page(&h, v["DeviceActivationRequestUrl"].as_str().expect("url")).await;
    assert_eq!(status, 410);
    assert!(html.contains("expired"));
    assert!(!html.contains("data-testid=\"sign-in\""));
}

#[tokio::test]
async fn index_lists_app_ids_but_never_secrets() {
    let h = start_with(EmulatorConfig { apps: vec![("APP".into(), "TOPSECRET".into())], ..Default::default() }).await;
    h.add_users(&[HOSTILE]).await;
    let (status, html) = page(&h, &format!("{}/", h.base)).await;
    assert_eq!(status, 200);
    assert!(html.contains("APP"));
    assert!(!html.contains("TOPSECRET"));
    assert!(html.contains(HOSTILE_ESCAPED) && !html.contains("<script>alert"));
    assert!(html.contains("/_emulator/phone/"));
    assert!(html.contains(&format!("{}/api", h.base)));
}

#[tokio::test]
async fn control_app_creation() {
    let h = start().await;
    let (status, body) = h.control(Method::POST, "/_emulator/apps", None).await;
    assert_eq!(status, 201);
    let id = body["application_id"].as_str().expect("id");
    assert!(body["application_secret"].as_str().is_some_and(|s| s.len() >= 24));
    let (status, body) = h
        .control(Method::POST, "/_emulator/apps", Some(json!({ "application_id": "MINE", "application_secret": "pw" })))
        .await;
    assert_eq!((status, body), (201, json!({ "application_id": "MINE", "application_secret": "pw" })));
    assert_eq!(
        h.control(
            Method::POST,
            "/_emulator/apps",
            Some(json!({ "application_id": "MINE", "application_secret": "other" }))
        )
        .await
        .0,
        409
    );
    let apps: Vec<String> = h.emulator.apps().into_iter().map(|(id, _)| id).collect();
    assert_eq!(apps, ["APP", id, "MINE"]);
    // The new application works with its secret.
    let url = format!("{}/management/add_users/MINE", h.base);
    let r = h.signed_as(Method::POST, &url, Some(json!({ "users": ["x"] })), "MINE", "pw").await;
    assert_eq!(r.status(), 201);
    assert_eq!(h.control(Method::POST, "/_emulator/apps/MINE/users/ghost/device", None).await.0, 404);
    assert_eq!(h.control(Method::POST, "/_emulator/apps/NOPE/users/x/device", None).await.0, 404);
}
