//! Injected faults: make the next N matching requests fail in a chosen way.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A fault as posted to `POST /_emulator/faults`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FaultSpec {
    /// Path prefix to match (never matches `/_emulator/` paths).
    pub path: String,
    /// HTTP method to match; any when absent.
    #[serde(default)]
    pub method: Option<String>,
    /// How many matching requests it applies to (default 1).
    #[serde(default)]
    pub count: Option<u32>,
    /// Status to answer with.
    #[serde(default)]
    pub status: Option<u16>,
    /// Value of a `Retry-After` header on the answer.
    #[serde(default)]
    pub retry_after: Option<String>,
    /// Body of the answer.
    #[serde(default)]
    pub body: Option<String>,
    /// Extra headers of the answer (e.g. `Location` for a redirect); they replace
    /// headers of the same name.
    #[serde(default)]
    pub headers: Option<BTreeMap<String, String>>,
    /// Delay before answering (alone: then serve normally).
    #[serde(default)]
    pub delay_ms: Option<u64>,
    /// Close the connection without any response.
    #[serde(default)]
    pub drop: bool,
    /// Answer HTTP 200 (or `status`) with a body that is not JSON.
    #[serde(default)]
    pub malformed: bool,
}

/// An active fault, as listed by `GET /_emulator/faults`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Fault {
    pub id: String,
    pub path: String,
    pub method: Option<String>,
    pub remaining: u32,
    pub status: Option<u16>,
    pub retry_after: Option<String>,
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub headers: Option<BTreeMap<String, String>>,
    pub delay_ms: Option<u64>,
    pub drop: bool,
    pub malformed: bool,
}

/// What to do with a request hit by a fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Effect {
    pub delay_ms: Option<u64>,
    pub outcome: Outcome,
}

/// The part of a fault that replaces the normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Serve the request normally (a delay-only fault).
    Serve,
    /// Close the connection without a response.
    Drop,
    /// Answer with this instead.
    Respond { status: u16, retry_after: Option<String>, body: String, json_like: bool, headers: Vec<(String, String)> },
}

/// Body of a `malformed` answer: starts like JSON, is not JSON.
pub(crate) const MALFORMED_BODY: &str = "{\"authentication_status\": <html>502 Bad Gateway</html>";

impl Fault {
    /// Validates a posted spec into a fault with the given id.
    pub(crate) fn from_spec(id: String, spec: FaultSpec) -> Result<Fault, String> {
        if !spec.path.starts_with('/') {
            return Err("path must start with '/'".into());
        }
        if spec.path.starts_with("/_emulator") {
            return Err("faults never apply to /_emulator/ paths".into());
        }
        if let Some(status) = spec.status
            && !(100..=999).contains(&status)
        {
            return Err("status must be an HTTP status code (100-999)".into());
        }
        if let Some(ra) = &spec.retry_after
            && axum::http::HeaderValue::from_str(ra).is_err()
        {
            return Err("retry_after is not a valid header value".into());
        }
        for (name, value) in spec.headers.iter().flatten() {
            if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
                || axum::http::HeaderValue::from_str(value).is_err()
            {
                return Err(format!("headers: {name:?} is not a valid header"));
            }
        }
        let responds = spec.status.is_some() || spec.malformed || spec.body.is_some();
        if !(responds || spec.drop || spec.delay_ms.is_some()) {
            return Err("give at least one of status, body, malformed, drop or delay_ms".into());
        }
        if spec.drop && responds {
            return Err("drop cannot be combined with status, body or malformed".into());
        }
        if (spec.retry_after.is_some() || spec.headers.is_some()) && !responds {
            return Err("retry_after and headers need status (or body or malformed)".into());
        }
        let count = spec.count.unwrap_or(1);
        if count == 0 {
            return Err("count must be at least 1".into());
        }
        Ok(Fault {
            id,
            path: spec.path,
            method: spec.method.map(|m| m.to_ascii_uppercase()),
            remaining: count,
            status: spec.status,
            retry_after: spec.retry_after,
            body: spec.body,
            headers: spec.headers,
            delay_ms: spec.delay_ms,
            drop: spec.drop,
            malformed: spec.malformed,
        })
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        path.starts_with(&self.path) && self.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
    }

    fn effect(&self) -> Effect {
        let outcome = if self.drop {
            Outcome::Drop
        } else if self.status.is_some() || self.malformed || self.body.is_some() {
            let status = self.status.unwrap_or(if self.malformed { 200 } else { 500 });
            let body = match (&self.body, self.malformed) {
                (Some(body), _) => body.clone(),
                (None, true) => MALFORMED_BODY.to_owned(),
                (None, false) => format!("Emulated fault: HTTP {status}"),
            };
            let headers = self.headers.iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
            Outcome::Respond { status, retry_after: self.retry_after.clone(), body, json_like: self.malformed, headers }
        } else {
            Outcome::Serve
        };
        Effect { delay_ms: self.delay_ms, outcome }
    }
}

/// The active faults, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    list: Vec<Fault>,
    next_id: u64,
}

impl Faults {
    /// Adds a fault; returns its id.
    pub(crate) fn add(&mut self, spec: FaultSpec) -> Result<String, String> {
        self.next_id += 1;
        let fault = Fault::from_spec(format!("fault-{}", self.next_id), spec)?;
        let id = fault.id.clone();
        self.list.push(fault);
        Ok(id)
    }

    /// Takes one use of the oldest fault matching the request.
    pub(crate) fn take(&mut self, method: &str, path: &str) -> Option<Effect> {
        if path.starts_with("/_emulator/") || path == "/_emulator" {
            return None;
        }
        let index = self.list.iter().position(|f| f.matches(method, path))?;
        let fault = &mut self.list[index];
        let effect = fault.effect();
        fault.remaining = fault.remaining.saturating_sub(1);
        if fault.remaining == 0 {
            self.list.remove(index);
        }
        Some(effect)
    }

    /// The active faults.
    pub(crate) fn list(&self) -> Vec<Fault> {
        self.list.clone()
    }

    /// Removes every fault.
    pub(crate) fn clear(&mut self) {
        self.list.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> FaultSpec {
        serde_json::from_str(json).expect("valid spec")
    }

    #[test]
    fn count_and_matching() {
        let mut faults = Faults::default();
        faults.add(spec(r#"{"path": "/management/", "method": "get", "count": 2, "status": 503}"#)).expect("valid");
        assert_eq!(faults.take("POST", "/management/add_users/A"), None);
        assert_eq!(faults.take("GET", "/authentication/x"), None);
        let hit = faults.take("GET", "/management/has").expect("first");
        assert!(matches!(hit.outcome, Outcome::Respond { status: 503, .. }));
        assert_eq!(faults.list()[0].remaining, 1);
        assert!(faults.take("GET", "/management/has").is_some());
        assert!(faults.take("GET", "/management/has").is_none(), "used up");
        assert!(faults.list().is_empty());
    }

    #[test]
    fn kinds() {
        let mut faults = Faults::default();
        faults.add(spec(r#"{"path": "/a", "delay_ms": 10}"#)).expect("valid");
        assert_eq!(faults.take("GET", "/a"), Some(Effect { delay_ms: Some(10), outcome: Outcome::Serve }));
        faults.add(spec(r#"{"path": "/a", "drop": true}"#)).expect("valid");
        assert_eq!(faults.take("GET", "/a").map(|e| e.outcome), Some(Outcome::Drop));
        faults.add(spec(r#"{"path": "/a", "malformed": true}"#)).expect("valid");
        match faults.take("GET", "/a").map(|e| e.outcome) {
            Some(Outcome::Respond { status: 200, body, .. }) => {
                assert!(serde_json::from_str::<serde_json::Value>(&body).is_err())
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn invalid_specs() {
        let mut faults = Faults::default();
        for bad in [
            r#"{"path": "/a"}"#,
            r#"{"path": "a", "status": 500}"#,
            r#"{"path": "/_emulator/x", "status": 500}"#,
            r#"{"path": "/a", "status": 5000}"#,
            r#"{"path": "/a", "drop": true, "status": 500}"#,
            r#"{"path": "/a", "status": 500, "count": 0}"#,
            r#"{"path": "/a", "retry_after": "1", "delay_ms": 5}"#,
            r#"{"path": "/a", "headers": {"Location": "/x"}, "delay_ms": 5}"#,
            r#"{"path": "/a", "status": 302, "headers": {"Bad Name": "x"}}"#,
            r#"{"path": "/a", "status": 302, "headers": {"Location": "a\nb"}}"#,
        ] {
            assert!(faults.add(spec(bad)).is_err(), "{bad}");
        }
        assert!(faults.list().is_empty());
        assert!(serde_json::from_str::<FaultSpec>(r#"{"path": "/a", "stauts": 1}"#).is_err());
    }
}
