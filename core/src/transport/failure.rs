//! What a failed request becomes: transport errors naming the origin they failed to
//! reach (never a path or query), redirects refused by status and target origin, and the
//! loopback rule of the HTTPS policy.

use std::error::Error as _;
use std::time::Duration;

use reqwest::header::LOCATION;
use url::Url;

use crate::Error;

/// A 3xx answer as an error naming the status and where it pointed (the origin only: a
/// path or query may carry anything).
pub(crate) fn redirect_error(request_url: &Url, response: &reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let target = match response.headers().get(LOCATION).map(|v| v.to_str().map(|t| request_url.join(t.trim()))) {
        None => "without a Location".to_owned(),
        Some(Ok(Ok(url))) if url.has_host() => format!("to {}", origin_text(&url)),
        Some(_) => "to an unreadable Location".to_owned(),
    };
    Error::Http {
        status,
        message: format!("the service answered with a redirect {target}; redirects are not followed"),
    }
}

/// `scheme://host:port` of `url` (the port only when not the scheme's default).
pub(crate) fn origin_text(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Turns a reqwest error into ours, naming the origin it failed to reach with the real
/// cause, and never the path or query (a query may hold an activation code).
pub(crate) fn classify(error: &reqwest::Error, timeout: Duration, origin: &str) -> Error {
    if error.is_timeout() {
        Error::Timeout(format!("no answer from {origin} within {} ms", timeout.as_millis()))
    } else {
        Error::Transport(describe(error, origin))
    }
}

/// How a transport error caused by the server's certificate begins.
pub(crate) const CERTIFICATE_REFUSED: &str = "TLS certificate refused";

/// The error and its chain of causes, without the URL reqwest puts in its message.
pub(crate) fn describe(error: &reqwest::Error, origin: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    let head = if parts.iter().any(|p| p.contains("certificate")) {
        format!("{CERTIFICATE_REFUSED} by {origin}")
    } else if error.is_connect() {
        format!("could not connect to {origin}")
    } else if error.is_body() || error.is_decode() {
        format!("the response body from {origin} could not be read")
    } else {
        format!("the request to {origin} failed")
    };
    if parts.is_empty() { head } else { crate::text::bounded(&format!("{head}: {}", parts.join(": "))) }
}

/// Whether the URL's host is a loopback address: literal `127.0.0.0/8`, `::1`, or
/// exactly the name `localhost` (`evil.localhost` is not: it would need resolving).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}
