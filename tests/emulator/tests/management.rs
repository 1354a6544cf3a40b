//! The Management API: response shapes, 404 texts and hostile user ids.

mod common;

use common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn add_users_shape_and_refusals() {
    let h = start().await;
    let body = h.add_users(&["u1", "u2"]).await;
    assert_eq!(body, json!({ "status": true, "users": { "created": ["u1", "u2"], "existing": [] } }));
    let body = h.add_users(&["u2", "u3"]).await;
    assert_eq!(body, json!({ "status": true, "users": { "created": ["u3"], "existing": ["u2"] } }));

    let path = format!("/management/add_users/{}", h.app);
    for users in [json!([]), json!(["ok", ""])] {
        let r = h.signed(Method::POST, &path, Some(json!({ "users": users }))).await;
        assert_eq!(r.status(), 200);
        let body: serde_json::Value = r.json().await.expect("json");
        assert_eq!(body["status"], false, "{users}");
        assert!(body["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    // Nothing was created by the refused call.
    let r = h.signed(Method::GET, &format!("/management/has_registered_mobile_device/{}/ok", h.app), None).await;
    assert_eq!(r.status(), 404);

    let r = h.signed(Method::POST, &path, Some(json!({ "people": ["x"] }))).await;
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn not_found_texts() {
    let h = start().await;
    // Unknown application: checked before the signature (its secret is unknown).
    let r = h.http.post(format!("{}/management/add_users/NOPE", h.base)).send().await.expect("sent");
    assert_eq!(r.status(), 404);
    assert_eq!(r.text().await.expect("text"), "Client Application NOPE not found");
    // Unknown user: after the signature.
    let r = h
        .http
        .get(format!("{}/management/has_registered_mobile_device/{}/ghost", h.base, h.app))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 401, "unsigned request to a real app is refused first");
    for path in [
        format!("/management/has_registered_mobile_device/{}/ghost", h.app),
        format!("/management/device_registration_link/{}/ghost", h.app),
        format!("/management/lost_user_mobile_device/{}/ghost", h.app),
    ] {
        let r = h.signed(Method::GET, &path, None).await;
        assert_eq!(r.status(), 404, "{path}");
        assert_eq!(r.text().await.expect("text"), "User ghost not found");
    }
    let r = h
        .signed(
            Method::POST,
            &format!("/management/send_registration_sms/{}/ghost", h.app),
            Some(json!({ "phone_number": "+15550100" })),
        )
        .await;
    assert_eq!((r.status().as_u16(), r.text().await.expect("text")), (404, "User ghost not found".into()));
    let r =
        h.signed(Method::POST, &format!("/authentication/authenticate_user/{}/ghost", h.app), Some(json!({}))).await;
    assert_eq!((r.status().as_u16(), r.text().await.expect("text")), (404, "User ghost not found".into()));
    // Unknown session token.
    let url = format!("{}/authentication/session_status/0123456789abcdef0123456789abcdef", h.base);
    let r = h.signed_as(Method::GET, &url, None, "0123456789abcdef0123456789abcdef", "x").await;
    assert_eq!((r.status().as_u16(), r.text().await.expect("text")), (404, "Session not found".into()));
}

#[tokio::test]
async fn registration_links_devices_and_lost_devices() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    let link = |dn: &'static str| {
        let h = &h;
        async move {
            let path = format!("/management/device_registration_link/{}/u1{dn}", h.app);
            h.get_json(&path).await
        }
    };
    let first = link("").await;
    assert_eq!(first["status"], true);
    let url1 = first["register_url"].as_str().expect("url").to_owned();
    assert!(url1.starts_with(&format!("{}/_emulator/phone/", h.base)), "{url1}");
    let again = link("?display_name=Ann%20O%27Neil%20%3Cadmin%3E").await;
    assert_eq!(again["register_url"], url1.as_str(), "stable until the device is lost");
    let page = h.http.get(&url1).send().await.expect("page").text().await.expect("html");
    assert!(page.contains("Ann O&#39;Neil &lt;admin&gt;"), "display name shown, escaped");

    let has = format!("/management/has_registered_mobile_device/{}/u1", h.app);
    assert_eq!(h.get_json(&has).await, json!({ "status": true, "device_registered": false }));
    h.register_device("u1").await;
    assert_eq!(h.get_json(&has).await, json!({ "status": true, "device_registered": true }));

    let lost = h.get_json(&format!("/management/lost_user_mobile_device/{}/u1", h.app)).await;
    assert_eq!(lost["status"], true);
    let url2 = lost["register_url"].as_str().expect("url");
    assert_ne!(url2, url1);
    assert_eq!(h.get_json(&has).await["device_registered"], false);
    assert_eq!(h.http.get(&url1).send().await.expect("old").status(), 404);
    assert_eq!(h.http.get(url2).send().await.expect("new").status(), 200);
    assert_eq!(link("").await["register_url"], url2);
}

#[tokio::test]
async fn registration_sms_outbox() {
    let h = start().await;
    h.add_users(&["u1"]).await;
    let path = format!("/management/send_registration_sms/{}/u1", h.app);
    let r = h
        .signed(
            Method::POST,
            &path,
            Some(json!({ "phone_number": "+15550100", "display_name": "Ann", "message": "Welcome!" })),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.expect("json"), json!({ "status": true }));
    for bad in [
        json!({ "phone_number": "5550100" }),
        json!({ "phone_number": "+12345" }),
        json!({ "phone_number": "+1 555 0100" }),
        json!({}),
    ] {
        let r = h.signed(Method::POST, &path, Some(bad.clone())).await;
        assert_eq!(r.status(), 200);
        assert_eq!(
            r.json::<serde_json::Value>().await.expect("json"),
            json!({ "status": false, "reason": "INVALID_PHONE_NUMBER" }),
            "{bad}"
        );
    }
    let link = h.get_json(&format!("/management/device_registration_link/{}/u1", h.app)).await;
    let (status, outbox) = h.control(Method::GET, &format!("/_emulator/apps/{}/sms", h.app), None).await;
    assert_eq!(status, 200);
    let outbox = outbox.as_array().expect("array");
    assert_eq!(outbox.len(), 1, "refused SMS are not sent");
    let sms = &outbox[0];
    assert_eq!(sms["user"], "u1");
    assert_eq!(sms["phone_number"], "+15550100");
    assert_eq!(sms["display_name"], "Ann");
    assert_eq!(sms["register_url"], link["register_url"]);
    assert!(sms["message"].as_str().expect("message").starts_with("Welcome!"));
}

#[tokio::test]
async fn delete_users_closes_their_sessions() {
    let h = start().await;
    h.ready_user("u1").await;
    h.ready_user("u2").await;
    let s1 = h.session("u1").await;
    let s2 = h.session("u2").await;
    h.act(&s1.token, "approve").await;
    let r = h
        .signed(
            Method::POST,
            &format!("/management/delete_users/{}", h.app),
            Some(json!({ "users": ["u1", "never-existed"] })),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.expect("json"), json!({ "status": true }));
    assert_eq!(h.status(&s1).await, "closed");
    assert_eq!(h.status(&s2).await, "pending");
    let r = h.signed(Method::GET, &format!("/management/has_registered_mobile_device/{}/u1", h.app), None).await;
    assert_eq!(r.status(), 404);
    // Added again, the user starts without a device.
    h.add_users(&["u1"]).await;
    assert_eq!(
        h.get_json(&format!("/management/has_registered_mobile_device/{}/u1", h.app)).await["device_registered"],
        false
    );
}

#[tokio::test]
async fn hostile_user_ids_route_to_the_right_user() {
    let h = start().await;
    // (A user id of "." or ".." cannot be sent at all: URL parsers treat %2E%2E as a dot segment.)
    let long = "x".repeat(1024);
    let ids: Vec<String> =
        ["a/b", "q?x=1&y", "hash#tag", "100%", "%41", "plus+sign", "with space", "ünïcødé 名前", "<script>", "a.b"]
            .iter()
            .map(|s| s.to_string())
            .chain([long])
            .collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let added = h.add_users(&refs).await;
    assert_eq!(added["users"]["created"], json!(ids));
    for id in &ids {
        let has = format!("/management/has_registered_mobile_device/{}/{}", h.app, seg(id));
        assert_eq!(h.get_json(&has).await["device_registered"], false, "{id}");
        h.register_device(id).await;
        assert_eq!(h.get_json(&has).await["device_registered"], true, "{id}");
        let link = h.get_json(&format!("/management/device_registration_link/{}/{}", h.app, seg(id))).await;
        assert!(link["register_url"].is_string());
        let s = h.session(id).await;
        let (_, sessions) = h.control(Method::GET, &format!("/_emulator/apps/{}/sessions", h.app), None).await;
        let row = sessions
            .as_array()
            .expect("array")
            .iter()
            .find(|r| r["session_token"] == s.token.as_str())
            .cloned()
            .expect("listed");
        assert_eq!(row["user"], id.as_str());
    }
    // "%41" and "A" are different users: decoding happens exactly once.
    let r = h.signed(Method::GET, &format!("/management/has_registered_mobile_device/{}/A", h.app), None).await;
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn public_url_is_the_base_of_every_link() {
    let h =
        start_with(EmulatorConfig { public_url: Some("https://emu.example.test:8443/".into()), ..Default::default() })
            .await;
    h.ready_user("u1").await;
    let link = h.get_json(&format!("/management/device_registration_link/{}/u1", h.app)).await;
    assert!(link["register_url"].as_str().expect("url").starts_with("https://emu.example.test:8443/_emulator/phone/"));
    let s = h.session("u1").await;
    assert_eq!(s.status_url, format!("https://emu.example.test:8443/authentication/session_status/{}", s.token));
    assert_eq!(s.logout_url, format!("https://emu.example.test:8443/authentication/logout/{}", s.token));
    let r = h
        .http
        .post(format!("{}/api/device-activation/create-request", h.base))
        .header("Accept", "application/json")
        .json(&json!({ "ClientAgent": "a" }))
        .send()
        .await
        .expect("sent");
    let v: serde_json::Value = r.json().await.expect("json");
    assert!(
        v["DeviceActivationRequestUrl"]
            .as_str()
            .expect("url")
            .starts_with("https://emu.example.test:8443/_emulator/activate/")
    );
    assert!(h.base.starts_with("http://127.0.0.1:"), "base_url stays the bound address");
}
