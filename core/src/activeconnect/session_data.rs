//! The stored form of a session, and its JSON text.

use serde::{Deserialize, Serialize};
use url::Url;

use super::Status;
use crate::{Error, Result, Secret};

/// Everything needed to resume a session later, e.g. in the next web request.
///
/// It serializes with the session secret in plain text: store it server side (a
/// database, a server-side session store), never in a cookie or a log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// The user id the session belongs to.
    pub user: String,
    /// Identifies the session; signs status and logout calls together with the secret.
    pub session_token: String,
    /// The session's signing secret.
    pub session_secret: Secret,
    /// Where the session's status is polled.
    pub status_url: Url,
    /// Where the session is ended.
    pub logout_url: Url,
    /// The last status seen.
    pub status: Status,
}

impl SessionData {
    /// Reads the JSON text made by [`SessionData::to_json`]. A problem is
    /// `INVALID_ARGUMENT` saying what is wrong (not JSON, a missing field, a wrong type)
    /// and where (line and column), never quoting the text: it holds a secret.
    pub fn from_json(text: &str) -> Result<SessionData> {
        let data: SessionData = serde_json::from_str(text).map_err(|e| Error::invalid(describe(&e)))?;
        for (field, value) in [("user", &data.user), ("session_token", &data.session_token)] {
            if value.is_empty() {
                return Err(Error::invalid(format!("session JSON: `{field}` is empty")));
            }
        }
        if data.session_secret.is_empty() {
            return Err(Error::invalid("session JSON: `session_secret` is empty"));
        }
        for (field, url) in [("status_url", &data.status_url), ("logout_url", &data.logout_url)] {
            if !matches!(url.scheme(), "http" | "https") {
                return Err(Error::invalid(format!("session JSON: `{field}` is not an http(s) URL")));
            }
        }
        Ok(data)
    }

    /// The session as JSON text (holding the session secret: store it server side).
    pub fn to_json(&self) -> String {
        // Strings, URLs and a status always serialize.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What is wrong with the text, from the parser's error, keeping only the parts that come
/// from the schema (field names, expected types) and the position.
fn describe(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", error.line(), error.column());
    match error.classify() {
        Category::Syntax => format!("session JSON is not valid JSON ({at})"),
        Category::Eof => format!("session JSON ends too early ({at})"),
        Category::Io => "session JSON could not be read".to_owned(),
        Category::Data => {
            let text = error.to_string();
            let text = text.split(" at line ").next().unwrap_or_default();
            if let Some(field) = text.strip_prefix("missing field ") {
                format!("session JSON has no {field} field")
            } else if let Some((_, expected)) = text.split_once(", expected ") {
                format!(
                    "session JSON has a value of the wrong type or form ({at}): expected {}",
                    crate::text::bounded(expected)
                )
            } else {
                format!("session JSON has a value of the wrong type or form ({at})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"user":"u","session_token":"t","session_secret":"hunter2-secret","status_url":"http://127.0.0.1/s","logout_url":"http://127.0.0.1/l","status":"active"}"#;

    #[test]
    fn round_trips() {
        let data = SessionData::from_json(GOOD).unwrap();
        assert_eq!(data.status, Status::Active);
        assert_eq!(SessionData::from_json(&data.to_json()).unwrap(), data);
    }

    #[test]
    fn errors_name_the_problem_and_never_quote_the_text() {
        let cases = [
            ("{", "ends too early"),
            ("nope hunter2-secret", "not valid JSON"),
            (r#"{"user":"u"}"#, "no `session_token` field"),
            (
                &GOOD
                    .replace(r#""user":"u""#, r#""user":"hunter2-secret-x""#)
                    .replace(r#""status":"active""#, r#""status":5"#),
                "wrong type",
            ),
            (&GOOD.replace("http://127.0.0.1/s", "hunter2-secret"), "wrong type or form (line 1, column 95)"),
            (&GOOD.replace(r#""t""#, r#""""#), "`session_token` is empty"),
            (&GOOD.replace("http://127.0.0.1/l", "ftp://x/hunter2-secret"), "not an http(s) URL"),
        ];
        for (text, says) in cases {
            let err = SessionData::from_json(text).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            let message = err.to_string();
            assert!(message.contains(says), "{text}: {message}");
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
}
