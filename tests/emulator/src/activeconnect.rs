//! Activeconnect Management and Authentication API handlers.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::config::StatusShape;
use crate::random;
use crate::respond::{Reject, json, text};
use crate::session::{Session, Status};
use crate::state::{Shared, Sms};
use crate::verify::{Signer, verify_request};

type St = State<Arc<Shared>>;

/// Default session lifetime (`duration_seconds`).
const DEFAULT_DURATION_SECS: u64 = 3600;
/// Authentication methods the service knows.
const METHODS: [&str; 3] = ["acceptance", "device", "facial"];

fn app_not_found(app: &str) -> Response {
    text(StatusCode::NOT_FOUND, format!("Client Application {app} not found"))
}

fn user_not_found(user: &str) -> Response {
    text(StatusCode::NOT_FOUND, format!("User {user} not found"))
}

/// Looks up the application and verifies the request's application signature.
fn check_app(s: &Shared, app: &str, headers: &HeaderMap, uri: &Uri) -> Result<(), Reject> {
    let secret = s
        .app_secret(app)
        .ok_or_else(|| Reject::new(StatusCode::NOT_FOUND, format!("Client Application {app} not found")))?;
    verify_request(headers, uri, app, &secret, Signer::Application, &s.clock, &s.nonces)
}

/// Parses `{"users": [..]}`; the error is the response to send.
fn users_body(body: &Bytes) -> Result<Vec<String>, Reject> {
    #[derive(serde::Deserialize)]
    struct Users {
        users: Vec<String>,
    }
    serde_json::from_slice::<Users>(body).map(|u| u.users).map_err(|_| {
        Reject::new(StatusCode::BAD_REQUEST, "Invalid body: expected JSON {\"users\": [\"user id\", ...]}")
    })
}

fn refusal(reason: &str) -> Response {
    json(StatusCode::OK, json!({ "status": false, "reason": reason }))
}

fn query_pairs(query: &Option<String>) -> Vec<(String, String)> {
    query.as_deref().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default()
}

fn query_value(pairs: &[(String, String)], key: &str) -> Option<String> {
    pairs.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

/// `POST /management/add_users/{app}`
pub(crate) async fn add_users(
    State(s): St,
    Path(app): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(r) = check_app(&s, &app, &headers, &uri) {
        return r.into_response();
    }
    let users = match users_body(&body) {
        Ok(users) => users,
        Err(r) => return r.into_response(),
    };
    if users.is_empty() {
        return refusal("NO_USERS");
    }
    if users.iter().any(|u| u.is_empty()) {
        return refusal("INVALID_USER_ID");
    }
    let (mut created, mut existing) = (Vec::new(), Vec::new());
    {
        let mut dir = s.directory.lock();
        for user in users {
            if dir.add_user(&app, &user) {
                created.push(user);
            } else {
                existing.push(user);
            }
        }
    }
    json(StatusCode::CREATED, json!({ "status": true, "users": { "created": created, "existing": existing } }))
}

/// `POST /management/delete_users/{app}`: removes the users and closes their sessions.
pub(crate) async fn delete_users(
    State(s): St,
    Path(app): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(r) = check_app(&s, &app, &headers, &uri) {
        return r.into_response();
    }
    let users = match users_body(&body) {
        Ok(users) => users,
        Err(r) => return r.into_response(),
    };
    let removed: Vec<String> = {
        let mut dir = s.directory.lock();
        users.into_iter().filter(|u| dir.remove_user(&app, u)).collect()
    };
    let now = Instant::now();
    let mut sessions = s.sessions.lock();
    for session in sessions.values_mut().filter(|x| x.app == app && removed.contains(&x.user)) {
        session.advance(now, &s.policy);
        session.logout();
    }
    json(StatusCode::OK, json!({ "status": true }))
}

/// `GET /management/device_registration_link/{app}/{user}?display_name=...`
pub(crate) async fn device_registration_link(
    State(s): St,
    Path((app, user)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(r) = check_app(&s, &app, &headers, &uri) {
        return r.into_response();
    }
    let display_name = query_value(&query_pairs(&query), "display_name").filter(|d| !d.is_empty());
    let token = {
        let mut dir = s.directory.lock();
        let Some(u) = dir.apps.get_mut(&app).and_then(|a| a.users.get_mut(&user)) else {
            return user_not_found(&user);
        };
        if display_name.is_some() {
            u.display_name = display_name;
        }
        u.registration_token.clone()
    };
    json(StatusCode::OK, json!({ "status": true, "register_url": s.register_url(&token) }))
}

/// `GET /management/has_registered_mobile_device/{app}/{user}`
pub(crate) async fn has_registered_mobile_device(
    State(s): St,
    Path((app, user)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(r) = check_app(&s, &app, &headers, &uri) {
        return r.into_response();
    }
    let registered = {
        let dir = s.directory.lock();
        dir.apps.get(&app).and_then(|a| a.users.get(&user)).map(|u| u.device_registered)
    };
    match registered {
        Some(registered) => json(StatusCode::OK, json!({ "status": true, "device_registered": registered })),
        None => user_not_found(&user),
    }
}

/// `GET /management/lost_user_mobile_device/{app}/{user}`: disables the device, new link.
pub(crate) async fn lost_user_mobile_device(
    State(s): St,
    Path((app, user)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    if let Err(r) = check_app(&s, &app, &headers, &uri) {
        return r.into_response();
    }
    let token = s.directory.lock().reissue_registration(&app, &user);
    match token {
        Some(token) => json(StatusCode::OK, json!({ "status": true, "register_url": s.register_url(&token) })),
        None => user_not_found(&user),
    }
}

/// `+` then 6 to 15 digits.
fn valid_phone_number(n: &str) -> bool {
    n.strip_prefix('+').is_some_and(|d| (6..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// `POST /management/send_registration_sms/{app}/{user}`: records the SMS in the outbox.
pub(crate) async fn send_registration_sms(
    State(s): St,
    Path((app, user)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(r) = check_app(&s, &app, &headers, &uri) {
        return r.into_response();
    }
    #[derive(serde::Deserialize)]
    struct SmsBody {
        phone_number: Option<String>,
        display_name: Option<String>,
        message: Option<String>,
    }
    let Ok(req) = serde_json::from_slice::<SmsBody>(&body) else {
        return text(
            StatusCode::BAD_REQUEST,
            "Invalid body: expected JSON {\"phone_number\": \"+...\", \"display_name\"?: \"...\", \"message\"?: \"...\"}",
        );
    };
    let mut dir = s.directory.lock();
    let Some(a) = dir.apps.get_mut(&app) else {
        return app_not_found(&app);
    };
    let Some(u) = a.users.get(&user) else {
        return user_not_found(&user);
    };
    let Some(phone) = req.phone_number.filter(|p| valid_phone_number(p)) else {
        return refusal("INVALID_PHONE_NUMBER");
    };
    let register_url = s.register_url(&u.registration_token);
    let display_name = req.display_name.filter(|d| !d.is_empty());
    let message = match req.message.filter(|m| !m.is_empty()) {
        Some(m) => format!("{m} {register_url}"),
        None => format!("Register your phone to sign in: {register_url}"),
    };
    a.push_sms(Sms { user, phone_number: phone, display_name, message, register_url });
    json(StatusCode::OK, json!({ "status": true }))
}

/// Reads `methods` and `duration_seconds`; the error is a 400 message.
fn authenticate_options(query: &Option<String>) -> Result<Duration, String> {
    let pairs = query_pairs(query);
    if let Some(methods) = query_value(&pairs, "methods") {
        for m in methods.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            if !METHODS.contains(&m) {
                return Err(format!(
                    "Unknown authentication method '{m}': expected a comma-separated list of acceptance, device, facial"
                ));
            }
        }
    }
    let secs = match query_value(&pairs, "duration_seconds") {
        None => DEFAULT_DURATION_SECS,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => return Err("duration_seconds must be a positive integer".into()),
        },
    };
    Ok(Duration::from_secs(secs))
}

/// `POST /authentication/authenticate_user/{app}/{user}`
pub(crate) async fn authenticate_user(
    State(s): St,
    Path((app, user)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Response {
    if let Err(r) = check_app(&s, &app, &headers, &uri) {
        return r.into_response();
    }
    if !body.iter().all(u8::is_ascii_whitespace) && serde_json::from_slice::<Value>(&body).is_err() {
        return text(StatusCode::BAD_REQUEST, "Invalid body: expected a JSON object such as {}");
    }
    let duration = match authenticate_options(&query) {
        Ok(d) => d,
        Err(message) => return text(StatusCode::BAD_REQUEST, message),
    };
    let registered = {
        let dir = s.directory.lock();
        dir.apps.get(&app).and_then(|a| a.users.get(&user)).map(|u| u.device_registered)
    };
    match registered {
        None => return user_not_found(&user),
        Some(false) => {
            return json(
                StatusCode::OK,
                json!({ "authentication_status": {
                    "authenticated": false, "session_status": "failed", "reason": "NO_MOBILE_DEVICE" } }),
            );
        }
        Some(true) => {}
    }
    let token = random::hex(16);
    let secret = random::alnum(32);
    let session = Session {
        token: token.clone(),
        secret: secret.clone(),
        app,
        user,
        seq: s.next_seq(),
        status: Status::Pending,
        created: Instant::now(),
        created_at: s.clock.now(),
        activated_at: None,
        duration,
    };
    s.sessions.lock().insert(token.clone(), session);
    json(
        StatusCode::ACCEPTED,
        json!({ "authentication_status": {
            "authenticated": true,
            "session_status": "pending",
            "status_url": format!("{}/authentication/session_status/{token}", s.public_url),
            "logout_url": format!("{}/authentication/logout/{token}", s.public_url),
            "session_token": token,
            "session_secret": secret,
        } }),
    )
}

/// Looks up the session and verifies the request's session signature.
fn check_session(s: &Shared, token: &str, headers: &HeaderMap, uri: &Uri) -> Result<(), Reject> {
    let secret = s
        .sessions
        .lock()
        .get(token)
        .map(|x| x.secret.clone())
        .ok_or_else(|| Reject::new(StatusCode::NOT_FOUND, "Session not found"))?;
    verify_request(headers, uri, token, &secret, Signer::Session, &s.clock, &s.nonces)
}

/// `GET /authentication/session_status/{token}`
pub(crate) async fn session_status(State(s): St, Path(token): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = check_session(&s, &token, &headers, &uri) {
        return r.into_response();
    }
    let status = {
        let mut sessions = s.sessions.lock();
        let Some(session) = sessions.get_mut(&token) else {
            return text(StatusCode::NOT_FOUND, "Session not found");
        };
        session.advance(Instant::now(), &s.policy);
        session.status
    };
    let inner = json!({ "authenticated": status.is_authenticated(), "session_status": status.as_str() });
    match s.status_shape {
        StatusShape::Nested => json(StatusCode::OK, json!({ "authentication_status": inner })),
        StatusShape::Flat => json(StatusCode::OK, inner),
    }
}

/// `POST /authentication/logout/{token}`
pub(crate) async fn logout(State(s): St, Path(token): Path<String>, headers: HeaderMap, uri: Uri) -> Response {
    if let Err(r) = check_session(&s, &token, &headers, &uri) {
        return r.into_response();
    }
    let ended = {
        let mut sessions = s.sessions.lock();
        let Some(session) = sessions.get_mut(&token) else {
            return text(StatusCode::NOT_FOUND, "Session not found");
        };
        session.advance(Instant::now(), &s.policy);
        session.logout()
    };
    json(StatusCode::OK, json!({ "status": ended }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers() {
        for ok in ["+15550100", "+123456", "+123456789012345"] {
            assert!(valid_phone_number(ok), "{ok}");
        }
        for bad in ["15550100", "+12345", "+1234567890123456", "+1555 0100", "", "+", "+1555010a"] {
            assert!(!valid_phone_number(bad), "{bad}");
        }
    }

    #[test]
    fn options() {
        let q = |s: &str| Some(s.to_owned());
        assert_eq!(authenticate_options(&None), Ok(Duration::from_secs(3600)));
        assert_eq!(
            authenticate_options(&q("methods=acceptance%2Cfacial&duration_seconds=60")),
            Ok(Duration::from_secs(60))
        );
        assert_eq!(authenticate_options(&q("methods=acceptance,device")), Ok(Duration::from_secs(3600)));
        assert!(authenticate_options(&q("methods=voice")).is_err());
        assert!(authenticate_options(&q("duration_seconds=0")).is_err());
        assert!(authenticate_options(&q("duration_seconds=-5")).is_err());
        assert!(authenticate_options(&q("duration_seconds=abc")).is_err());
    }
}
