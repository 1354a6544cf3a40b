//! The secret rotation recipe of docs/operations.md, against the emulator's one secret per
//! application: after the console rotates the secret, the old client is refused before the
//! service acts (no push), a second attempt with the next client succeeds, and sessions
//! started before the change keep working through either client.

mod common;

use common::Env;
use deviceauth::activeconnect::{AuthenticateOptions, Client, Session, Status};
use deviceauth::{Error, Result};
use reqwest::Method;
use serde_json::json;

const NEXT_SECRET: &str = "next-secret-value";

/// The recipe: the current client, then once the next one on a refused signature.
async fn authenticate(current: &Client, next: &Client, user: &str) -> Result<Session> {
    match current.authenticate_user(user, &AuthenticateOptions::default()).await {
        Err(Error::Unauthorized { .. }) => next.authenticate_user(user, &AuthenticateOptions::default()).await,
        other => other,
    }
}

async fn rotate(env: &Env) {
    let path = format!("/_emulator/apps/{}/secret", env.app_id);
    let (status, body) = env.control(Method::POST, &path, Some(json!({ "application_secret": NEXT_SECRET }))).await;
    assert_eq!(status, 200, "rotate: {body}");
}

#[tokio::test]
async fn two_clients_carry_sign_ins_across_a_rotation_without_a_second_push() {
    let env = Env::start().await;
    let current = env.client();
    let next = Client::builder(&env.app_id, NEXT_SECRET).base_url(env.emulator.base_url()).build().unwrap();
    let before = env.signed_in_attempt("alice").await;
    env.act(&before, "approve").await;

    // Before the change the next client is refused and the current one works.
    assert_eq!(next.health().await.unwrap_err().code(), "UNAUTHORIZED");
    authenticate(&current, &next, "alice").await.unwrap();
    assert_eq!(env.sessions().await.len(), 2);

    rotate(&env).await;
    let refused = current.authenticate_user("alice", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(refused.code(), "UNAUTHORIZED", "{refused}");
    assert_eq!(env.sessions().await.len(), 2, "a refused signature started nothing");
    assert_eq!(current.health().await.unwrap_err().code(), "UNAUTHORIZED");

    let session = authenticate(&current, &next, "alice").await.unwrap();
    assert_eq!(env.sessions().await.len(), 3, "exactly one push for the fallback sign-in");
    env.act(&session, "approve").await;
    assert_eq!(session.refresh().await.unwrap(), Status::Active);
    next.health().await.unwrap();

    // Sessions carry their own secret: the one started before the change goes on, through
    // either client.
    assert_eq!(before.refresh().await.unwrap(), Status::Active);
    assert_eq!(next.resume(before.data()).refresh().await.unwrap(), Status::Active);
    assert!(next.resume(before.data()).logout().await.unwrap());
}

#[tokio::test]
async fn rotating_an_unknown_application_or_to_an_empty_secret_is_refused() {
    let env = Env::start().await;
    let body = Some(json!({ "application_secret": "x" }));
    assert_eq!(env.control(Method::POST, "/_emulator/apps/NO-SUCH-APP/secret", body).await.0, 404);
    let path = format!("/_emulator/apps/{}/secret", env.app_id);
    assert_eq!(env.control(Method::POST, &path, Some(json!({ "application_secret": "" }))).await.0, 400);
    env.client().health().await.unwrap();
}
