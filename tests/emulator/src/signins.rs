//! Control API for test fixtures that play the phone from what an app shows: the sign-in
//! requests waiting on a phone, registering from a registration link, and setting a
//! session's status by name.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;
use tokio::time::Instant;

use crate::respond::{control_error, json};
use crate::session::{Action, Status};
use crate::state::Shared;

type St = State<Arc<Shared>>;

/// The value of `key` in a raw query string.
fn query_param(query: Option<&str>, key: &str) -> Option<String> {
    url::form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// `GET /_emulator/apps/{app}/sign-ins?pending=true&user=U`: sign-in requests, newest first
/// (the order the phone page shows them: most recently created on top), each
/// `{"session_token", "user", "status", "created_at"}` (RFC 3339 UTC, emulator clock).
/// `pending=true` keeps those waiting on a phone (`pending`, `identifying`).
pub(crate) async fn list_sign_ins(State(s): St, Path(app): Path<String>, RawQuery(query): RawQuery) -> Response {
    if s.app_secret(&app).is_none() {
        return control_error(StatusCode::NOT_FOUND, format!("application {app} not found"));
    }
    let pending_only = match query_param(query.as_deref(), "pending").as_deref() {
        None | Some("false" | "0" | "") => false,
        Some("true" | "1") => true,
        Some(_) => return control_error(StatusCode::BAD_REQUEST, "pending must be true or false"),
    };
    let user = query_param(query.as_deref(), "user");
    let now = Instant::now();
    let mut rows: Vec<(u64, serde_json::Value)> = {
        let mut sessions = s.sessions.lock();
        sessions
            .values_mut()
            .filter(|x| x.app == app && user.as_ref().is_none_or(|u| *u == x.user))
            .filter_map(|x| {
                x.advance(now, &s.policy);
                if pending_only && !x.status.is_in_progress() {
                    return None;
                }
                let created_at = x.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                Some((
                    x.seq,
                    json!({ "session_token": x.token, "user": x.user, "status": x.status.as_str(), "created_at": created_at }),
                ))
            })
            .collect()
    };
    rows.sort_by_key(|(seq, _)| std::cmp::Reverse(*seq));
    json(StatusCode::OK, json!(rows.into_iter().map(|(_, v)| v).collect::<Vec<_>>()))
}

/// Registers the phone of the registration link's user (the page's Register button);
/// `Some((app, user, was_registered_before))`, `None` for an unknown link.
pub(crate) fn register_phone(s: &Shared, reg: &str) -> Option<(String, String, bool)> {
    let mut dir = s.directory.lock();
    let (app, user) = dir.registrations.get(reg).cloned()?;
    let u = dir.apps.get_mut(&app)?.users.get_mut(&user)?;
    let before = u.device_registered;
    u.device_registered = true;
    Some((app, user, before))
}

/// The registration token in a registration link (full URL or path).
fn registration_token(link: &str) -> Option<String> {
    let path = match url::Url::parse(link) {
        Ok(url) => url.path().to_owned(),
        Err(_) => link.split(['?', '#']).next().unwrap_or_default().to_owned(),
    };
    let (_, rest) = path.split_once("/_emulator/phone/")?;
    let segment = rest.trim_end_matches('/');
    if segment.is_empty() || segment.contains('/') {
        return None;
    }
    Some(percent_encoding::percent_decode_str(segment).decode_utf8().ok()?.into_owned())
}

/// `POST /_emulator/register?link=URL` (or JSON body `{"link": URL}`): opens the
/// registration link's page and presses Register, as a person with the phone would.
/// 200 `{"status": true, "application_id", "user", "already_registered"}`; 404 unknown link.
pub(crate) async fn register_from_link(State(s): St, RawQuery(query): RawQuery, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Link {
        link: String,
    }
    let link = match query_param(query.as_deref(), "link") {
        Some(link) => link,
        None => match serde_json::from_slice::<Link>(&body) {
            Ok(body) => body.link,
            Err(_) => return control_error(StatusCode::BAD_REQUEST, "give the link as ?link=URL or {\"link\": URL}"),
        },
    };
    let Some(reg) = registration_token(&link) else {
        return control_error(StatusCode::BAD_REQUEST, "not a registration link (expected .../_emulator/phone/TOKEN)");
    };
    // Opening the page shows the Register button only while no phone is registered.
    let Some((app, user, before)) = register_phone(&s, &reg) else {
        return control_error(
            StatusCode::NOT_FOUND,
            "unknown registration link: the user was deleted or a newer link replaced it",
        );
    };
    // The button's form redirects back to the page, which then shows the requests.
    let _ = crate::pages::phone_view(&s, &reg);
    json(StatusCode::OK, json!({ "status": true, "application_id": app, "user": user, "already_registered": before }))
}

/// A status name (or an action name) accepted by `POST /_emulator/sessions/{token}/status`.
fn target(name: &str) -> Option<Status> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "pending" => Status::Pending,
        "identifying" => Status::Identifying,
        "active" | "approve" | "approved" | "return" => Status::Active,
        "walkaway" | "walk-away" | "walk_away" => Status::Walkaway,
        "closed" | "close" | "logout" | "remote-logout" | "remote_logout" => Status::Closed,
        "failed" | "deny" | "denied" => Status::Failed,
        "cancelled" | "canceled" | "cancel" => Status::Cancelled,
        "timeout" | "expire" | "expired" => Status::Timeout,
        _ => return None,
    })
}

/// One step towards a status: a phone action, or the phone showing the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Act(Action),
    Seen,
}

/// The steps that take a session from `from` to `to`, as the phone would; `None` if impossible.
fn steps(from: Status, to: Status) -> Option<Vec<Step>> {
    use Status::*;
    use Step::{Act, Seen};
    if from == to {
        return Some(Vec::new());
    }
    let waiting = from.is_in_progress();
    Some(match (from, to) {
        (Pending, Identifying) => vec![Seen],
        (_, Active) if waiting => vec![Act(Action::Approve)],
        (Walkaway, Active) => vec![Act(Action::Return)],
        (Active, Walkaway) => vec![Act(Action::Walkaway)],
        (_, Walkaway) if waiting => vec![Act(Action::Approve), Act(Action::Walkaway)],
        (Active | Walkaway, Closed) => vec![Act(Action::RemoteLogout)],
        (_, Failed) if waiting => vec![Act(Action::Deny)],
        (_, Cancelled) if waiting => vec![Act(Action::Cancel)],
        (_, Timeout) if waiting => vec![Act(Action::Expire)],
        _ => return None,
    })
}

/// `POST /_emulator/sessions/{token}/status` with `{"status": NAME}`: NAME is a status
/// (`identifying`, `active`, `walkaway`, `closed`, `failed`, `cancelled`, `timeout`) or an
/// action (`approve`, `deny`, `cancel`, `return`, `remote-logout`, `expire`). 200
/// `{"session_token", "status", "previous_status"}`; 409 when the phone cannot get there
/// from the current status; 404 unknown token; 400 unknown name.
pub(crate) async fn set_status(State(s): St, Path(token): Path<String>, body: Bytes) -> Response {
    #[derive(serde::Deserialize)]
    struct Wanted {
        status: String,
    }
    let Ok(wanted) = serde_json::from_slice::<Wanted>(&body) else {
        return control_error(StatusCode::BAD_REQUEST, "expected JSON {\"status\": \"active\"}");
    };
    let Some(to) = target(&wanted.status) else {
        return control_error(
            StatusCode::BAD_REQUEST,
            "unknown status: use identifying, active, walkaway, closed, failed, cancelled or timeout",
        );
    };
    let now = Instant::now();
    let mut sessions = s.sessions.lock();
    let Some(session) = sessions.get_mut(&token) else {
        return control_error(StatusCode::NOT_FOUND, "session not found");
    };
    session.advance(now, &s.policy);
    let from = session.status;
    let Some(plan) = steps(from, to) else {
        return control_error(
            StatusCode::CONFLICT,
            format!("cannot make a session that is {} {}", from.as_str(), to.as_str()),
        );
    };
    for step in plan {
        let applied = match step {
            Step::Seen => {
                session.seen_by_phone();
                Ok(session.status)
            }
            Step::Act(action) => session.apply(action, now),
        };
        if let Err(message) = applied {
            return control_error(StatusCode::CONFLICT, message);
        }
    }
    json(
        StatusCode::OK,
        json!({ "session_token": token, "status": session.status.as_str(), "previous_status": from.as_str() }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_names() {
        assert_eq!(registration_token("http://h:1/_emulator/phone/abc").as_deref(), Some("abc"));
        assert_eq!(registration_token("https://h/prefix/_emulator/phone/a%20b/?x=1").as_deref(), Some("a b"));
        assert_eq!(registration_token("/_emulator/phone/abc").as_deref(), Some("abc"));
        assert_eq!(registration_token("http://h/_emulator/phone/abc/state"), None);
        assert_eq!(registration_token("http://h/other"), None);
        assert_eq!(target("Approve"), Some(Status::Active));
        assert_eq!(target("nope"), None);
        assert_eq!(steps(Status::Pending, Status::Walkaway).map(|s| s.len()), Some(2));
        assert_eq!(steps(Status::Pending, Status::Closed), None);
        assert_eq!(steps(Status::Closed, Status::Closed), Some(Vec::new()));
        assert_eq!(steps(Status::Timeout, Status::Active), None);
    }
}
