//! The JSON control API under `/_emulator/` (never signed): the user's side, for tests.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use tokio::time::Instant;

use crate::faults::FaultSpec;
use crate::projectinsight::{ActivationState, CONTROL_USER};
use crate::respond::{control_error, json};
use crate::session::Action;
use crate::state::{AddApp, Shared, new_app_credentials};

type St = State<Arc<Shared>>;

/// `POST /_emulator/apps` with an optional `{"application_id", "application_secret"}`.
pub(crate) async fn create_app(State(s): St, body: Bytes) -> Response {
    #[derive(serde::Deserialize, Default)]
    struct NewApp {
        application_id: Option<String>,
        application_secret: Option<String>,
    }
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        NewApp::default()
    } else {
        match serde_json::from_slice::<NewApp>(&body) {
            Ok(req) => req,
            Err(_) => {
                return control_error(
                    StatusCode::BAD_REQUEST,
                    "expected JSON {\"application_id\"?: \"...\", \"application_secret\"?: \"...\"}",
                );
            }
        }
    };
    let (random_id, random_secret) = new_app_credentials();
    let id = req.application_id.unwrap_or(random_id);
    let secret = req.application_secret.unwrap_or(random_secret);
    if id.is_empty() || secret.is_empty() {
        return control_error(StatusCode::BAD_REQUEST, "application_id and application_secret must not be empty");
    }
    let status = match s.directory.lock().add_app(&id, &secret) {
        AddApp::Created => StatusCode::CREATED,
        AddApp::AlreadyThere => StatusCode::OK,
        AddApp::Conflict => {
            return control_error(
                StatusCode::CONFLICT,
                "an application with this id already exists with another secret",
            );
        }
    };
    json(status, json!({ "application_id": id, "application_secret": secret }))
}

/// `GET /_emulator/apps`: the application ids.
pub(crate) async fn list_apps(State(s): St) -> Response {
    let ids: Vec<String> = s.app_credentials().into_iter().map(|(id, _)| id).collect();
    json(StatusCode::OK, json!(ids))
}

fn unknown_app(app: &str) -> Response {
    control_error(StatusCode::NOT_FOUND, format!("application {app} not found"))
}

/// `GET /_emulator/apps/{app}/users`: users with their registration link.
pub(crate) async fn list_users(State(s): St, Path(app): Path<String>) -> Response {
    let dir = s.directory.lock();
    let Some(a) = dir.apps.get(&app) else {
        return unknown_app(&app);
    };
    let users: Vec<_> = a
        .users
        .iter()
        .map(|(id, u)| {
            json!({
                "user": id,
                "display_name": u.display_name,
                "device_registered": u.device_registered,
                "register_url": s.register_url(&u.registration_token),
            })
        })
        .collect();
    json(StatusCode::OK, json!(users))
}

/// `POST /_emulator/apps/{app}/users/{user}/device`: registers the user's phone.
pub(crate) async fn register_device(State(s): St, Path((app, user)): Path<(String, String)>) -> Response {
    let mut dir = s.directory.lock();
    let Some(a) = dir.apps.get_mut(&app) else {
        return unknown_app(&app);
    };
    let Some(u) = a.users.get_mut(&user) else {
        return control_error(StatusCode::NOT_FOUND, format!("user {user} not found"));
    };
    u.device_registered = true;
    json(StatusCode::OK, json!({ "status": true }))
}

/// `POST /_emulator/apps/{app}/secret` with `{"application_secret"}`: rotates the
/// application's secret, as the service's console does; the old one is refused from now on.
pub(crate) async fn rotate_secret(State(s): St, Path(app): Path<String>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct NewSecret {
        application_secret: String,
    }
    let Ok(NewSecret { application_secret }) = serde_json::from_slice::<NewSecret>(&body) else {
        return control_error(StatusCode::BAD_REQUEST, "expected JSON {\"application_secret\": \"...\"}");
    };
    if application_secret.is_empty() {
        return control_error(StatusCode::BAD_REQUEST, "application_secret must not be empty");
    }
    let mut dir = s.directory.lock();
    let Some(a) = dir.apps.get_mut(&app) else {
        return unknown_app(&app);
    };
    a.secret = application_secret;
    json(StatusCode::OK, json!({ "application_id": app }))
}

/// `GET /_emulator/apps/{app}/sessions`: `[{"session_token", "user", "status"}]`, oldest first.
pub(crate) async fn list_sessions(State(s): St, Path(app): Path<String>) -> Response {
    if s.app_secret(&app).is_none() {
        return unknown_app(&app);
    }
    let now = Instant::now();
    let mut rows: Vec<(u64, serde_json::Value)> = {
        let mut sessions = s.sessions.lock();
        sessions
            .values_mut()
            .filter(|x| x.app == app)
            .map(|x| {
                x.advance(now, &s.policy);
                (x.seq, json!({ "session_token": x.token, "user": x.user, "status": x.status.as_str() }))
            })
            .collect()
    };
    rows.sort_by_key(|(seq, _)| *seq);
    json(StatusCode::OK, json!(rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>()))
}

/// `GET /_emulator/apps/{app}/sms`: the registration SMS outbox.
pub(crate) async fn list_sms(State(s): St, Path(app): Path<String>) -> Response {
    let dir = s.directory.lock();
    match dir.apps.get(&app) {
        Some(a) => json(StatusCode::OK, json!(a.sms)),
        None => unknown_app(&app),
    }
}

/// Applies `action` to a session; shared by the control API and the phone page.
pub(crate) fn apply_action(s: &Shared, token: &str, action: Action) -> Result<&'static str, (StatusCode, String)> {
    let now = Instant::now();
    let mut sessions = s.sessions.lock();
    let session = sessions.get_mut(token).ok_or_else(|| (StatusCode::NOT_FOUND, "session not found".to_owned()))?;
    session.advance(now, &s.policy);
    session.apply(action, now).map(|st| st.as_str()).map_err(|message| (StatusCode::CONFLICT, message))
}

/// `POST /_emulator/sessions/{session_token}/{action}`
pub(crate) async fn session_action(State(s): St, Path((token, action)): Path<(String, String)>) -> Response {
    let Some(action) = Action::parse(&action) else {
        return control_error(
            StatusCode::BAD_REQUEST,
            "unknown action: use approve, deny, cancel, walkaway, return, remote-logout or expire",
        );
    };
    match apply_action(&s, &token, action) {
        Ok(status) => json(StatusCode::OK, json!({ "session_token": token, "status": status })),
        Err((code, message)) => control_error(code, message),
    }
}

/// `GET /_emulator/activations/{id}`: signs in as `emulator-user` and returns the code.
pub(crate) async fn activation_code(State(s): St, Path(id): Path<String>) -> Response {
    let result = s.pi.lock().sign_in(&id, CONTROL_USER);
    match result {
        None => control_error(StatusCode::NOT_FOUND, "activation request not found"),
        Some(Ok(code)) => json(StatusCode::OK, json!({ "code": code })),
        Some(Err(ActivationState::Expired)) => control_error(StatusCode::GONE, "activation request expired"),
        Some(Err(_)) => control_error(StatusCode::CONFLICT, "activation request already completed"),
    }
}

/// `POST /_emulator/activations/{id}/expire`
pub(crate) async fn expire_activation(State(s): St, Path(id): Path<String>) -> Response {
    let mut pi = s.pi.lock();
    match pi.activations.get_mut(&id) {
        Some(a) => {
            a.forced_expired = true;
            json(StatusCode::OK, json!({ "id": id, "expired": true }))
        }
        None => control_error(StatusCode::NOT_FOUND, "activation request not found"),
    }
}

/// `POST /_emulator/faults`
pub(crate) async fn add_fault(State(s): St, body: Bytes) -> Response {
    let spec: FaultSpec = match serde_json::from_slice(&body) {
        Ok(spec) => spec,
        Err(e) => return control_error(StatusCode::BAD_REQUEST, format!("invalid fault: {e}")),
    };
    let added = s.faults.lock().add(spec);
    match added {
        Ok(id) => json(StatusCode::CREATED, json!({ "id": id })),
        Err(message) => control_error(StatusCode::BAD_REQUEST, message),
    }
}

/// `GET /_emulator/faults`
pub(crate) async fn list_faults(State(s): St) -> Response {
    json(StatusCode::OK, json!(s.faults.lock().list()))
}

/// `DELETE /_emulator/faults`
pub(crate) async fn clear_faults(State(s): St) -> Response {
    s.faults.lock().clear();
    json(StatusCode::OK, json!({ "status": true }))
}

/// `GET /_emulator/requests?path=PREFIX`
pub(crate) async fn list_requests(State(s): St, RawQuery(query): RawQuery) -> Response {
    let prefix = query
        .as_deref()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "path"))
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    json(StatusCode::OK, json!(s.requests.lock().matching(&prefix)))
}

/// `DELETE /_emulator/requests`
pub(crate) async fn clear_requests(State(s): St) -> Response {
    s.requests.lock().clear();
    json(StatusCode::OK, json!({ "status": true }))
}

/// `GET /_emulator/stats`: requests served outside `/_emulator/` since start, uptime and
/// the number of sign-in sessions held (any status) and the TCP connections open now.
pub(crate) async fn stats(State(s): St) -> Response {
    let requests_total = s.requests_total.load(std::sync::atomic::Ordering::Relaxed);
    let uptime_seconds = s.started.elapsed().as_secs_f64();
    let sessions = s.sessions.lock().len();
    let connections = s.connections.load(std::sync::atomic::Ordering::Relaxed);
    json(
        StatusCode::OK,
        json!({
            "requests_total": requests_total,
            "uptime_seconds": uptime_seconds,
            "sessions": sessions,
            "connections": connections,
        }),
    )
}
