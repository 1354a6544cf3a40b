//! The retry policy under each fault the emulator can inject: idempotent calls are
//! retried, calls that act on the service are not (unless the request never left).

mod common;

use std::time::Duration;

use common::{Env, fault};
use deviceauth::RetryPolicy;
use deviceauth::activeconnect::{AuthenticateOptions, Client};
use serde_json::json;

const HAS_DEVICE: &str = "/management/has_registered_mobile_device/";
const AUTHENTICATE: &str = "/authentication/authenticate_user/";

async fn env_with_user() -> (Env, Client) {
    let env = Env::start().await;
    let client = env.client();
    client.add_user("u").await.unwrap();
    env.register_device("u").await;
    (env, client)
}

#[tokio::test]
async fn idempotent_calls_retry_through_503s() {
    let (env, client) = env_with_user().await;
    env.fault(fault(HAS_DEVICE, json!({"status": 503, "count": 2}))).await;
    assert!(client.has_registered_mobile_device("u").await.unwrap());
    assert_eq!(env.requests(HAS_DEVICE).await, 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (env, client) = env_with_user().await;
    env.fault(fault(HAS_DEVICE, json!({"status": 429, "retry_after": "1", "count": 1}))).await;
    let started = std::time::Instant::now();
    assert!(client.has_registered_mobile_device("u").await.unwrap());
    assert!(started.elapsed() >= Duration::from_secs(1), "waited {:?}", started.elapsed());
    assert_eq!(env.requests(HAS_DEVICE).await, 2);
}

#[tokio::test]
async fn retries_stop_at_max_attempts_with_the_last_status() {
    let (env, client) = env_with_user().await;
    env.fault(fault(HAS_DEVICE, json!({"status": 502, "count": 10}))).await;
    let err = client.has_registered_mobile_device("u").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("HTTP", Some(502)));
    assert_eq!(env.requests(HAS_DEVICE).await, common::fast_retries().max_attempts as usize);
}

#[tokio::test]
async fn retries_stop_at_the_deadline() {
    let (env, _) = env_with_user().await;
    let client = Client::builder(&env.app_id, env.app_secret.as_str())
        .base_url(env.emulator.base_url())
        .retry_policy(RetryPolicy { max_attempts: 100, deadline: Duration::from_millis(700), ..common::fast_retries() })
        .build()
        .unwrap();
    env.fault(fault(HAS_DEVICE, json!({"status": 503, "retry_after": "5", "count": 10}))).await;
    let started = std::time::Instant::now();
    let err = client.has_registered_mobile_device("u").await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(started.elapsed() < Duration::from_secs(5), "a Retry-After past the deadline is not waited for");
    assert_eq!(env.requests(HAS_DEVICE).await, 1);
}

#[tokio::test]
async fn authenticate_user_is_never_retried_after_a_503() {
    let (env, client) = env_with_user().await;
    env.fault(fault(AUTHENTICATE, json!({"status": 503, "count": 1}))).await;
    let err = client.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("HTTP", Some(503)));
    assert_eq!(env.requests(AUTHENTICATE).await, 1);
    assert!(env.sessions().await.is_empty());
}

#[tokio::test]
async fn dropped_connections_retry_only_idempotent_calls() {
    let (env, client) = env_with_user().await;
    env.fault(fault(HAS_DEVICE, json!({"drop": true, "count": 1}))).await;
    assert!(client.has_registered_mobile_device("u").await.unwrap());
    assert_eq!(env.requests(HAS_DEVICE).await, 2);

    env.fault(fault(AUTHENTICATE, json!({"drop": true, "count": 1}))).await;
    let err = client.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "TRANSPORT", "{err}");
    assert_eq!(env.requests(AUTHENTICATE).await, 1);

    env.fault(fault("/management/send_registration_sms/", json!({"drop": true, "count": 1}))).await;
    let err = client.send_registration_sms("u", "+15550100", None, None).await.unwrap_err();
    assert_eq!(err.code(), "TRANSPORT");
    assert_eq!(env.requests("/management/send_registration_sms/").await, 1);
}

#[tokio::test]
async fn slow_answers_time_out_and_only_idempotent_calls_retry() {
    let (env, _) = env_with_user().await;
    let client = Client::builder(&env.app_id, env.app_secret.as_str())
        .base_url(env.emulator.base_url())
        .retry_policy(common::fast_retries())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    env.fault(fault(HAS_DEVICE, json!({"delay_ms": 1000, "count": 1}))).await;
    assert!(client.has_registered_mobile_device("u").await.unwrap());
    assert_eq!(env.requests(HAS_DEVICE).await, 2);

    env.fault(fault(AUTHENTICATE, json!({"delay_ms": 1000, "count": 1}))).await;
    let err = client.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "TIMEOUT", "{err}");
    assert_eq!(env.requests(AUTHENTICATE).await, 1);
}

#[tokio::test]
async fn malformed_bodies_are_protocol_errors_without_retry() {
    let (env, client) = env_with_user().await;
    env.fault(fault(HAS_DEVICE, json!({"malformed": true, "count": 1}))).await;
    let err = client.has_registered_mobile_device("u").await.unwrap_err();
    assert_eq!(err.code(), "PROTOCOL", "{err}");
    assert_eq!(env.requests(HAS_DEVICE).await, 1);
}

#[tokio::test]
async fn status_polls_ride_out_faults_during_wait() {
    let (env, client) = env_with_user().await;
    let session = client.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap();
    env.fault(fault("/authentication/session_status/", json!({"status": 503, "count": 3}))).await;
    env.act(&session, "approve").await;
    let options = deviceauth::activeconnect::WaitOptions {
        interval: Duration::from_millis(50),
        deadline: Duration::from_secs(10),
    };
    assert!(session.wait(&options).await.unwrap().is_authenticated());
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_authenticate_user() {
    // Bind and drop a listener so the port is (almost certainly) closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::builder("APP", "secret")
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(common::fast_retries())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.authenticate_user("u", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "TRANSPORT", "{err}");
    assert!(err.to_string().contains("connect"), "{err}");
    // Three backoffs of at least 10, 20 and 40 ms show that the request was sent again.
    assert!(started.elapsed() >= Duration::from_millis(70), "{:?}", started.elapsed());
}
