//! Property test: random status lines, `Retry-After`, `Date`, `Location` and
//! `Content-Length` headers and bodies from a raw server, through every kind of call.
//! Whatever comes back is a typed error or a value, never a panic, never a secret.

mod raw_server;

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use deviceauth::RetryPolicy;
use deviceauth::activeconnect::{AuthenticateOptions, Client, SessionData, Status};
use deviceauth::projectinsight::{Client as PiClient, DeviceInfo};
use proptest::prelude::*;
use raw_server::RawServer;

const SECRET: &str = "prop-Secret-5150";

struct World {
    runtime: tokio::runtime::Runtime,
    server: RawServer,
    answer: Arc<Mutex<Vec<u8>>>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let answer = Arc::new(Mutex::new(Vec::new()));
        let shared = answer.clone();
        let server = runtime.block_on(RawServer::start(move |_| shared.lock().unwrap().clone()));
        World { runtime, server, answer }
    })
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{1,30}",
        "-?[0-9]{1,5}(\\.[0-9]+)?",
        "(Mon|Fri), [0-9]{1,2} (Jan|Dec) [0-9]{1,6} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT",
        "(https?|ftp|javascript)://[a-z0-9.:\\[\\]@]{0,20}(/[ -~]{0,20})?",
        "[ -~]{0,40}",
        "\\PC{0,20}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "\\{\"(session_status|authenticated|status_url|Message|ApiTokenExpirationDateTimeUTC|ExpirationDateTimeUTC)\":(\"[ -~]{0,30}\"|true|1e999|null|\\[\\])\\}"
            .prop_map(String::into_bytes),
        Just(format!(r#"{{"message":"echo {SECRET} \u001b[1m\r\n"}}"#).into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn no_server_answer_panics_or_leaks(
        status in prop_oneof![Just(200u16), Just(204), Just(301), Just(302), Just(307), Just(400), Just(401), Just(404), Just(429), Just(500), Just(503), 100u16..1000],
        headers in proptest::collection::vec((prop_oneof![Just("Retry-After"), Just("Date"), Just("Location"), Just("Content-Length")], header_value()), 0..5),
        body in body(),
    ) {
        let world = world();
        let mut raw = format!("HTTP/1.1 {status} X\r\nConnection: close\r\n").into_bytes();
        for (name, value) in &headers {
            raw.extend_from_slice(format!("{name}: {}\r\n", value.replace(['\r', '\n'], "")).as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        raw.extend_from_slice(&body);
        *world.answer.lock().unwrap() = raw;
        let policy = RetryPolicy { max_attempts: 2, initial_backoff: Duration::from_millis(1), max_backoff: Duration::from_millis(5), deadline: Duration::from_secs(2) };
        let origin = world.server.origin();
        // Each result, and whether its request carried the secret (the activation create
        // request holds none, so it has nothing to scrub).
        let results: Vec<(Result<String, deviceauth::Error>, bool)> = world.runtime.block_on(async {
            let ac = Client::builder("APP", SECRET).base_url(&origin).retry_policy(policy).timeout(Duration::from_secs(1)).build().unwrap();
            let pi = PiClient::builder(format!("{origin}/api")).retry_policy(policy).timeout(Duration::from_secs(1)).build().unwrap();
            let data = SessionData {
                user: "u".into(), session_token: "t".into(), session_secret: SECRET.into(),
                status_url: format!("{origin}/s").parse().unwrap(), logout_url: format!("{origin}/l").parse().unwrap(),
                status: Status::Active,
            };
            let session = ac.resume(data);
            let api = pi.with_api_token(SECRET);
            vec![
                (ac.add_user("u").await.map(|v| format!("{v:?}")), true),
                (ac.authenticate_user("u", &AuthenticateOptions::default()).await.map(|s| s.user()), true),
                (session.refresh().await.map(|s| s.to_string()), true),
                (session.logout().await.map(|b| b.to_string()), true),
                (pi.create_device_activation(&DeviceInfo::new("cli/1")).await.map(|p| p.id), false),
                (pi.complete_device_activation("1", SECRET, "cli/1", None).await.map(|d| d.user_id), true),
                (api.get("x").await.map(|v| v.to_string()), true),
                (api.get_text("x").await, true),
            ]
        });
        for (result, carried_secret) in results {
            match result {
                Ok(text) => prop_assert!(text.len() <= deviceauth::MAX_RESPONSE_BYTES),
                Err(err) => {
                    let text = err.to_string();
                    prop_assert!(!carried_secret || !text.contains(SECRET), "{}", text);
                    prop_assert!(!text.contains(['\r', '\n', '\u{1b}']), "{:?}", text);
                    prop_assert!(err.code() != "INTERNAL", "{}", text);
                }
            }
        }
    }
}
