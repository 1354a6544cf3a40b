//! `Client::health`: healthy against the emulator, each failure typed and named (wrong
//! secret or application id, service down, hung service, a base URL that is not the
//! service), and nothing sent but the one read-only request.

mod common;

use std::time::{Duration, Instant};

use common::{Env, fault, patient_client};
use deviceauth::activeconnect::{DEFAULT_HEALTH_BUDGET, HEALTH_PROBE_USER};
use deviceauth::MAX_DURATION;
use reqwest::Method;
use serde_json::json;

const HAS_DEVICE: &str = "/management/has_registered_mobile_device/";

#[tokio::test]
async fn a_reachable_service_that_accepts_the_credentials_is_healthy() {
    let env = Env::start().await;
    let health = env.client().health().await.unwrap();
    assert_eq!(health.origin, env.emulator.base_url());
    assert!(health.latency > Duration::ZERO && health.latency < DEFAULT_HEALTH_BUDGET, "{health:?}");
}

#[tokio::test]
async fn health_sends_one_read_only_request_and_changes_nothing() {
    let env = Env::start().await;
    env.control(Method::DELETE, "/_emulator/requests", None).await;
    env.client().health().await.unwrap();
    let (_, log) = env.control(Method::GET, "/_emulator/requests?path=/", None).await;
    let probe = format!("{HAS_DEVICE}{}/{HEALTH_PROBE_USER}", env.app_id);
    assert_eq!(log, json!([{"method": "GET", "path": probe, "status": 404}]), "only the probe was sent");
    let (_, users) = env.control(Method::GET, &format!("/_emulator/apps/{}/users", env.app_id), None).await;
    assert_eq!(users, json!([]), "no user was added");
    assert!(env.sessions().await.is_empty(), "no sign-in was started");
    assert!(env.outbox().await.is_empty(), "no SMS was sent");
}

#[tokio::test]
async fn a_probe_user_that_exists_is_healthy_too() {
    let env = Env::start().await;
    env.client().add_user(HEALTH_PROBE_USER).await.unwrap();
    env.client().health().await.unwrap();
}

#[tokio::test]
async fn a_wrong_secret_is_unauthorized_naming_the_secret_and_never_showing_it() {
    let env = Env::start().await;
    let wrong = patient_client(&env.app_id, "wrong-secret-value", &env.emulator.base_url());
    let error = wrong.health().await.unwrap_err();
    assert_eq!((error.code(), error.status()), ("UNAUTHORIZED", Some(401)), "{error}");
    let text = error.to_string();
    assert!(text.contains("check the application id and secret") && text.contains(&env.app_id), "{text}");
    assert!(!text.contains("wrong-secret-value") && !text.contains(&env.app_secret), "{text}");
    assert_eq!(env.requests(HAS_DEVICE).await, 1, "a refusal is not retried");
}

#[tokio::test]
async fn an_unknown_application_is_unauthorized_naming_the_application_id() {
    let env = Env::start().await;
    let error = patient_client("NO-SUCH-APP", &env.app_secret, &env.emulator.base_url()).health().await.unwrap_err();
    assert_eq!((error.code(), error.status()), ("UNAUTHORIZED", Some(404)), "{error}");
    assert!(error.to_string().contains("does not know application \"NO-SUCH-APP\""), "{error}");
}

#[tokio::test]
async fn a_base_url_that_is_not_the_service_is_not_found_naming_the_base_url() {
    let env = Env::start().await;
    let elsewhere = format!("{}/not-the-service", env.emulator.base_url());
    let error = patient_client(&env.app_id, &env.app_secret, &elsewhere).health().await.unwrap_err();
    assert_eq!(error.code(), "NOT_FOUND", "{error}");
    assert!(error.to_string().contains("check the base URL") && error.to_string().contains(&elsewhere), "{error}");
}

#[tokio::test]
async fn a_service_that_is_down_is_transport_naming_the_origin_and_answers_at_once() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let started = Instant::now();
    let error = patient_client("APP", "secret", &origin).health().await.unwrap_err();
    assert_eq!(error.code(), "TRANSPORT", "{error}");
    assert!(error.to_string().contains(&format!("could not connect to {origin}")), "{error}");
    assert!(started.elapsed() < Duration::from_millis(500), "not retried: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_hung_service_times_out_at_the_budget() {
    let env = Env::start().await;
    env.fault(fault(HAS_DEVICE, json!({"delay_ms": 10_000, "count": 10}))).await;
    let client = patient_client(&env.app_id, &env.app_secret, &env.emulator.base_url());
    let started = Instant::now();
    let error = client.health_within(Duration::from_millis(500)).await.unwrap_err();
    let took = started.elapsed();
    assert_eq!(error.code(), "TIMEOUT", "{error}");
    assert!(error.to_string().contains(&format!("{} within 500 ms", env.emulator.base_url())), "{error}");
    assert!(took >= Duration::from_millis(450) && took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(env.requests(HAS_DEVICE).await, 1, "sent once");
}

#[tokio::test]
async fn a_hung_service_times_out_at_the_default_budget() {
    let env = Env::start().await;
    env.fault(fault(HAS_DEVICE, json!({"delay_ms": 10_000}))).await;
    let started = Instant::now();
    let error = patient_client(&env.app_id, &env.app_secret, &env.emulator.base_url()).health().await.unwrap_err();
    assert_eq!(error.code(), "TIMEOUT", "{error}");
    let took = started.elapsed();
    assert!(took >= DEFAULT_HEALTH_BUDGET - Duration::from_millis(50), "{took:?}");
    assert!(took < DEFAULT_HEALTH_BUDGET + Duration::from_secs(1), "{took:?}");
}

#[tokio::test]
async fn a_busy_service_is_reported_not_retried() {
    let env = Env::start().await;
    env.fault(fault(HAS_DEVICE, json!({"status": 503, "retry_after": "1", "count": 5}))).await;
    let error = env.client().health().await.unwrap_err();
    assert_eq!((error.code(), error.status()), ("HTTP", Some(503)), "{error}");
    assert!(error.is_transient());
    assert_eq!(env.requests(HAS_DEVICE).await, 1);
}

#[tokio::test]
async fn budgets_of_zero_or_beyond_a_year_are_refused_before_any_request() {
    let env = Env::start().await;
    for budget in [Duration::ZERO, MAX_DURATION + Duration::from_millis(1)] {
        let error = env.client().health_within(budget).await.unwrap_err();
        assert_eq!(error.code(), "INVALID_ARGUMENT", "{budget:?}: {error}");
    }
    assert_eq!(env.requests("/").await, 0, "nothing was sent");
}

#[tokio::test]
async fn an_answer_that_is_not_the_service_is_a_protocol_error() {
    let env = Env::start().await;
    env.fault(fault(HAS_DEVICE, json!({"malformed": true}))).await;
    let error = env.client().health().await.unwrap_err();
    assert_eq!(error.code(), "PROTOCOL", "{error}");
}
