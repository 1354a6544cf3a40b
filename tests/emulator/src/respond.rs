//! Small helpers to build the emulator's responses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// A plain-text response (the way Activeconnect reports errors).
pub(crate) fn text(status: StatusCode, body: impl Into<String>) -> Response {
    (status, [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))], body.into())
        .into_response()
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (status, axum::Json(value)).into_response()
}

/// A JSON `{"error": "..."}` response (control API errors).
pub(crate) fn control_error(status: StatusCode, message: impl Into<String>) -> Response {
    json(status, serde_json::json!({ "error": message.into() }))
}

/// An HTML page.
pub(crate) fn html(status: StatusCode, page: String) -> Response {
    (status, axum::response::Html(page)).into_response()
}

/// A `303 See Other` redirect.
pub(crate) fn see_other(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(value) => (StatusCode::SEE_OTHER, [(header::LOCATION, value)]).into_response(),
        Err(_) => text(StatusCode::BAD_REQUEST, "Invalid redirect target"),
    }
}

/// A refused Activeconnect request: status and plain-text reason (small, unlike a `Response`).
#[derive(Debug)]
pub(crate) struct Reject {
    pub status: StatusCode,
    pub message: String,
}

impl Reject {
    /// A refusal with this status and text.
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> Reject {
        Reject { status, message: message.into() }
    }
}

impl IntoResponse for Reject {
    fn into_response(self) -> Response {
        text(self.status, self.message)
    }
}
