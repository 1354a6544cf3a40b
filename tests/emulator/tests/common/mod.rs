//! Shared helpers for the integration tests: an independent request signer and
//! thin wrappers around reqwest.
#![allow(dead_code)]

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use reqwest::{Method, Response};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[allow(unused_imports)]
pub use deviceauth_emulator::{Approval, Emulator, EmulatorConfig, StatusShape};

/// Timestamp header names of the three client families (plus the corrected spelling).
pub const SONIKPASS_TS: &str = "X-Sonikpass-Authentication-Timestamp";

/// Signs like the official clients: returns the `Authentication` header value.
pub fn sign(client_id: &str, secret: &str, nonce: u64, url: &str, timestamp: i64) -> String {
    let nonce = nonce.to_string();
    let uri = url.split_once("://").map(|(_, rest)| rest).unwrap_or(url);
    let token = &Sha256::digest(format!("{nonce}{secret}").as_bytes())[..16];
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(token).expect("any key length");
    mac.update(format!("{nonce}{uri}{timestamp}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(&mac.finalize().into_bytes()[..16]);
    format!("hmac {client_id}:{nonce}:{sig}")
}

/// Unix seconds now.
pub fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

/// Percent-encodes one path segment.
pub fn seg(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A test client for one emulator and one application.
pub struct Harness {
    pub emulator: Emulator,
    pub http: reqwest::Client,
    pub base: String,
    pub app: String,
    pub secret: String,
}

/// Starts an emulator with the given config and an application `APP`/`s3cret`.
pub async fn start_with(mut config: EmulatorConfig) -> Harness {
    if config.apps.is_empty() {
        config.apps = vec![("APP".into(), "s3cret".into())];
    }
    let emulator = Emulator::start(config).await.expect("emulator starts");
    let (app, secret) = emulator.apps()[0].clone();
    Harness { base: emulator.base_url(), emulator, http: http_client(), app, secret }
}

/// A reqwest client that does not follow redirects (reqwest needs a TLS provider even for http).
pub fn http_client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).no_proxy().build().expect("client")
}

/// Starts a default (manual) emulator.
pub async fn start() -> Harness {
    start_with(EmulatorConfig::default()).await
}

impl Harness {
    /// Sends a request signed with `client_id`/`secret` (Sonikpass timestamp header).
    pub async fn signed_as(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        client_id: &str,
        secret: &str,
    ) -> Response {
        let ts = now();
        let auth = sign(client_id, secret, rand::random::<u64>(), url, ts);
        let mut req = self
            .http
            .request(method, url)
            .header("Authentication", auth)
            .header(SONIKPASS_TS, ts.to_string())
            .header("X-Sonikpass-Authentication-Version", "1");
        if let Some(body) = body {
            req = req.json(&body);
        }
        req.send().await.expect("request sent")
    }

    /// Sends an application-signed request to `path` (relative to the base URL).
    pub async fn signed(&self, method: Method, path: &str, body: Option<Value>) -> Response {
        let url = format!("{}{path}", self.base);
        self.signed_as(method, &url, body, &self.app, &self.secret).await
    }

    /// Application-signed GET, parsed as JSON, expecting `status`.
    pub async fn get_json(&self, path: &str) -> Value {
        let r = self.signed(Method::GET, path, None).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("json")
    }

    /// Unsigned request to the control API; returns status and parsed JSON.
    pub async fn control(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let r = req.send().await.expect("control request");
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Adds users through the management API.
    pub async fn add_users(&self, users: &[&str]) -> Value {
        let path = format!("/management/add_users/{}", self.app);
        let r = self.signed(Method::POST, &path, Some(serde_json::json!({ "users": users }))).await;
        assert_eq!(r.status(), 201);
        r.json().await.expect("json")
    }

    /// Registers a phone for the user through the control API.
    pub async fn register_device(&self, user: &str) {
        let path = format!("/_emulator/apps/{}/users/{}/device", self.app, seg(user));
        let (status, body) = self.control(Method::POST, &path, None).await;
        assert_eq!((status, body), (200, serde_json::json!({ "status": true })));
    }

    /// Adds a user with a registered phone.
    pub async fn ready_user(&self, user: &str) {
        self.add_users(&[user]).await;
        self.register_device(user).await;
    }

    /// Starts authentication; returns the HTTP status and the body.
    pub async fn authenticate(&self, user: &str, query: &str) -> (u16, Value) {
        let path = format!("/authentication/authenticate_user/{}/{}{query}", self.app, seg(user));
        let r = self.signed(Method::POST, &path, Some(serde_json::json!({}))).await;
        let status = r.status().as_u16();
        (status, r.json().await.expect("json"))
    }

    /// Starts an authentication that must succeed; returns (token, secret, status_url, logout_url).
    pub async fn session(&self, user: &str) -> Session {
        let (status, body) = self.authenticate(user, "").await;
        assert_eq!(status, 202, "{body}");
        let a = &body["authentication_status"];
        let field = |k: &str| a[k].as_str().expect("string field").to_owned();
        Session {
            token: field("session_token"),
            secret: field("session_secret"),
            status_url: field("status_url"),
            logout_url: field("logout_url"),
        }
    }

    /// Polls the session's status (session-signed); returns the raw JSON.
    pub async fn status_json(&self, s: &Session) -> Value {
        let r = self.signed_as(Method::GET, &s.status_url, None, &s.token, &s.secret).await;
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }

    /// Polls the session's status (nested shape) and returns `session_status`.
    pub async fn status(&self, s: &Session) -> String {
        let v = self.status_json(s).await;
        v["authentication_status"]["session_status"].as_str().expect("nested status").to_owned()
    }

    /// Applies a control action; returns status and body.
    pub async fn act(&self, token: &str, action: &str) -> (u16, Value) {
        self.control(Method::POST, &format!("/_emulator/sessions/{token}/{action}"), None).await
    }
}

/// The parts of a started session.
#[derive(Clone, Debug)]
pub struct Session {
    pub token: String,
    pub secret: String,
    pub status_url: String,
    pub logout_url: String,
}
