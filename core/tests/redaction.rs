//! No secret shows in Debug output or error text: application secret, session secret,
//! API token, activation code.

mod common;

use common::{Env, fault};
use deviceauth::activeconnect::Client;
use deviceauth::projectinsight::DeviceInfo;
use serde_json::json;

fn assert_clean(text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "secret {secret:?} leaked in: {text}");
    }
}

#[tokio::test]
async fn debug_and_errors_hold_no_secret() {
    let env = Env::start().await;
    let client = env.client();
    let session = env.signed_in_attempt("alice").await;
    let data = session.data();
    let session_secret = data.session_secret.expose_secret().to_owned();

    let pi = env.pi();
    let pending = pi.create_device_activation(&DeviceInfo::new("agent")).await.unwrap();
    let code = env.activation_code(&pending.id).await;
    let done = pi.complete_device_activation(&pending.id, &code, "agent", None).await.unwrap();
    let token = done.api_token.expose_secret().to_owned();
    let secrets = [env.app_secret.as_str(), session_secret.as_str(), token.as_str(), code.as_str()];

    let mut texts = vec![
        format!("{client:?}"),
        format!("{session:?}"),
        format!("{data:?}"),
        format!("{done:?}"),
        format!("{pending:?}"),
        format!("{pi:?}"),
        format!("{:?}", pi.with_api_token(done.api_token.clone())),
    ];

    // Errors from every layer: bad signature, faults, refusals, time-outs.
    let wrong = Client::builder(&env.app_id, "wrong").base_url(env.emulator.base_url()).build().unwrap();
    texts.push(format!("{:?} {}", wrong.add_user("x").await.unwrap_err(), wrong.add_user("x").await.unwrap_err()));
    let impatient = deviceauth::projectinsight::Client::builder(env.url("/api"))
        .retry_policy(deviceauth::RetryPolicy::never())
        .timeout(std::time::Duration::from_millis(200))
        .build()
        .unwrap();
    for extra in [json!({"drop": true}), json!({"delay_ms": 1000}), json!({"status": 503, "body": "busy"})] {
        env.fault(fault("/api/device-activation/complete-request", extra)).await;
        let err = impatient.complete_device_activation(&pending.id, &code, "agent", None).await.unwrap_err();
        texts.push(format!("{err:?} {err}"));
    }
    let err = pi.complete_device_activation("nope", &code, "agent", None).await.unwrap_err();
    texts.push(format!("{err:?} {err}"));
    let err = pi.complete_device_activation(&pending.id, &code, "agent", None).await.unwrap_err();
    assert_eq!(err.reason(), Some("CODE_ALREADY_USED"));
    texts.push(format!("{err:?} {err}"));
    // The monitor, its events (an unreachable session carries its error), sealing.
    let (monitor, events) = deviceauth::activeconnect::Monitor::start(
        &client,
        deviceauth::activeconnect::MonitorOptions {
            interval: std::time::Duration::from_millis(50),
            unreachable_after: std::time::Duration::from_millis(100),
            ..Default::default()
        },
    )
    .unwrap();
    let mut stale = session.data();
    stale.session_token = "no-such-session".into();
    monitor.add(stale);
    let event = tokio::time::timeout(std::time::Duration::from_secs(5), events.recv()).await.unwrap().unwrap();
    texts.push(format!("{monitor:?} {event:?} {events:?} {:?}", session.watch(std::time::Duration::from_secs(1))));
    let key = [9u8; 32];
    let sealed = session.seal(&key).unwrap();
    texts.push(format!("{:?}", client.unseal(&sealed, &[8u8; 32]).unwrap_err()));
    texts.push(format!("{:?}", client.unseal(&sealed[..sealed.len() - 2], &key).unwrap_err()));
    // The metrics, after every call above (traces: tests/telemetry.rs).
    texts.push(deviceauth::telemetry::metrics::snapshot_json());
    assert_eq!(texts.len(), 17);

    for text in &texts {
        assert_clean(text, &secrets);
    }
}

/// The token store and the expiry-aware client: Debug of every value, and every error a
/// stored token can meet (expired, insecure, corrupt, not stored).
#[cfg(unix)]
#[tokio::test]
async fn the_token_store_and_its_errors_hold_no_token() {
    use deviceauth::projectinsight::TokenStore;
    use std::os::unix::fs::PermissionsExt;

    let env = Env::start().await;
    let pi = env.pi();
    let dir = std::env::temp_dir().join(format!("deviceauth-redaction-store-{}", std::process::id()));
    let path = dir.join("tokens.json");
    let store = TokenStore::file(&path);
    let pending = pi.create_device_activation(&DeviceInfo::new("agent")).await.unwrap();
    let code = env.activation_code(&pending.id).await;
    let stored = pi.complete_and_store(&store, "alice", &pending.id, &code, "agent", None).await.unwrap();
    let token = stored.api_token.expose_secret().to_owned();
    let secrets = [token.as_str(), code.as_str()];
    assert!(std::fs::read_to_string(&path).unwrap().contains(&token), "the file holds the token");

    let api = pi.stored_api_client(&store, "alice").unwrap();
    let mut texts = vec![format!("{stored:?}"), format!("{store:?}"), format!("{api:?}")];
    let expired = pi.with_api_token_until(stored.api_token.clone(), chrono::Utc::now());
    let err = expired.get("project/active").await.unwrap_err();
    assert_eq!(err.code(), "EXPIRED");
    texts.push(format!("{err:?} {err}"));
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = store.load(&env.url("/api"), "alice").unwrap_err();
    assert_eq!(err.reason(), Some("INSECURE"));
    texts.push(format!("{err:?} {err}"));
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("\"api_token\"", "\"api_token\" 1")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let err = store.load(&env.url("/api"), "alice").unwrap_err();
    assert_eq!(err.reason(), Some("CORRUPT"));
    texts.push(format!("{err:?} {err}"));
    std::fs::remove_file(&path).unwrap();
    let err = pi.stored_api_client(&store, "alice").unwrap_err();
    texts.push(format!("{err:?} {err}"));

    for text in &texts {
        assert_clean(text, &secrets);
    }
    std::fs::remove_dir_all(&dir).ok();
}
