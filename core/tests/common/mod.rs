//! Test harness: an emulator started in-process on an ephemeral port, clients pointed at
//! it, and a small client for the emulator's control API.
#![allow(dead_code)]

use std::time::Duration;

use deviceauth::RetryPolicy;
use deviceauth::activeconnect::{AuthenticateOptions, Client, Session};
use deviceauth_emulator::{Approval, Emulator, EmulatorConfig, StatusShape};
use serde_json::{Value, json};

/// A running emulator and its first application.
pub struct Env {
    pub emulator: Emulator,
    pub app_id: String,
    pub app_secret: String,
    http: reqwest::Client,
}

/// A retry policy fast enough for tests.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        deadline: Duration::from_secs(10),
    }
}

impl Env {
    pub async fn start() -> Env {
        Env::with(EmulatorConfig::default()).await
    }

    pub async fn with_shape(shape: StatusShape) -> Env {
        Env::with(EmulatorConfig { status_shape: shape, ..EmulatorConfig::default() }).await
    }

    pub async fn approving_after(delay: Duration) -> Env {
        Env::with(EmulatorConfig { approval: Approval::ApproveAfter(delay), ..EmulatorConfig::default() }).await
    }

    pub async fn with(config: EmulatorConfig) -> Env {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let emulator = Emulator::start(config).await.expect("emulator starts");
        let (app_id, app_secret) = emulator.apps().into_iter().next().expect("a demo app");
        Env { emulator, app_id, app_secret, http: reqwest::Client::new() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.base_url())
    }

    pub fn client(&self) -> Client {
        Client::builder(&self.app_id, self.app_secret.as_str())
            .base_url(self.emulator.base_url())
            .retry_policy(fast_retries())
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client builds")
    }

    pub fn pi(&self) -> deviceauth::projectinsight::Client {
        deviceauth::projectinsight::Client::builder(self.url("/api"))
            .retry_policy(fast_retries())
            .timeout(Duration::from_secs(2))
            .build()
            .expect("pi client builds")
    }

    /// A user with a registered phone and a started sign-in.
    pub async fn signed_in_attempt(&self, user: &str) -> Session {
        let client = self.client();
        client.add_users(&[user]).await.expect("add user");
        self.register_device(user).await;
        client.authenticate_user(user, &AuthenticateOptions::default()).await.expect("sign-in starts")
    }

    /// `count` users (`user-0`, ...) signed in and approved: their sessions, `active`.
    pub async fn active_sessions(&self, count: usize) -> Vec<Session> {
        let mut sessions = Vec::new();
        for i in 0..count {
            let session = self.signed_in_attempt(&format!("user-{i}")).await;
            self.act(&session, "approve").await;
            assert_eq!(session.refresh().await.expect("refresh"), deviceauth::activeconnect::Status::Active);
            sessions.push(session);
        }
        sessions
    }

    pub async fn control(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("control API answers");
        let status = response.status().as_u16();
        let text = response.text().await.expect("control body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn register_device(&self, user: &str) {
        let path = format!("/_emulator/apps/{}/users/{}/device", self.app_id, encode(user));
        let (status, body) = self.control(reqwest::Method::POST, &path, None).await;
        assert_eq!(status, 200, "register device: {body}");
    }

    pub async fn act(&self, session: &Session, action: &str) {
        let path = format!("/_emulator/sessions/{}/{action}", session.data().session_token);
        let (status, body) = self.control(reqwest::Method::POST, &path, None).await;
        assert_eq!(status, 200, "{action}: {body}");
    }

    pub async fn sessions(&self) -> Vec<Value> {
        let (_, body) =
            self.control(reqwest::Method::GET, &format!("/_emulator/apps/{}/sessions", self.app_id), None).await;
        body.as_array().cloned().expect("sessions array")
    }

    pub async fn fault(&self, fault: Value) {
        let (status, body) = self.control(reqwest::Method::POST, "/_emulator/faults", Some(fault)).await;
        assert_eq!(status, 201, "fault: {body}");
    }

    /// How many requests whose path starts with `prefix` reached the emulator.
    pub async fn requests(&self, prefix: &str) -> usize {
        let path = format!("/_emulator/requests?path={}", encode(prefix));
        let (_, body) = self.control(reqwest::Method::GET, &path, None).await;
        body.as_array().map(Vec::len).expect("request log array")
    }

    pub async fn activation_code(&self, id: &str) -> String {
        let (status, body) =
            self.control(reqwest::Method::GET, &format!("/_emulator/activations/{}", encode(id)), None).await;
        assert_eq!(status, 200, "activation code: {body}");
        body["code"].as_str().expect("code").to_owned()
    }

    pub async fn outbox(&self) -> Vec<Value> {
        let (_, body) = self.control(reqwest::Method::GET, &format!("/_emulator/apps/{}/sms", self.app_id), None).await;
        body.as_array().cloned().expect("sms outbox")
    }
}

pub fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn fault(path: &str, extra: Value) -> Value {
    let mut fault = json!({ "path": path });
    if let (Some(target), Value::Object(fields)) = (fault.as_object_mut(), extra) {
        target.extend(fields);
    }
    fault
}

/// A client that would retry for a long time, with a long request timeout: what a
/// budgeted call (`refresh_within`, `health`) must not inherit.
pub fn patient_client(app_id: &str, secret: &str, base_url: &str) -> Client {
    Client::builder(app_id, secret)
        .base_url(base_url)
        .retry_policy(RetryPolicy {
            max_attempts: 100,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(100),
            deadline: Duration::from_secs(60),
        })
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}
