//! The secret rotation recipe of docs/operations.md, against the emulator's one secret per
//! application: after the console rotates the secret, the old client is refused before the
//! service acts (no push), a second attempt with the next client succeeds, and sessions
//! started before the change keep working through either client; and the same done by the
//! client itself with `next_application_secret`.

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

/// A client built with the current secret and `next_application_secret`.
fn rotating_client(env: &Env) -> Client {
    Client::builder(&env.app_id, env.app_secret.as_str())
        .next_application_secret(NEXT_SECRET)
        .base_url(env.emulator.base_url())
        .build()
        .unwrap()
}

/// The statuses of the requests whose path starts with `prefix`, oldest first.
async fn statuses(env: &Env, prefix: &str) -> Vec<u64> {
    let path = format!("/_emulator/requests?path={}", common::encode(prefix));
    let (_, log) = env.control(Method::GET, &path, None).await;
    log.as_array().unwrap().iter().map(|entry| entry["status"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn next_application_secret_switches_once_the_service_takes_it() {
    let env = Env::start().await;
    let client = rotating_client(&env);
    let probe = format!("/management/has_registered_mobile_device/{}/", env.app_id);
    client.health().await.unwrap();
    assert_eq!(statuses(&env, &probe).await, [404], "the current secret is used first");

    rotate(&env).await;
    client.health().await.unwrap();
    client.health().await.unwrap();
    assert_eq!(statuses(&env, &probe).await, [404, 401, 404, 404], "refused once, then the next secret first");

    // Rolling the service back is followed the same way.
    let path = format!("/_emulator/apps/{}/secret", env.app_id);
    let body = Some(json!({ "application_secret": env.app_secret }));
    assert_eq!(env.control(Method::POST, &path, body).await.0, 200);
    client.health().await.unwrap();
    assert_eq!(statuses(&env, &probe).await, [404, 401, 404, 404, 401, 404]);
}

#[tokio::test]
async fn a_sign_in_refused_with_the_current_secret_pushes_once_with_the_next() {
    let env = Env::start().await;
    env.client().add_user("alice").await.unwrap();
    env.register_device("alice").await;
    rotate(&env).await;
    let session = rotating_client(&env).authenticate_user("alice", &AuthenticateOptions::default()).await.unwrap();
    let prefix = format!("/authentication/authenticate_user/{}/", env.app_id);
    assert_eq!(statuses(&env, &prefix).await, [401, 202]);
    assert_eq!(env.sessions().await.len(), 1, "one push");
    env.act(&session, "approve").await;
    assert_eq!(session.refresh().await.unwrap(), Status::Active);
}

#[tokio::test]
async fn both_secrets_refused_is_unauthorized_after_two_requests_showing_neither() {
    let env = Env::start().await;
    let client = Client::builder(&env.app_id, "wrong-current-value")
        .next_application_secret("wrong-next-value")
        .base_url(env.emulator.base_url())
        .build()
        .unwrap();
    let error = client.add_user("alice").await.unwrap_err();
    assert_eq!(error.code(), "UNAUTHORIZED", "{error}");
    let text = format!("{error} {error:?} {client:?}");
    assert!(!text.contains("wrong-current-value") && !text.contains("wrong-next-value"), "{text}");
    assert_eq!(statuses(&env, "/management/add_users/").await, [401, 401]);
}

#[tokio::test]
async fn an_empty_or_unchanged_next_secret_is_refused_at_build() {
    for next in ["", "  ", "same-secret"] {
        let error = Client::builder("APP", "same-secret").next_application_secret(next).build().unwrap_err();
        assert_eq!(error.code(), "INVALID_ARGUMENT", "{next:?}: {error}");
        assert!(error.to_string().contains("next_application_secret") && !error.to_string().contains("same-secret"));
    }
}
