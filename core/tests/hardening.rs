//! The HTTPS policy and clock-skew learning.

mod common;

use common::Env;
use deviceauth::activeconnect::{AuthenticateOptions, Client};
use deviceauth::projectinsight::Client as PiClient;
use deviceauth_emulator::EmulatorConfig;

#[test]
fn plain_http_is_only_for_loopback_unless_allowed() {
    for base in [
        "http://127.0.0.1:8790",
        "http://127.9.9.9",
        "http://[::1]:8790",
        "http://localhost:8790",
        "https://example.com",
    ] {
        assert!(Client::builder("A", "s").base_url(base).build().is_ok(), "{base}");
        assert!(PiClient::new(&format!("{base}/api")).is_ok(), "{base}");
    }
    for base in ["http://example.com", "http://10.0.0.5", "http://localhost.example.com"] {
        let err = Client::builder("A", "s").base_url(base).build().unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{base}");
        assert!(err.to_string().contains("http://"), "{err}");
        assert_eq!(PiClient::new(&format!("{base}/api")).unwrap_err().code(), "INVALID_ARGUMENT");
        assert!(Client::builder("A", "s").base_url(base).allow_insecure_http(true).build().is_ok());
        assert!(PiClient::builder(format!("{base}/api")).allow_insecure_http(true).build().is_ok());
    }
}

#[tokio::test]
async fn a_server_cannot_downgrade_the_status_url() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("ann").await;
    let mut data = session.data();
    data.status_url = "http://attacker.example/status".parse().unwrap();
    let err = env.client().resume(data).refresh().await.unwrap_err();
    assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
}

async fn skewed(offset: i64) {
    let env = Env::with(EmulatorConfig { clock_offset: offset, ..EmulatorConfig::default() }).await;
    let client = env.client();
    client.add_user("skew").await.unwrap();
    assert_eq!(env.requests("/management/add_users/").await, 2, "refused once, then signed with the server's time");
    client.add_user("skew2").await.unwrap();
    assert_eq!(env.requests("/management/add_users/").await, 3, "the learned offset is kept");
    // A call that is never retried is still signed again after a timestamp refusal by a
    // fresh client: the service refused it without acting.
    env.register_device("skew").await;
    let fresh = env.client();
    let session = fresh.authenticate_user("skew", &AuthenticateOptions::default()).await.unwrap();
    assert_eq!(env.requests("/authentication/authenticate_user/").await, 2);
    assert_eq!(env.sessions().await.len(), 1, "one session, not two");
    // The session pair signs with the learned time too.
    session.refresh().await.unwrap();
}

#[tokio::test]
async fn a_server_clock_an_hour_ahead_is_learned() {
    skewed(3600).await;
}

#[tokio::test]
async fn a_server_clock_an_hour_behind_is_learned() {
    skewed(-3600).await;
}

#[tokio::test]
async fn a_wrong_secret_is_not_mistaken_for_skew() {
    let env = Env::start().await;
    let wrong = Client::builder(&env.app_id, "wrong").base_url(env.emulator.base_url()).build().unwrap();
    assert_eq!(wrong.add_user("x").await.unwrap_err().code(), "UNAUTHORIZED");
    assert_eq!(env.requests("/management/add_users/").await, 1, "no second try when the clocks agree");
}

const KEY: [u8; 32] = *b"0123456789abcdef0123456789abcdef";

#[tokio::test]
async fn a_sealed_session_resumes_and_hides_its_secret() {
    let env = Env::start().await;
    let session = env.signed_in_attempt("sealy").await;
    let sealed = session.seal(&KEY).unwrap();
    assert!(sealed.starts_with("das1.") && sealed.len() < 1200, "{} chars", sealed.len());
    assert!(sealed.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)), "cookie-safe");
    let secret = session.data().session_secret.expose_secret().to_owned();
    assert!(!sealed.contains(&secret) && !sealed.contains("sealy"));
    assert_ne!(session.seal(&KEY).unwrap(), sealed, "a fresh nonce every time");

    let resumed = env.client().unseal(&sealed, &KEY).unwrap();
    assert_eq!(resumed.data(), session.data());
    env.act(&resumed, "approve").await;
    assert!(resumed.refresh().await.unwrap().is_authenticated());
}

#[tokio::test]
async fn altered_truncated_or_foreign_seals_are_refused() {
    let env = Env::start().await;
    let client = env.client();
    let sealed = env.signed_in_attempt("tamper").await.seal(&KEY).unwrap();
    let refused = |text: &str, key: &[u8]| {
        let err = client.unseal(text, key).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
        err.to_string()
    };
    // Flip one character at many positions (the prefix, nonce, ciphertext and tag).
    for position in (0..sealed.len()).step_by(7) {
        let mut bytes = sealed.clone().into_bytes();
        bytes[position] = if bytes[position] == b'A' { b'B' } else { b'A' };
        refused(&String::from_utf8(bytes).unwrap(), &KEY);
    }
    for cut in [sealed.len() - 1, sealed.len() - 20, 40, 5, 0] {
        refused(&sealed[..cut], &KEY);
    }
    let message = refused(&sealed, b"another key, also 32 bytes long!");
    assert!(message.contains("another key"), "{message}");
    refused(&sealed, b"short");
    refused("das1.!!!not base64!!!", &KEY);
    refused(&format!("{sealed}{}", "A".repeat(20_000)), &KEY);
    let other_app = Client::builder("another-app", "s").base_url(env.emulator.base_url()).build().unwrap();
    assert_eq!(other_app.unseal(&sealed, &KEY).unwrap_err().code(), "INVALID_ARGUMENT");
}

/// An HTTPS server whose certificate no client trusts (self-signed).
async fn untrusted_https_server() -> u16 {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.signing_key.serialize_der().into());
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(stream).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn an_untrusted_certificate_is_reported_as_such_and_not_retried() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let port = untrusted_https_server().await;
    let client = Client::builder("A", "s")
        .base_url(format!("https://localhost:{port}"))
        .retry_policy(common::fast_retries())
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = client.has_registered_mobile_device("u").await.unwrap_err();
    assert_eq!(err.code(), "TRANSPORT");
    let text = err.to_string();
    assert!(text.contains("TLS certificate refused") && text.contains("certificate"), "{text}");
    assert!(started.elapsed() < std::time::Duration::from_millis(500), "not retried: {:?}", started.elapsed());
}
