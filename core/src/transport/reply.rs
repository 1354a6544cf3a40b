//! A response read into memory, bounded in size, and the helpers that interpret it.

use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use super::MAX_RESPONSE_BYTES;
use crate::text::Scrub;
use crate::{Error, Result};

/// An HTTP response with its whole body, and the secrets of the request that got it
/// (scrubbed from any text of it quoted in an error).
#[derive(Debug)]
pub(crate) struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub scrub: Scrub,
}

impl Reply {
    /// Reads the body, refusing one larger than [`MAX_RESPONSE_BYTES`].
    pub async fn read(mut response: reqwest::Response, timeout: Duration, origin: &str, scrub: Scrub) -> Result<Self> {
        let status = response.status().as_u16();
        let headers = std::mem::take(response.headers_mut());
        if response.content_length().is_some_and(|n| n > MAX_RESPONSE_BYTES as u64) {
            return Err(too_large());
        }
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| super::classify(&e, timeout, origin))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Reply { status, headers, body: body.freeze(), scrub })
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// 429, 502, 503 and 504: the service asks to come back later.
    pub fn is_retryable_status(&self) -> bool {
        matches!(self.status, 429 | 502 | 503 | 504)
    }

    /// The delay the `Retry-After` header asks for, if any, at most
    /// [`crate::MAX_DURATION`].
    pub fn retry_after(&self) -> Option<Duration> {
        super::retry::retry_after(&self.headers, SystemTime::now())
    }

    /// The server's clock from the `Date` header, in Unix seconds.
    pub fn server_time(&self) -> Option<i64> {
        let value = self.headers.get(reqwest::header::DATE)?.to_str().ok()?;
        chrono::DateTime::parse_from_rfc2822(value.trim()).ok().map(|t| t.timestamp())
    }

    /// The body parsed as JSON. A parse error names the position, never the content.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            let kind = match e.classify() {
                serde_json::error::Category::Io => "unreadable",
                serde_json::error::Category::Syntax | serde_json::error::Category::Eof => "not valid JSON",
                serde_json::error::Category::Data => "JSON of an unexpected shape",
            };
            Error::protocol(format!(
                "{what}: HTTP {} body is {kind} (line {}, column {})",
                self.status,
                e.line(),
                e.column()
            ))
        })
    }

    /// What the service said, for an error: a JSON `Message`/`message`/`reason`/`error`
    /// field when the body has one, else the body text, shortened.
    pub fn message(&self) -> String {
        let text = String::from_utf8_lossy(&self.body[..self.body.len().min(64 * 1024)]);
        let from_json = serde_json::from_slice::<serde_json::Value>(&self.body).ok().and_then(|v| {
            ["Message", "message", "reason", "error", "ErrorMessage"]
                .iter()
                .find_map(|k| v.get(k).and_then(|m| m.as_str()).map(str::to_owned))
        });
        let message = from_json.unwrap_or_else(|| text.trim().to_owned());
        let message = if message.is_empty() {
            reqwest::StatusCode::from_u16(self.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("no message")
                .to_owned()
        } else {
            message
        };
        self.quote(&message)
    }

    /// Text the service sent (a reason, a status), scrubbed, escaped and bounded for an
    /// error message.
    pub fn quote(&self, text: &str) -> String {
        self.scrub.quote(text)
    }

    /// `ok` for a 2xx answer, else the code of [`Reply::status_error`]'s error.
    pub fn outcome_code(&self) -> &'static str {
        match self.status {
            _ if self.is_success() => "ok",
            401 | 403 => "UNAUTHORIZED",
            404 | 410 => "NOT_FOUND",
            _ => "HTTP",
        }
    }

    /// The error for a non-2xx status, by the generic HTTP meaning of the status.
    pub fn status_error(&self) -> Error {
        let (status, message) = (self.status, self.message());
        match status {
            401 | 403 => Error::Unauthorized { status, message },
            404 | 410 => Error::NotFound { status, message },
            _ => Error::Http { status, message },
        }
    }
}

fn too_large() -> Error {
    Error::protocol(format!("response body larger than {MAX_RESPONSE_BYTES} bytes"))
}
