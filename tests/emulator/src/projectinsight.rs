//! Project Insight device activation (`/api/device-activation/...`) and `/api/project/active`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::clock::dotnet_utc;
use crate::random;
use crate::respond::json;
use crate::state::Shared;

type St = State<Arc<Shared>>;

/// Token lifetime when `timeoutMinutes` is omitted: one year.
const DEFAULT_TOKEN_MINUTES: u64 = 365 * 24 * 60;
/// Longest token lifetime accepted: 100 years.
const MAX_TOKEN_MINUTES: u64 = 100 * DEFAULT_TOKEN_MINUTES;
/// Longest accepted value of a client-declared field.
const MAX_FIELD_CHARS: usize = 1000;
/// The user the control API signs in as.
pub(crate) const CONTROL_USER: &str = "emulator-user";

/// One device activation request.
#[derive(Debug)]
pub(crate) struct Activation {
    pub client_agent: String,
    pub platform: Option<String>,
    pub device: Option<String>,
    pub host_name: Option<String>,
    pub code: String,
    pub expires_at: Instant,
    pub forced_expired: bool,
    /// Set once someone signed in on the activation page (the code is then shown).
    pub signed_in_user: Option<String>,
    pub used: bool,
}

/// Where an activation request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ActivationState {
    Open,
    Expired,
    Used,
}

impl Activation {
    /// Its state now.
    pub(crate) fn state(&self, now: Instant) -> ActivationState {
        if self.used {
            ActivationState::Used
        } else if self.forced_expired || now >= self.expires_at {
            ActivationState::Expired
        } else {
            ActivationState::Open
        }
    }
}

/// An issued API token.
#[derive(Debug)]
struct ApiToken {
    expires_at: Option<Instant>,
}

/// Activation requests and API tokens.
#[derive(Debug, Default)]
pub(crate) struct PiStore {
    pub activations: HashMap<String, Activation>,
    tokens: HashMap<String, ApiToken>,
}

impl PiStore {
    /// Signs `user` in on the activation page of `id`: returns the code to show, or
    /// why it cannot be shown (`None` when the request is unknown).
    pub(crate) fn sign_in(&mut self, id: &str, user: &str) -> Option<Result<String, ActivationState>> {
        let a = self.activations.get_mut(id)?;
        Some(match a.state(Instant::now()) {
            ActivationState::Open => {
                a.signed_in_user = Some(user.to_owned());
                Ok(a.code.clone())
            }
            other => Err(other),
        })
    }
}

/// A stable GUID for a user name.
fn user_guid(user: &str) -> String {
    let digest = Sha256::digest(user.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    random::guid_from(bytes)
}

fn pi_error(status: StatusCode, code: &str, message: &str) -> Response {
    json(status, json!({ "ErrorCode": code, "Message": message }))
}

/// Whether the `Accept` header allows `application/json` (absent means no: the real
/// ASP.NET API answers XML then).
pub(crate) fn accepts_json(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|range| {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = parts.any(|p| {
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("q") && v.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
            })
        });
        !refused && matches!(media.as_str(), "application/json" | "application/*" | "*/*")
    })
}

fn not_acceptable() -> Response {
    pi_error(
        StatusCode::NOT_ACCEPTABLE,
        "NOT_ACCEPTABLE",
        "This API answers in JSON only when asked to: send the header 'Accept: application/json'.",
    )
}

fn invalid_request(message: &str) -> Response {
    pi_error(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message)
}

/// A field of the request object, matched case-insensitively like ASP.NET model binding.
fn field(map: &Map<String, Value>, name: &str) -> Result<Option<String>, String> {
    match map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.chars().count() > MAX_FIELD_CHARS => {
            Err(format!("{name} is too long (at most {MAX_FIELD_CHARS} characters)."))
        }
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{name} must be a string.")),
    }
}

/// `POST /api/device-activation/create-request`
pub(crate) async fn create_request(State(s): St, headers: HeaderMap, body: Bytes) -> Response {
    if !accepts_json(&headers) {
        return not_acceptable();
    }
    let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(&body) else {
        return invalid_request("The request body must be a JSON object with at least ClientAgent.");
    };
    let fields = (|| {
        Ok::<_, String>((
            field(&map, "ClientAgent")?,
            field(&map, "ClientPlatform")?,
            field(&map, "ClientDevice")?,
            field(&map, "ClientIPAddress")?,
            field(&map, "ClientHostName")?,
        ))
    })();
    let (agent, platform, device, _ip, host_name) = match fields {
        Ok(f) => f,
        Err(message) => return invalid_request(&message),
    };
    let Some(client_agent) = agent else {
        return invalid_request("ClientAgent is required: the name of the program asking for access.");
    };
    let id = random::guid();
    let now = Instant::now();
    let expires_at = now.checked_add(s.activation_ttl).unwrap_or(now);
    let expires_utc = chrono::Duration::from_std(s.activation_ttl)
        .ok()
        .and_then(|d| s.clock.now().checked_add_signed(d))
        .unwrap_or_else(|| s.clock.now());
    s.pi.lock().activations.insert(
        id.clone(),
        Activation {
            client_agent,
            platform,
            device,
            host_name,
            code: random::digits(6),
            expires_at,
            forced_expired: false,
            signed_in_user: None,
            used: false,
        },
    );
    json(
        StatusCode::OK,
        json!({
            "DeviceActivationId": id,
            "DeviceActivationRequestUrl": format!("{}/_emulator/activate/{id}", s.public_url),
            "ExpirationDateTimeUTC": dotnet_utc(expires_utc),
        }),
    )
}

/// Query parameters with lower-cased names (ASP.NET binds them case-insensitively).
fn query_map(query: &Option<String>) -> HashMap<String, String> {
    query
        .as_deref()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.to_ascii_lowercase(), v.into_owned())).collect()
        })
        .unwrap_or_default()
}

fn token_minutes(value: Option<&String>) -> Result<u64, ()> {
    match value.map(|v| v.trim()) {
        None | Some("") => Ok(DEFAULT_TOKEN_MINUTES),
        Some(v) if v.eq_ignore_ascii_case("null") => Ok(DEFAULT_TOKEN_MINUTES),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=MAX_TOKEN_MINUTES).contains(&n) => Ok(n),
            _ => Err(()),
        },
    }
}

/// `GET /api/device-activation/complete-request?activationRequestId=&activationCode=&clientAgent=&timeoutMinutes=`
pub(crate) async fn complete_request(State(s): St, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    if !accepts_json(&headers) {
        return not_acceptable();
    }
    let params = query_map(&query);
    let get = |k: &str| params.get(k).filter(|v| !v.trim().is_empty());
    let (Some(id), Some(code), Some(agent)) = (get("activationrequestid"), get("activationcode"), get("clientagent"))
    else {
        return invalid_request("activationRequestId, activationCode and clientAgent are all required.");
    };
    let Ok(minutes) = token_minutes(params.get("timeoutminutes")) else {
        return invalid_request("timeoutMinutes must be a whole number of minutes greater than zero.");
    };
    let now = Instant::now();
    let user = {
        let mut pi = s.pi.lock();
        let Some(a) = pi.activations.get_mut(id.as_str()) else {
            return pi_error(
                StatusCode::NOT_FOUND,
                "UNKNOWN_REQUEST",
                "This device activation request does not exist. Start a new activation.",
            );
        };
        match a.state(now) {
            ActivationState::Used => {
                return pi_error(
                    StatusCode::CONFLICT,
                    "CODE_ALREADY_USED",
                    "This activation code has already been used. Start a new activation.",
                );
            }
            ActivationState::Expired => {
                return pi_error(
                    StatusCode::GONE,
                    "EXPIRED",
                    "This device activation request has expired. Start a new activation.",
                );
            }
            ActivationState::Open => {}
        }
        if a.client_agent != *agent {
            return pi_error(
                StatusCode::BAD_REQUEST,
                "CLIENT_AGENT_MISMATCH",
                "The program completing the activation is not the one that started it (the client agent differs).",
            );
        }
        let user = match &a.signed_in_user {
            Some(user) if code.trim() == a.code => user.clone(),
            _ => {
                return pi_error(
                    StatusCode::BAD_REQUEST,
                    "WRONG_CODE",
                    "The activation code is not correct. Type the code shown after signing in on the activation page.",
                );
            }
        };
        a.used = true;
        user
    };
    let lifetime = s.token_ttl.unwrap_or(Duration::from_secs(minutes.saturating_mul(60)));
    let api_token = random::alnum(40);
    let expires_utc: DateTime<Utc> = chrono::Duration::from_std(lifetime)
        .ok()
        .and_then(|d| s.clock.now().checked_add_signed(d))
        .unwrap_or_else(|| s.clock.now());
    s.pi.lock().tokens.insert(api_token.clone(), ApiToken { expires_at: now.checked_add(lifetime) });
    json(
        StatusCode::OK,
        json!({
            "ApiToken": api_token,
            "DeviceId": random::guid(),
            "UserId": user_guid(&user),
            "ApiTokenExpirationDateTimeUTC": dotnet_utc(expires_utc),
        }),
    )
}

/// `GET /api/project/active` with the `api-token` header or query parameter.
pub(crate) async fn project_active(State(s): St, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    if !accepts_json(&headers) {
        return not_acceptable();
    }
    let token = headers
        .get("api-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| query_map(&query).remove("api-token"));
    let valid = token.is_some_and(|t| {
        s.pi.lock().tokens.get(t.trim()).is_some_and(|tok| tok.expires_at.is_none_or(|at| Instant::now() < at))
    });
    if !valid {
        return pi_error(
            StatusCode::UNAUTHORIZED,
            "INVALID_API_TOKEN",
            "The API token is missing, not valid or expired. Activate this device again.",
        );
    }
    json(
        StatusCode::OK,
        json!([
            { "Id": "4f6b1c8e-2a1d-4c3b-9e5f-0a1b2c3d4e5f", "Name": "Website relaunch", "StartDateTimeUTC": "2026-01-05T08:00:00.0000000Z" },
            { "Id": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "Name": "Mobile app 2.0", "StartDateTimeUTC": "2026-03-02T08:00:00.0000000Z" },
            { "Id": "1d2e3f4a-5b6c-4d7e-8f9a-0b1c2d3e4f5a", "Name": "Data centre move", "StartDateTimeUTC": "2026-09-14T07:30:00.0000000Z" }
        ]),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(values: &[&str]) -> bool {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(header::ACCEPT, HeaderValue::from_str(v).expect("valid"));
        }
        accepts_json(&h)
    }

    #[test]
    fn accept_header() {
        assert!(!accept(&[]));
        assert!(accept(&["application/json"]));
        assert!(accept(&["Application/JSON; charset=utf-8"]));
        assert!(accept(&["text/html, */*;q=0.1"]));
        assert!(accept(&["application/*"]));
        assert!(accept(&["text/xml", "application/json"]));
        assert!(!accept(&["application/xml"]));
        assert!(!accept(&["text/json"]));
        assert!(!accept(&["application/json;q=0"]));
    }

    #[test]
    fn minutes() {
        assert_eq!(token_minutes(None), Ok(DEFAULT_TOKEN_MINUTES));
        assert_eq!(token_minutes(Some(&"null".into())), Ok(DEFAULT_TOKEN_MINUTES));
        assert_eq!(token_minutes(Some(&" ".into())), Ok(DEFAULT_TOKEN_MINUTES));
        assert_eq!(token_minutes(Some(&"30".into())), Ok(30));
        assert!(token_minutes(Some(&"0".into())).is_err());
        assert!(token_minutes(Some(&"-1".into())).is_err());
        assert!(token_minutes(Some(&"1.5".into())).is_err());
        assert!(token_minutes(Some(&"99999999999999".into())).is_err());
    }

    #[test]
    fn user_ids_are_stable_guids() {
        assert_eq!(user_guid("a"), user_guid("a"));
        assert_ne!(user_guid("a"), user_guid("b"));
        assert_eq!(user_guid("a").len(), 36);
    }
}
