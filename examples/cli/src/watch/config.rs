//! What `watch` reads before it starts: the webhook secret, the seal key, the webhook
//! URL (checked), and durations such as `500ms` or `2m`.

use std::path::Path;
use std::time::Duration;

use url::{Host, Url};
use zeroize::Zeroizing;

/// The environment variable holding the webhook secret.
pub const WEBHOOK_SECRET_ENV: &str = "DEVICEAUTH_WEBHOOK_SECRET";
/// The environment variable holding the seal key (64 hex digits).
pub const SEAL_KEY_ENV: &str = "DEVICEAUTH_SEAL_KEY";
/// The shortest webhook secret accepted, in bytes.
pub const MIN_SECRET_BYTES: usize = 16;
/// The seal key's length in bytes.
const SEAL_KEY_BYTES: usize = 32;

/// The webhook secret, from `file` when given, else from [`WEBHOOK_SECRET_ENV`]; the
/// surrounding whitespace (a trailing newline) is not part of it. Errors never quote it.
pub fn webhook_secret(file: Option<&Path>) -> Result<Zeroizing<Vec<u8>>, String> {
    let raw = read_secret(file, WEBHOOK_SECRET_ENV, "--webhook-secret-file")?.ok_or_else(|| {
        format!("a webhook secret is required: set {WEBHOOK_SECRET_ENV} or pass --webhook-secret-file")
    })?;
    let secret = Zeroizing::new(raw.trim_ascii().to_vec());
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the webhook secret is too short: use at least {MIN_SECRET_BYTES} bytes (e.g. `openssl rand -hex 32`)"
        ));
    }
    Ok(secret)
}

/// The 32-byte seal key, from `file` when given, else from [`SEAL_KEY_ENV`]: 64 hex
/// digits, or (in a file) the 32 raw bytes. `None` when neither is set.
pub fn seal_key(file: Option<&Path>) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    let Some(raw) = read_secret(file, SEAL_KEY_ENV, "--seal-key-file")? else { return Ok(None) };
    if file.is_some() && raw.len() == SEAL_KEY_BYTES {
        return Ok(Some(raw));
    }
    decode_hex(raw.trim_ascii())
        .filter(|key| key.len() == SEAL_KEY_BYTES)
        .map(Some)
        .ok_or_else(|| format!("the seal key must be {} hex digits (e.g. `openssl rand -hex 32`)", SEAL_KEY_BYTES * 2))
}

fn read_secret(file: Option<&Path>, env: &str, option: &str) -> Result<Option<Zeroizing<Vec<u8>>>, String> {
    if let Some(path) = file {
        return std::fs::read(path)
            .map(|bytes| Some(Zeroizing::new(bytes)))
            .map_err(|e| format!("{option} {}: {e}", path.display()));
    }
    match std::env::var_os(env) {
        Some(value) if !value.is_empty() => Ok(Some(Zeroizing::new(value.into_encoded_bytes()))),
        _ => Ok(None),
    }
}

fn decode_hex(text: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |b: u8| (b as char).to_digit(16);
    let mut out = Zeroizing::new(Vec::with_capacity(text.len() / 2));
    for pair in text.chunks(2) {
        out.push((digit(pair[0])? * 16 + digit(pair[1])?) as u8);
    }
    Some(out)
}

/// Checks the webhook URL: `https`, or plain `http` to a loopback address (127.0.0.0/8,
/// ::1, `localhost`) unless `allow_insecure_http`. Errors never quote the URL (it may
/// hold a token).
pub fn webhook_url(text: &str, allow_insecure_http: bool) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("--webhook: not a URL ({e})"))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure_http || is_loopback(&url) => Ok(url),
        "http" => Err("--webhook: plain http is allowed only to a loopback address (127.0.0.1, ::1, localhost); \
                       use https, or pass --allow-insecure-http"
            .into()),
        _ => Err("--webhook: the URL must start with https:// (or http:// to a loopback address)".into()),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// The URL's scheme, host and port: what logs show of it.
pub fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Parses `250ms`, `5s`, `2m`, `1h`, or a bare number of seconds; zero is refused.
pub fn duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 =
        number.parse().map_err(|_| format!("{text:?}: use a number with ms, s, m or h (e.g. 500ms, 5s)"))?;
    let duration = match unit.trim() {
        "ms" => Duration::from_millis(number),
        "" | "s" => Duration::from_secs(number),
        "m" => Duration::from_secs(number.saturating_mul(60)),
        "h" => Duration::from_secs(number.saturating_mul(3600)),
        other => return Err(format!("{other:?}: the unit is ms, s, m or h")),
    };
    if duration.is_zero() {
        return Err("a duration must be more than zero".into());
    }
    Ok(duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(duration("5"), Ok(Duration::from_secs(5)));
        assert_eq!(duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(duration("0s").is_err() && duration("5d").is_err() && duration("s").is_err());
    }

    #[test]
    fn webhook_urls() {
        assert!(webhook_url("https://example.com/hook", false).is_ok());
        assert!(webhook_url("http://127.0.0.1:8080/hook", false).is_ok());
        assert!(webhook_url("http://[::1]/hook", false).is_ok());
        assert!(webhook_url("http://localhost/hook", false).is_ok());
        let refused = webhook_url("http://example.com/hook?token=abc", false).unwrap_err();
        assert!(refused.contains("--allow-insecure-http") && !refused.contains("abc"), "{refused}");
        assert!(webhook_url("http://example.com/hook", true).is_ok());
        assert!(webhook_url("ftp://example.com/", true).is_err());
        assert!(webhook_url("not a url", true).is_err());
        let url = webhook_url("https://user:pw@example.com:8443/x?token=abc", false).unwrap();
        assert_eq!(origin(&url), "https://example.com:8443");
    }

    #[test]
    fn hex_keys() {
        assert_eq!(decode_hex(b"00ff10").as_deref().map(Vec::as_slice), Some(&[0u8, 255, 16][..]));
        assert!(decode_hex(b"0g").is_none() && decode_hex(b"abc").is_none());
    }
}
