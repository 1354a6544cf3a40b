//! `Session::refresh_within`: one status check inside a budget, whatever the retry policy:
//! a hanging or failing status endpoint is `TIMEOUT` once the budget has passed, the
//! session's status is unchanged, and the session works again afterwards.

mod common;

use std::time::{Duration, Instant};

use common::{Env, fault, patient_client};
use deviceauth::activeconnect::{DEFAULT_CHECK_BUDGET, Status};
use deviceauth::MAX_DURATION;
use serde_json::json;

const STATUS: &str = "/authentication/session_status/";

#[tokio::test]
async fn a_hanging_status_endpoint_times_out_at_the_budget() {
    let env = Env::start().await;
    let started = env.signed_in_attempt("u").await;
    let session = patient_client(&env.app_id, &env.app_secret, &env.emulator.base_url()).resume(started.data());
    env.act(&session, "approve").await;
    env.fault(fault(STATUS, json!({"delay_ms": 5000, "count": 5}))).await;
    let clock = Instant::now();
    let error = session.refresh_within(Duration::from_millis(500)).await.unwrap_err();
    let took = clock.elapsed();
    assert_eq!(error.code(), "TIMEOUT", "{error}");
    assert!(error.to_string().contains("no status within 500 ms"), "{error}");
    assert!(took >= Duration::from_millis(450) && took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(session.status(), Status::Pending, "a time-out leaves the status as it was");
    env.control(reqwest::Method::DELETE, "/_emulator/faults", None).await;
    assert_eq!(session.refresh_within(DEFAULT_CHECK_BUDGET).await.unwrap(), Status::Active, "works again");
}

#[tokio::test]
async fn retried_failures_stop_at_the_budget() {
    let env = Env::start().await;
    let started = env.signed_in_attempt("u").await;
    let session = patient_client(&env.app_id, &env.app_secret, &env.emulator.base_url()).resume(started.data());
    env.fault(fault(STATUS, json!({"status": 503, "retry_after": "1", "count": 1000}))).await;
    let clock = Instant::now();
    let error = session.refresh_within(Duration::from_millis(500)).await.unwrap_err();
    assert_eq!(error.code(), "TIMEOUT", "{error}");
    assert!(clock.elapsed() < Duration::from_millis(1500), "{:?}", clock.elapsed());
    assert_eq!(session.status(), Status::Pending);
}

#[tokio::test]
async fn a_quick_answer_is_returned_and_kept() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("u").await;
    env.act(&session, "approve").await;
    assert_eq!(session.refresh_within(Duration::from_millis(1500)).await.unwrap(), Status::Active);
    assert_eq!(session.status(), Status::Active);
}

#[tokio::test]
async fn budgets_of_zero_or_beyond_a_year_are_refused_before_any_request() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("u").await;
    let before = env.requests(STATUS).await;
    for budget in [Duration::ZERO, MAX_DURATION + Duration::from_millis(1)] {
        let error = session.refresh_within(budget).await.unwrap_err();
        assert_eq!(error.code(), "INVALID_ARGUMENT", "{budget:?}: {error}");
    }
    assert_eq!(env.requests(STATUS).await, before, "nothing was sent");
    assert_eq!(DEFAULT_CHECK_BUDGET, Duration::from_secs(2));
}
