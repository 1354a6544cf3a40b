//! The per-user limit on sign-in requests (push-bombing defence), counted in every store:
//! within the limit passes, over it is `RATE_LIMITED` with the time left and sends
//! nothing, users are counted apart, every handle on the store shares the count, and a
//! new window starts once the old one ends.

mod common;
mod store_support;

use std::time::Duration;

use common::Env;
use deviceauth::activeconnect::{AttemptLimit, AuthenticateOptions, Client};
use store_support::{Kind, fresh};

async fn counted_per_user_and_shared(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let other = f.reopen().await;
    let limit = AttemptLimit { attempts: 3, window: Duration::from_millis(1500) };
    for n in 0..3 {
        let store = if n % 2 == 0 { &f.store } else { &other };
        assert_eq!(store.attempt("alice", &limit).await.unwrap(), None, "attempt {n} is within the limit");
    }
    let wait = other.attempt("alice", &limit).await.unwrap().expect("the 4th is over the limit, on any handle");
    assert!(wait > Duration::ZERO && wait <= limit.window, "{wait:?}");
    assert_eq!(f.store.attempt("bob", &limit).await.unwrap(), None, "users are counted apart");
    tokio::time::sleep(wait + Duration::from_millis(50)).await;
    assert_eq!(f.store.attempt("alice", &limit).await.unwrap(), None, "a new window");
}

async fn authenticate_user_over_the_limit_sends_nothing(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let limit = AttemptLimit { attempts: 2, window: Duration::from_secs(60) };
    let plain = env.client();
    plain.add_users(&["carol"]).await.unwrap();
    env.register_device("carol").await;
    // Two processes' clients on one store: the count is shared.
    let build = || {
        Client::builder(plain.application_id(), env.app_secret.as_str())
            .base_url(env.url(""))
            .attempt_limit(&f.store, limit)
            .build()
            .unwrap()
    };
    let (a, b) = (build(), build());
    a.authenticate_user("carol", &AuthenticateOptions::default()).await.unwrap();
    b.authenticate_user("carol", &AuthenticateOptions::default()).await.unwrap();
    let before = env.requests("/authentication/authenticate_user/").await;
    let error = a.authenticate_user("carol", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(error.code(), "RATE_LIMITED", "{error}");
    let wait = error.retry_after().expect("a retry time");
    assert!(wait > Duration::from_secs(55) && wait <= Duration::from_secs(60), "{wait:?}");
    assert!(error.to_string().contains("try again in"), "{error}");
    assert_eq!(env.requests("/authentication/authenticate_user/").await, before, "nothing was sent");
    let zero = AttemptLimit { attempts: 0, window: Duration::from_secs(1) };
    let refused = Client::builder("app", "secret").attempt_limit(&f.store, zero).build().unwrap_err();
    assert_eq!(refused.code(), "INVALID_ARGUMENT");
}

/// `Client::with_attempt_limit` / `with_attempt_limit_at`: a copy of a built client with a
/// limit (what the bindings use); the original stays unlimited.
async fn a_copy_of_a_client_gets_the_limit(kind: Kind) {
    let Some(f) = fresh(kind).await else { return };
    let env = Env::start().await;
    let limit = AttemptLimit { attempts: 2, window: Duration::from_secs(60) };
    let plain = env.client();
    plain.add_users(&["dave"]).await.unwrap();
    env.register_device("dave").await;
    let a = plain.with_attempt_limit(&f.store, limit).unwrap();
    // Another handle, opened from the URL (memory is one process's own store: the same one).
    let b = match kind {
        Kind::Memory => plain.with_attempt_limit(&f.store, limit).unwrap(),
        _ => plain.with_attempt_limit_at(&f.url, Some(&store_support::KEY), limit).await.unwrap(),
    };
    assert_eq!((a.attempt_limit(), plain.attempt_limit()), (Some(limit), None));
    a.authenticate_user("dave", &AuthenticateOptions::default()).await.unwrap();
    b.authenticate_user("dave", &AuthenticateOptions::default()).await.unwrap();
    let sent = env.requests("/authentication/authenticate_user/").await;
    let error = b.authenticate_user("dave", &AuthenticateOptions::default()).await.unwrap_err();
    assert_eq!(error.code(), "RATE_LIMITED", "{error}");
    assert!(error.retry_after().is_some_and(|wait| wait > Duration::ZERO));
    assert_eq!(env.requests("/authentication/authenticate_user/").await, sent, "nothing was sent");
    plain.authenticate_user("dave", &AuthenticateOptions::default()).await.expect("the original has no limit");
    if kind != Kind::Memory {
        // No seal key: a random one (the count seals nothing); the count is still shared.
        let c = plain.with_attempt_limit_at(&f.url, None, limit).await.unwrap();
        assert_eq!(
            c.authenticate_user("dave", &AuthenticateOptions::default()).await.unwrap_err().code(),
            "RATE_LIMITED"
        );
    }
    let zero = AttemptLimit { attempts: 0, window: Duration::from_secs(1) };
    assert_eq!(plain.with_attempt_limit(&f.store, zero).unwrap_err().code(), "INVALID_ARGUMENT");
    let no_window = AttemptLimit { attempts: 1, window: Duration::ZERO };
    assert_eq!(plain.with_attempt_limit_at("memory", None, no_window).await.unwrap_err().code(), "INVALID_ARGUMENT");
    for bad in ["ftp://x", "not a url"] {
        let error = plain.with_attempt_limit_at(bad, None, limit).await.unwrap_err();
        assert_eq!(error.code(), "INVALID_ARGUMENT", "{bad}: {error}");
    }
    let short = plain.with_attempt_limit_at("memory", Some(&[1, 2, 3]), limit).await.unwrap_err();
    assert_eq!(short.code(), "INVALID_ARGUMENT", "{short}");
}

for_each_store!(
    counted_per_user_and_shared,
    authenticate_user_over_the_limit_sends_nothing,
    a_copy_of_a_client_gets_the_limit
);
