//! Project Insight device activation and the API token.

mod common;

use std::time::Duration;

use common::*;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const AGENT: &str = "my-cli/1.0";

async fn create(h: &Harness, body: Value) -> Response {
    h.http
        .post(format!("{}/api/device-activation/create-request", h.base))
        .header("Accept", "application/json")
        .json(&body)
        .send()
        .await
        .expect("sent")
}

async fn create_ok(h: &Harness) -> (String, String) {
    let r = create(h, json!({ "ClientAgent": AGENT, "ClientPlatform": "Linux" })).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    (
        v["DeviceActivationId"].as_str().expect("id").into(),
        v["DeviceActivationRequestUrl"].as_str().expect("url").into(),
    )
}

async fn code(h: &Harness, id: &str) -> String {
    let (status, body) = h.control(Method::GET, &format!("/_emulator/activations/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    body["code"].as_str().expect("code").to_owned()
}

async fn complete(h: &Harness, params: &[(&str, &str)]) -> (u16, Value) {
    let r = h
        .http
        .get(with_query(&format!("{}/api/device-activation/complete-request", h.base), params))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("sent");
    (r.status().as_u16(), r.json().await.expect("json"))
}

/// `url` with the parameters form-encoded as its query.
fn with_query(url: &str, params: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(url).expect("valid url");
    url.query_pairs_mut().extend_pairs(params);
    url.to_string()
}

fn assert_dotnet_utc(value: &Value) -> chrono::DateTime<chrono::Utc> {
    let text = value.as_str().expect("string");
    let (_, frac) = text.rsplit_once('.').expect("fraction");
    assert!(frac.len() == 8 && frac.ends_with('Z') && frac[..7].chars().all(|c| c.is_ascii_digit()), "{text}");
    chrono::DateTime::parse_from_rfc3339(text).expect("ISO-8601").to_utc()
}

fn assert_error(result: (u16, Value), status: u16, code: &str, secrets: &[&str]) {
    assert_eq!(result.0, status, "{}", result.1);
    assert_eq!(result.1["ErrorCode"], code);
    let message = result.1["Message"].as_str().expect("message");
    assert!(message.len() > 10);
    for secret in secrets {
        assert!(!message.contains(secret), "message leaks {secret}");
    }
}

#[tokio::test]
async fn happy_path_and_project_list() {
    let h = start().await;
    let r = create(&h, json!({ "ClientAgent": AGENT, "ClientPlatform": "Linux", "ClientDevice": "Computer", "ClientIPAddress": "10.0.0.1", "ClientHostName": "box" })).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v.as_object().expect("object").len(), 3);
    let id = v["DeviceActivationId"].as_str().expect("id");
    assert_eq!(v["DeviceActivationRequestUrl"], format!("{}/_emulator/activate/{id}", h.base));
    let expires = assert_dotnet_utc(&v["ExpirationDateTimeUTC"]);
    let in_15 = chrono::Utc::now() + chrono::Duration::minutes(15);
    assert!((expires - in_15).num_seconds().abs() <= 5, "{expires}");

    let code = code(&h, id).await;
    assert!(code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()));
    let padded = format!("  {code} ");
    let (status, done) =
        complete(&h, &[("activationRequestId", id), ("activationCode", &padded), ("clientAgent", AGENT)]).await;
    assert_eq!(status, 200, "{done}");
    let token = done["ApiToken"].as_str().expect("token");
    assert!(done["DeviceId"].as_str().is_some_and(|d| !d.is_empty()));
    assert!(done["UserId"].as_str().is_some_and(|d| !d.is_empty()));
    let token_expiry = assert_dotnet_utc(&done["ApiTokenExpirationDateTimeUTC"]);
    assert!((token_expiry - chrono::Utc::now()).num_days() >= 364, "one year by default");

    let projects = h
        .http
        .get(format!("{}/api/project/active", h.base))
        .header("api-token", token)
        .header("Accept", "application/json")
        .send()
        .await
        .expect("sent");
    assert_eq!(projects.status(), 200);
    let projects: Value = projects.json().await.expect("json");
    let list = projects.as_array().expect("array");
    assert!(!list.is_empty());
    for p in list {
        assert!(p["Id"].is_string() && p["Name"].is_string());
        assert_dotnet_utc(&p["StartDateTimeUTC"]);
    }
    let by_query = h
        .http
        .get(with_query(&format!("{}/api/project/active", h.base), &[("api-token", token)]))
        .header("Accept", "application/json")
        .send()
        .await
        .expect("sent");
    assert_eq!(by_query.status(), 200);
    assert_eq!(by_query.json::<Value>().await.expect("json"), projects);
}

#[tokio::test]
async fn timeout_minutes_sets_the_token_lifetime() {
    let h = start().await;
    for (value, minutes) in [("30", 30), ("null", 365 * 24 * 60), ("", 365 * 24 * 60)] {
        let (id, _) = create_ok(&h).await;
        let code = code(&h, &id).await;
        let (status, done) = complete(
            &h,
            &[
                ("activationRequestId", &id),
                ("activationCode", &code),
                ("clientAgent", AGENT),
                ("timeoutMinutes", value),
            ],
        )
        .await;
        assert_eq!(status, 200);
        let expiry = assert_dotnet_utc(&done["ApiTokenExpirationDateTimeUTC"]);
        let expected = chrono::Utc::now() + chrono::Duration::minutes(minutes);
        assert!((expiry - expected).num_seconds().abs() <= 5, "{value}: {expiry}");
    }
}

#[tokio::test]
async fn every_error_code() {
    let h = start().await;
    // create-request
    for body in [json!({}), json!({ "ClientAgent": "" }), json!({ "ClientAgent": 5 }), json!([1])] {
        let r = create(&h, body.clone()).await;
        let status = r.status().as_u16();
        assert_error((status, r.json().await.expect("json")), 400, "INVALID_REQUEST", &[]);
    }
    // complete-request
    let (id, _) = create_ok(&h).await;
    assert_error(
        complete(&h, &[("activationRequestId", &id), ("clientAgent", AGENT)]).await,
        400,
        "INVALID_REQUEST",
        &[],
    );
    assert_error(
        complete(&h, &[("activationRequestId", "no-such-id"), ("activationCode", "123456"), ("clientAgent", AGENT)])
            .await,
        404,
        "UNKNOWN_REQUEST",
        &[],
    );
    let code = code(&h, &id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_error(
        complete(&h, &[("activationRequestId", &id), ("activationCode", wrong), ("clientAgent", AGENT)]).await,
        400,
        "WRONG_CODE",
        &[&code, wrong],
    );
    assert_error(
        complete(&h, &[("activationRequestId", &id), ("activationCode", &code), ("clientAgent", "other/2.0")]).await,
        400,
        "CLIENT_AGENT_MISMATCH",
        &[&code],
    );
    assert_error(
        complete(
            &h,
            &[
                ("activationRequestId", &id),
                ("activationCode", &code),
                ("clientAgent", AGENT),
                ("timeoutMinutes", "-5"),
            ],
        )
        .await,
        400,
        "INVALID_REQUEST",
        &[&code],
    );
    let (status, done) =
        complete(&h, &[("activationRequestId", &id), ("activationCode", &code), ("clientAgent", AGENT)]).await;
    assert_eq!(status, 200);
    let token = done["ApiToken"].as_str().expect("token").to_owned();
    assert_error(
        complete(&h, &[("activationRequestId", &id), ("activationCode", &code), ("clientAgent", AGENT)]).await,
        409,
        "CODE_ALREADY_USED",
        &[&code, &token],
    );
    // A code typed before anyone signed in is wrong (no code was issued yet).
    let (fresh, _) = create_ok(&h).await;
    assert_error(
        complete(&h, &[("activationRequestId", &fresh), ("activationCode", "123456"), ("clientAgent", AGENT)]).await,
        400,
        "WRONG_CODE",
        &[],
    );
    // Expired through the control API.
    let (expiring, _) = create_ok(&h).await;
    let code2 = self::code(&h, &expiring).await;
    assert_eq!(h.control(Method::POST, &format!("/_emulator/activations/{expiring}/expire"), None).await.0, 200);
    assert_error(
        complete(&h, &[("activationRequestId", &expiring), ("activationCode", &code2), ("clientAgent", AGENT)]).await,
        410,
        "EXPIRED",
        &[&code2],
    );
    assert_eq!(h.control(Method::GET, &format!("/_emulator/activations/{expiring}"), None).await.0, 410);
    assert_eq!(h.control(Method::GET, "/_emulator/activations/nope", None).await.0, 404);
    // API token errors.
    for token in [None, Some("not-a-token")] {
        let mut req = h.http.get(format!("{}/api/project/active", h.base)).header("Accept", "application/json");
        if let Some(t) = token {
            req = req.header("api-token", t);
        }
        let r = req.send().await.expect("sent");
        let status = r.status().as_u16();
        assert_error((status, r.json().await.expect("json")), 401, "INVALID_API_TOKEN", &[token.unwrap_or("-")]);
    }
}

#[tokio::test]
async fn requests_expire_after_the_activation_ttl() {
    let h = start_with(EmulatorConfig { activation_ttl: Duration::from_millis(300), ..Default::default() }).await;
    let (id, _) = create_ok(&h).await;
    let code = code(&h, &id).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_error(
        complete(&h, &[("activationRequestId", &id), ("activationCode", &code), ("clientAgent", AGENT)]).await,
        410,
        "EXPIRED",
        &[&code],
    );
}

/// Sends a raw HTTP/1.1 request (reqwest always adds `Accept: */*`); returns the status.
async fn raw_status(h: &Harness, request: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(h.emulator.addr()).await.expect("connect");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("status line");
    (status, response)
}

#[tokio::test]
async fn json_must_be_acceptable() {
    let h = start().await;
    let host = h.emulator.addr();
    let (status, response) =
        raw_status(&h, &format!("GET /api/project/active HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n")).await;
    assert_eq!(status, 406, "no Accept header");
    assert!(response.contains("NOT_ACCEPTABLE"));
    let body = r#"{"ClientAgent":"x"}"#;
    let (status, _) = raw_status(
        &h,
        &format!(
            "POST /api/device-activation/create-request HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(status, 406);
    let r = h
        .http
        .post(format!("{}/api/device-activation/create-request", h.base))
        .header("Accept", "application/xml")
        .json(&json!({ "ClientAgent": "x" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(r.status(), 406);
    assert_eq!(r.json::<Value>().await.expect("json")["ErrorCode"], "NOT_ACCEPTABLE");
    let (status, _) = raw_status(&h, &format!("GET /api/device-activation/complete-request?activationRequestId=x HTTP/1.1\r\nHost: {host}\r\nAccept: text/html\r\nConnection: close\r\n\r\n")).await;
    assert_eq!(status, 406);
}
