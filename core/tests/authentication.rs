//! Sign-in sessions end to end: start, wait, watch, logout, resume.

mod common;

use std::time::Duration;

use common::Env;
use deviceauth::activeconnect::{AuthenticateOptions, Method, SessionData, Status, StatusStream, WaitOptions};
use deviceauth_emulator::StatusShape;
use futures_util::StreamExt;

fn quick(deadline_ms: u64) -> WaitOptions {
    WaitOptions { interval: Duration::from_millis(50), deadline: Duration::from_millis(deadline_ms) }
}

#[tokio::test]
async fn user_without_a_phone_is_not_started() {
    let env = Env::start().await;
    let client = env.client();
    client.add_user("nophone").await.unwrap();
    let err = client.authenticate_user("nophone", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "NOT_STARTED");
    assert_eq!(err.reason(), Some("NO_MOBILE_DEVICE"));
    let err = client.authenticate_user("ghost", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND");
}

#[tokio::test]
async fn approve_on_the_phone_then_logout() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("alice").await;
    assert_eq!(session.status(), Status::Pending);
    assert!(session.refresh().await.unwrap().is_in_progress());

    env.act(&session, "approve").await;
    assert_eq!(session.wait(&quick(5_000)).await.unwrap(), Status::Active);
    assert_eq!(session.status(), Status::Active);

    assert!(session.logout().await.unwrap());
    assert_eq!(session.status(), Status::Closed);
    assert_eq!(env.sessions().await[0]["status"], "closed");
    assert!(!session.logout().await.unwrap(), "a closed session cannot be closed twice");
}

#[tokio::test]
async fn each_way_of_ending_is_reported() {
    let env = Env::start().await;
    for (action, expected) in [("deny", Status::Failed), ("cancel", Status::Cancelled), ("expire", Status::Timeout)] {
        let session = env.signed_in_attempt(&format!("user-{action}")).await;
        env.act(&session, action).await;
        let status = session.wait(&quick(5_000)).await.unwrap();
        assert_eq!(status, expected, "{action}");
        assert!(status.is_ended() && !status.is_authenticated());
    }
}

#[tokio::test]
async fn options_reach_the_service() {
    let env = Env::start().await;
    let client = env.client();
    client.add_user("carol").await.unwrap();
    env.register_device("carol").await;
    let options = AuthenticateOptions { methods: vec![Method::Acceptance, Method::Facial], duration_seconds: Some(1) };
    let session = client.authenticate_user("carol", &options).await.unwrap();
    env.act(&session, "approve").await;
    assert_eq!(session.refresh().await.unwrap(), Status::Active);
    // duration_seconds=1 closes the session a second after it became active.
    assert_eq!(session.wait(&quick(5_000)).await.unwrap(), Status::Active);
    let mut changes = session.watch(Duration::from_millis(100));
    let ended = tokio::time::timeout(Duration::from_secs(5), changes.next()).await.unwrap().unwrap().unwrap();
    assert_eq!(ended, Status::Closed);
}

#[tokio::test]
async fn approve_after_mode_signs_in_by_itself() {
    let env = Env::approving_after(Duration::from_millis(300)).await;
    let session = env.signed_in_attempt("dave").await;
    let status = session.wait(&quick(5_000)).await.unwrap();
    assert_eq!(status, Status::Active);
}

#[tokio::test]
async fn wait_gives_up_at_its_deadline() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("erin").await;
    let started = tokio::time::Instant::now();
    let err = session.wait(&quick(400)).await.unwrap_err();
    assert_eq!(err.code(), "TIMEOUT", "{err}");
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert!(session.status().is_in_progress());
}

#[tokio::test]
async fn dropping_wait_stops_the_polling() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("frank").await;
    let status_path = session.data().status_url.path().to_owned();
    let waited = tokio::time::timeout(Duration::from_millis(300), session.wait(&quick(60_000))).await;
    assert!(waited.is_err(), "the wait was cancelled");
    let polls = env.requests(&status_path).await;
    assert!(polls >= 2, "it polled while waiting ({polls})");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(env.requests(&status_path).await, polls, "no poll after cancellation");
}

async fn next(changes: &mut StatusStream) -> Option<deviceauth::Result<Status>> {
    tokio::time::timeout(Duration::from_secs(5), changes.next()).await.expect("a change in time")
}

#[tokio::test]
async fn watch_sees_walkaway_return_and_remote_logout() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("grace").await;
    env.act(&session, "approve").await;
    assert_eq!(session.wait(&quick(5_000)).await.unwrap(), Status::Active);

    let mut changes = session.watch(Duration::from_millis(50));
    env.act(&session, "walkaway").await;
    assert_eq!(next(&mut changes).await.unwrap().unwrap(), Status::Walkaway);
    env.act(&session, "return").await;
    assert_eq!(next(&mut changes).await.unwrap().unwrap(), Status::Active);
    env.act(&session, "remote-logout").await;
    assert_eq!(next(&mut changes).await.unwrap().unwrap(), Status::Closed);
    assert!(next(&mut changes).await.is_none(), "the stream ends with the session");
    assert!(next(&mut changes).await.is_none(), "and stays ended when polled again");
}

#[tokio::test]
async fn flat_status_shape_is_read_too() {
    let env = Env::with_shape(StatusShape::Flat).await;
    let session = env.signed_in_attempt("heidi").await;
    env.act(&session, "approve").await;
    assert_eq!(session.refresh().await.unwrap(), Status::Active);
}

#[tokio::test]
async fn session_data_round_trips_through_json() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("ivan").await;
    let stored = serde_json::to_string(&session.data()).unwrap();
    drop(session);

    let data: SessionData = serde_json::from_str(&stored).unwrap();
    assert_eq!(data.user, "ivan");
    let resumed = env.client().resume(data);
    assert_eq!(resumed.status(), Status::Pending);
    let token = resumed.data().session_token;
    let (code, _) = env.control(reqwest::Method::POST, &format!("/_emulator/sessions/{token}/approve"), None).await;
    assert_eq!(code, 200);
    assert_eq!(resumed.refresh().await.unwrap(), Status::Active);
    assert!(resumed.logout().await.unwrap());
}

#[tokio::test]
async fn an_ended_session_is_not_polled_again() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("judy").await;
    env.act(&session, "deny").await;
    assert_eq!(session.refresh().await.unwrap(), Status::Failed);
    let path = session.data().status_url.path().to_owned();
    let polls = env.requests(&path).await;
    assert_eq!(session.refresh().await.unwrap(), Status::Failed);
    assert_eq!(session.wait(&quick(1_000)).await.unwrap(), Status::Failed);
    assert_eq!(env.requests(&path).await, polls);
}

#[tokio::test]
async fn many_sign_ins_run_concurrently() {
    let env = Env::start().await;
    let client = env.client();
    let users: Vec<String> = (0..200).map(|i| format!("user-{i}")).collect();
    client.add_users(&users).await.unwrap();
    for user in &users {
        env.register_device(user).await;
    }
    let options = AuthenticateOptions::default();
    let sessions =
        futures_util::future::try_join_all(users.iter().map(|u| client.authenticate_user(u, &options))).await.unwrap();
    for session in &sessions {
        env.act(session, "approve").await;
    }
    let wait = quick(10_000);
    let statuses = futures_util::future::try_join_all(sessions.iter().map(|s| s.wait(&wait))).await.unwrap();
    assert!(statuses.iter().all(|s| *s == Status::Active));
}

#[tokio::test]
async fn concurrent_refreshes_of_one_session_share_one_request() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("kim").await;
    env.act(&session, "approve").await;
    let path = session.data().status_url.path().to_owned();
    // Slow the next answer so that every refresh below starts while the first is in flight.
    env.fault(common::fault(&path, serde_json::json!({"delay_ms": 300, "count": 1}))).await;
    let client = env.client();
    let resumed: Vec<_> = (0..10).map(|_| client.resume(session.data())).collect();
    let statuses = futures_util::future::try_join_all(resumed.iter().map(|s| s.refresh())).await.unwrap();
    assert!(statuses.iter().all(|s| *s == Status::Active));
    assert!(resumed.iter().all(|s| s.status() == Status::Active), "every session saw the shared answer");
    assert_eq!(env.requests(&path).await, 1);

    // Once it has finished, the next refresh polls again.
    resumed[0].refresh().await.unwrap();
    assert_eq!(env.requests(&path).await, 2);
}
