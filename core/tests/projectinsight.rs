//! Project Insight device activation end to end, and each way it can be refused.

mod common;

use common::Env;
use deviceauth::projectinsight::{DeviceActivation, DeviceInfo};
use deviceauth::{ActivationRejection, Error};

const AGENT: &str = "deviceauth-tests/1.0";

async fn activate(env: &Env) -> DeviceActivation {
    let pi = env.pi();
    let pending = pi.create_device_activation(&DeviceInfo::new(AGENT).platform("Linux").host_name("ci")).await.unwrap();
    let code = env.activation_code(&pending.id).await;
    pi.complete_device_activation(&pending.id, &format!("  {code} "), AGENT, Some(60)).await.unwrap()
}

fn rejection(err: &Error) -> Option<ActivationRejection> {
    match err {
        Error::ActivationRejected { reason, .. } => Some(*reason),
        _ => None,
    }
}

#[tokio::test]
async fn activation_gives_a_token_that_lists_projects() {
    let env = Env::start().await;
    let pi = env.pi();
    let pending = pi.create_device_activation(&DeviceInfo::new(AGENT)).await.unwrap();
    assert!(pending.url.starts_with(&env.emulator.base_url()), "{}", pending.url);
    let now = chrono::Utc::now();
    assert!(pending.expires_at > now && pending.expires_at < now + chrono::Duration::hours(1));

    let code = env.activation_code(&pending.id).await;
    let done = pi.complete_device_activation(&pending.id, &code, AGENT, Some(60)).await.unwrap();
    assert!(!done.api_token.expose_secret().is_empty());
    assert!(!done.device_id.is_empty() && !done.user_id.is_empty());
    let lifetime = done.expires_at - chrono::Utc::now();
    assert!(lifetime > chrono::Duration::minutes(58) && lifetime <= chrono::Duration::minutes(60), "{lifetime}");

    let projects = pi.with_api_token(done.api_token.clone()).get("project/active").await.unwrap();
    let projects = projects.as_array().expect("an array of projects");
    assert!(!projects.is_empty());
    assert!(projects.iter().all(|p| p.get("Id").is_some() && p.get("Name").is_some()));
}

#[tokio::test]
async fn a_token_without_timeout_lasts_a_year() {
    let env = Env::start().await;
    let pi = env.pi();
    let pending = pi.create_device_activation(&DeviceInfo::new(AGENT)).await.unwrap();
    let code = env.activation_code(&pending.id).await;
    let done = pi.complete_device_activation(&pending.id, &code, AGENT, None).await.unwrap();
    assert!(done.expires_at - chrono::Utc::now() > chrono::Duration::days(360));
}

#[tokio::test]
async fn each_refusal_is_named() {
    let env = Env::start().await;
    let pi = env.pi();

    let err = pi.complete_device_activation("no-such-request", "123456", AGENT, None).await.unwrap_err();
    assert_eq!(rejection(&err), Some(ActivationRejection::UnknownRequest), "{err}");
    assert_eq!(err.code(), "NOT_FOUND");

    let pending = pi.create_device_activation(&DeviceInfo::new(AGENT)).await.unwrap();
    let code = env.activation_code(&pending.id).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = pi.complete_device_activation(&pending.id, wrong, AGENT, None).await.unwrap_err();
    assert_eq!(rejection(&err), Some(ActivationRejection::WrongCode), "{err}");
    assert_eq!((err.code(), err.reason()), ("UNAUTHORIZED", Some("WRONG_CODE")));
    assert!(!err.to_string().contains(&code) && !err.to_string().contains(wrong), "codes stay out of errors: {err}");

    let err = pi.complete_device_activation(&pending.id, &code, "other-agent/2.0", None).await.unwrap_err();
    assert_eq!(rejection(&err), Some(ActivationRejection::ClientAgentMismatch), "{err}");

    pi.complete_device_activation(&pending.id, &code, AGENT, None).await.unwrap();
    let err = pi.complete_device_activation(&pending.id, &code, AGENT, None).await.unwrap_err();
    assert_eq!(rejection(&err), Some(ActivationRejection::CodeAlreadyUsed), "{err}");

    let expiring = pi.create_device_activation(&DeviceInfo::new(AGENT)).await.unwrap();
    let code = env.activation_code(&expiring.id).await;
    let (status, _) =
        env.control(reqwest::Method::POST, &format!("/_emulator/activations/{}/expire", expiring.id), None).await;
    assert_eq!(status, 200);
    let err = pi.complete_device_activation(&expiring.id, &code, AGENT, None).await.unwrap_err();
    assert_eq!(rejection(&err), Some(ActivationRejection::Expired), "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
}

#[tokio::test]
async fn a_bad_token_is_unauthorized() {
    let env = Env::start().await;
    let err = env.pi().with_api_token("not-a-token").get("project/active").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("UNAUTHORIZED", Some(401)));
    assert!(!err.to_string().contains("not-a-token"));
}

#[tokio::test]
async fn a_token_that_cannot_be_a_header_fails_at_once() {
    let env = Env::start().await;
    let started = std::time::Instant::now();
    for token in ["line\nbreak", "", "  "] {
        let err = env.pi().with_api_token(token).get("project/active").await.unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{token:?}: {err}");
    }
    assert!(started.elapsed() < std::time::Duration::from_millis(100), "not retried: {:?}", started.elapsed());
    assert_eq!(env.requests("/").await, 0);
}

#[tokio::test]
async fn invalid_arguments_fail_before_any_request() {
    let env = Env::start().await;
    let pi = env.pi();
    let api = pi.with_api_token("t");
    let errors = vec![
        pi.create_device_activation(&DeviceInfo::new("")).await.unwrap_err(),
        pi.create_device_activation(&DeviceInfo::new(AGENT).ip_address("not-an-ip")).await.unwrap_err(),
        pi.complete_device_activation("", "1", AGENT, None).await.unwrap_err(),
        pi.complete_device_activation("id", "   ", AGENT, None).await.unwrap_err(),
        pi.complete_device_activation("id", "1", "", None).await.unwrap_err(),
        pi.complete_device_activation("id", "1", AGENT, Some(0)).await.unwrap_err(),
        api.get("https://elsewhere.example/steal").await.unwrap_err(),
    ];
    for err in &errors {
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
    }
    assert_eq!(env.requests("/").await, 0);
    assert_eq!(deviceauth::projectinsight::Client::new("not a url").unwrap_err().code(), "INVALID_ARGUMENT");
}

#[tokio::test]
async fn create_request_is_not_retried_but_complete_request_is() {
    let env = Env::start().await;
    let pi = env.pi();
    env.fault(common::fault("/api/device-activation/create-request", serde_json::json!({"status": 503}))).await;
    let err = pi.create_device_activation(&DeviceInfo::new(AGENT)).await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert_eq!(env.requests("/api/device-activation/create-request").await, 1);

    let done = {
        let pending = pi.create_device_activation(&DeviceInfo::new(AGENT)).await.unwrap();
        let code = env.activation_code(&pending.id).await;
        env.fault(common::fault(
            "/api/device-activation/complete-request",
            serde_json::json!({"status": 503, "count": 2}),
        ))
        .await;
        pi.complete_device_activation(&pending.id, &code, AGENT, None).await.unwrap()
    };
    assert!(!done.api_token.is_empty());
    assert_eq!(env.requests("/api/device-activation/complete-request").await, 3);
    let _ = activate(&env).await;
}
