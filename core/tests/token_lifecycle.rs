//! A Project Insight token's life against the emulator: stored after activation, refused
//! once expired before anything is sent, replaced by a new activation, forgotten.

#![cfg(unix)]

mod common;

use std::time::Duration;

use common::Env;
use deviceauth::projectinsight::{DeviceInfo, TokenStore};
use deviceauth_emulator::EmulatorConfig;

const AGENT: &str = "deviceauth-tests/1.0";

fn store(name: &str) -> (TokenStore, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("deviceauth-lifecycle-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    (TokenStore::file(dir.join("tokens.json")), dir)
}

/// Activates `account` through the control API and stores the token.
async fn activate(env: &Env, store: &TokenStore, account: &str) -> deviceauth::projectinsight::StoredToken {
    let pi = env.pi();
    let pending = pi.create_device_activation(&DeviceInfo::new(AGENT)).await.unwrap();
    let code = env.activation_code(&pending.id).await;
    pi.complete_and_store(store, account, &pending.id, &code, AGENT, None).await.unwrap()
}

#[tokio::test]
async fn a_stored_token_lists_projects_and_knows_its_expiry() {
    let env = Env::start().await;
    let (store, dir) = store("valid");
    let stored = activate(&env, &store, "alice").await;
    assert_eq!(store.load(&env.url("/api"), "alice").unwrap().as_ref(), Some(&stored));
    let api = env.pi().stored_api_client(&store, "alice").unwrap();
    assert_eq!(api.expires_at(), Some(stored.expires_at));
    assert!(api.get("project/active").await.unwrap().as_array().is_some_and(|p| !p.is_empty()));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn an_expired_token_is_refused_before_sending() {
    let env = Env::with(EmulatorConfig { token_ttl: Some(Duration::from_secs(1)), ..EmulatorConfig::default() }).await;
    let (store, dir) = store("expired");
    let stored = activate(&env, &store, "alice").await;
    assert!(stored.expires_at - chrono::Utc::now() <= chrono::Duration::seconds(1), "the emulator's short token");
    env.control(reqwest::Method::DELETE, "/_emulator/requests", None).await;

    // Within the default 30 s skew: refused at once, by the stored client and a hand-made one.
    let error = env.pi().stored_api_client(&store, "alice").unwrap_err();
    assert_eq!(error.code(), "EXPIRED", "{error}");
    assert!(error.to_string().contains("run the device activation again"), "{error}");
    let api = env.pi().with_api_token_until(stored.api_token.clone(), stored.expires_at);
    assert_eq!(api.get("project/active").await.unwrap_err().code(), "EXPIRED");
    assert_eq!(api.post("project/active", &serde_json::json!({})).await.unwrap_err().code(), "EXPIRED");

    // With no skew it is sent while valid; once past its expiry, refused.
    let exact = api.clone().with_expiry_skew(Duration::ZERO);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let error = exact.get("project/active").await.unwrap_err();
    assert_eq!(error.code(), "EXPIRED");
    assert!(error.to_string().contains("expired at"), "{error}");
    assert_eq!(env.requests("/api/").await, 0, "nothing reached the service");

    // Without the client's check, the service itself refuses the token.
    let blind = env.pi().with_api_token(stored.api_token.clone());
    assert_eq!(blind.get("project/active").await.unwrap_err().code(), "UNAUTHORIZED");
    assert_eq!(env.requests("/api/project/active").await, 1);
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_new_activation_replaces_the_stored_token() {
    let env = Env::start().await;
    let (store, dir) = store("again");
    let first = activate(&env, &store, "alice").await;
    let other = activate(&env, &store, "bob").await;

    let pi = env.pi();
    let pending = pi.reactivate(&store, "alice").await.unwrap();
    let code = env.activation_code(&pending.id).await;
    let second =
        pi.complete_and_store(&store, "alice", &pending.id, &code, &first.client_agent, Some(30)).await.unwrap();
    assert_ne!(second.api_token, first.api_token);
    let now = store.load(&env.url("/api"), "alice").unwrap().unwrap();
    assert_eq!(now, second, "the new token replaced the old one");
    assert_eq!(store.load(&env.url("/api"), "bob").unwrap().unwrap(), other, "other accounts are untouched");
    assert!(pi.stored_api_client(&store, "alice").unwrap().get("project/active").await.is_ok());

    assert!(store.delete(&env.url("/api"), "alice").unwrap());
    let error = pi.stored_api_client(&store, "alice").unwrap_err();
    assert_eq!((error.code(), error.reason()), ("STORE", Some("NOT_STORED")), "{error}");
    assert_eq!(pi.reactivate(&store, "alice").await.unwrap_err().reason(), Some("NOT_STORED"));
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test]
async fn a_store_that_cannot_be_read_is_found_before_the_code_is_spent() {
    let env = Env::start().await;
    let (store, dir) = store("insecure");
    activate(&env, &store, "alice").await;
    std::fs::set_permissions(dir.join("tokens.json"), std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let pi = env.pi();
    let pending = pi.create_device_activation(&DeviceInfo::new(AGENT)).await.unwrap();
    let code = env.activation_code(&pending.id).await;
    let error = pi.complete_and_store(&store, "alice", &pending.id, &code, AGENT, None).await.unwrap_err();
    assert_eq!(error.reason(), Some("INSECURE"), "{error}");
    assert_eq!(env.requests("/api/device-activation/complete-request").await, 1, "only the first activation's");
    std::fs::remove_dir_all(dir).ok();
}
