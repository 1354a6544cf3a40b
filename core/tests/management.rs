//! Every management call against the emulator, and arguments refused before sending.

mod common;

use common::Env;
use deviceauth::Error;
use deviceauth::activeconnect::Client;

const HOSTILE_IDS: &[&str] =
    &["a/b", "what?x=1", "hash#tag", "100%", "a+b", "with space", "Zoë 山田", "/leading", "trailing/", "%2F"];

#[tokio::test]
async fn users_are_added_reported_and_deleted() {
    let env = Env::start().await;
    let client = env.client();
    let added = client.add_users(&["u1", "u2"]).await.unwrap();
    assert_eq!(added.created, ["u1", "u2"]);
    assert!(added.existing.is_empty());

    let again = client.add_users(&["u2", "u3"]).await.unwrap();
    assert_eq!(again.created, ["u3"]);
    assert_eq!(again.existing, ["u2"]);
    assert_eq!(client.add_user("u1").await.unwrap().existing, ["u1"]);

    client.delete_users(&["u1"]).await.unwrap();
    let err = client.has_registered_mobile_device("u1").await.unwrap_err();
    assert_eq!(err.code(), "NOT_FOUND", "{err}");
    assert_eq!(err.status(), Some(404));
}

#[tokio::test]
async fn registration_links_devices_and_lost_phones() {
    let env = Env::start().await;
    let client = env.client();
    client.add_user("alice").await.unwrap();
    assert!(!client.has_registered_mobile_device("alice").await.unwrap());

    let link = client.device_registration_link("alice", Some("Alice @ Shop")).await.unwrap();
    assert!(link.starts_with(&env.emulator.base_url()), "{link}");
    assert_eq!(client.device_registration_link("alice", None).await.unwrap(), link, "stable until lost");

    env.register_device("alice").await;
    assert!(client.has_registered_mobile_device("alice").await.unwrap());

    let new_link = client.lost_user_mobile_device("alice").await.unwrap();
    assert_ne!(new_link, link);
    assert!(!client.has_registered_mobile_device("alice").await.unwrap());
}

#[tokio::test]
async fn registration_sms_reaches_the_outbox() {
    let env = Env::start().await;
    let client = env.client();
    client.add_user("bob").await.unwrap();
    client.send_registration_sms("bob", "+15550100", Some("Bob"), Some("Open this on your phone")).await.unwrap();
    let outbox = env.outbox().await;
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0]["phone_number"], "+15550100");
    assert_eq!(outbox[0]["user"], "bob");
    let text = outbox[0]["message"].as_str().unwrap();
    assert!(text.starts_with("Open this on your phone"), "{text}");
    let link = client.device_registration_link("bob", None).await.unwrap();
    assert_eq!(outbox[0]["register_url"], link.as_str());
}

#[tokio::test]
async fn hostile_user_ids_round_trip() {
    let env = Env::start().await;
    let client = env.client();
    let long = "x".repeat(1024);
    let mut ids: Vec<&str> = HOSTILE_IDS.to_vec();
    ids.push(&long);
    let added = client.add_users(&ids).await.unwrap();
    assert_eq!(added.created, ids);
    for id in &ids {
        assert!(!client.has_registered_mobile_device(id).await.unwrap(), "{id}");
        env.register_device(id).await;
        assert!(client.has_registered_mobile_device(id).await.unwrap(), "{id}");
        let session = client.authenticate_user(id, &Default::default()).await.unwrap();
        assert_eq!(session.user(), *id);
    }
    let users: Vec<String> = env.sessions().await.iter().map(|s| s["user"].as_str().unwrap().to_owned()).collect();
    for id in &ids {
        assert!(users.iter().any(|u| u == id), "{id} missing from {users:?}");
    }
}

#[tokio::test]
async fn invalid_arguments_fail_before_any_request() {
    let env = Env::start().await;
    let client = env.client();
    let too_long = "y".repeat(deviceauth::activeconnect::MAX_USER_ID_BYTES + 1);
    let empty: &[&str] = &[];
    let errors: Vec<Error> = vec![
        client.add_users(empty).await.unwrap_err(),
        client.add_users(&["ok", ""]).await.unwrap_err(),
        client.delete_users(&[".."]).await.unwrap_err(),
        client.has_registered_mobile_device("").await.unwrap_err(),
        client.has_registered_mobile_device(&too_long).await.unwrap_err(),
        client.device_registration_link("u", Some("  ")).await.unwrap_err(),
        client.lost_user_mobile_device(".").await.unwrap_err(),
        client.send_registration_sms("u", "5550100", None, None).await.unwrap_err(),
        client.send_registration_sms("u", "+15550100", None, Some("")).await.unwrap_err(),
        client.authenticate_user("", &Default::default()).await.unwrap_err(),
    ];
    for err in &errors {
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
    }
    assert_eq!(env.requests("/").await, 0, "no request may leave for invalid arguments");
}

#[tokio::test]
async fn unknown_application_and_bad_secret_are_told_apart() {
    let env = Env::start().await;
    let unknown = Client::builder("NO-SUCH-APP", "x").base_url(env.emulator.base_url()).build().unwrap();
    let err = unknown.add_user("u").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("NOT_FOUND", Some(404)));
    assert!(err.to_string().contains("NO-SUCH-APP"), "{err}");

    let wrong = Client::builder(&env.app_id, "wrong-secret").base_url(env.emulator.base_url()).build().unwrap();
    let err = wrong.add_user("u").await.unwrap_err();
    assert_eq!((err.code(), err.status()), ("UNAUTHORIZED", Some(401)));
    assert!(!err.to_string().contains("wrong-secret"));
    assert!(err.to_string().contains("check the application id and secret"), "{err}");
}

#[tokio::test]
async fn server_from_environment_variable() {
    let env = Env::start().await;
    // Only this test touches the variable, and builder() reads it synchronously.
    unsafe { std::env::set_var(deviceauth::activeconnect::SERVER_ENV, env.emulator.base_url()) };
    let client = Client::builder(&env.app_id, env.app_secret.as_str()).build().unwrap();
    unsafe { std::env::remove_var(deviceauth::activeconnect::SERVER_ENV) };
    assert_eq!(client.base_url().as_str(), format!("{}/", env.emulator.base_url()));
    client.add_user("from-env").await.unwrap();
    let explicit = Client::builder("A", "s").base_url("https://example.invalid").build().unwrap();
    assert_eq!(explicit.base_url().host_str(), Some("example.invalid"));
}
