//! The HTTP settings both service clients share, their builder methods (one definition,
//! expanded into both `ClientBuilder`s), and the one base-URL parser.

use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use super::RetryPolicy;
use crate::limits::check_positive;
use crate::{Error, Result};

/// Time limit of one HTTP request when the builder sets none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// An extra root certificate to trust.
#[derive(Clone, Debug)]
pub(crate) enum CaSource {
    /// A PEM file, read when the client is built.
    File(PathBuf),
    /// PEM text.
    Pem(Vec<u8>),
}

/// HTTP settings of one client; the defaults live in [`Default`].
#[derive(Clone, Debug)]
pub(crate) struct HttpOptions {
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub user_agent: String,
    /// Plain `http://` to hosts other than loopback.
    pub allow_insecure_http: bool,
    /// Origins besides the base URL's that status and logout URLs may point at.
    pub allowed_origins: Vec<String>,
    pub ca: Vec<CaSource>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            timeout: DEFAULT_TIMEOUT,
            retry: RetryPolicy::default(),
            user_agent: concat!("deviceauth/", env!("CARGO_PKG_VERSION")).to_owned(),
            allow_insecure_http: false,
            allowed_origins: Vec::new(),
            ca: Vec::new(),
        }
    }
}

impl HttpOptions {
    /// Refuses settings no request could be made with.
    pub fn validate(&self) -> Result<()> {
        check_positive("timeout", self.timeout)?;
        reqwest::header::HeaderValue::from_str(&self.user_agent)
            .map_err(|_| Error::invalid("user_agent contains characters not allowed in a header"))?;
        self.retry.validate()
    }

    /// The extra root certificates, read and parsed.
    pub fn certificates(&self) -> Result<Vec<reqwest::Certificate>> {
        let mut all = Vec::new();
        for source in &self.ca {
            let (pem, what) = match source {
                CaSource::File(path) => {
                    let pem =
                        std::fs::read(path).map_err(|e| Error::invalid(format!("ca_file {}: {e}", path.display())))?;
                    (pem, format!("ca_file {}", path.display()))
                }
                CaSource::Pem(pem) => (pem.clone(), "ca_pem".to_owned()),
            };
            let certs = reqwest::Certificate::from_pem_bundle(&pem)
                .map_err(|_| Error::invalid(format!("{what}: not a PEM certificate")))?;
            if certs.is_empty() {
                return Err(Error::invalid(format!("{what}: no certificate in it")));
            }
            all.extend(certs);
        }
        Ok(all)
    }
}

/// Parses a base URL: `http://` or `https://` with a host, no query or fragment. A URL
/// without a scheme (`127.0.0.1:8799`) is refused, not guessed.
pub(crate) fn parse_base_url(text: &str) -> Result<Url> {
    let text = text.trim();
    let quoted = crate::text::bounded(text);
    let scheme = text.split_once("://").map(|(scheme, _)| scheme.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("http" | "https") => {}
        Some(other) => {
            return Err(Error::invalid(format!(
                "base_url {quoted:?} has the scheme {:?}; use http:// or https://",
                crate::text::bounded(other)
            )));
        }
        None => {
            return Err(Error::invalid(format!(
                "base_url {quoted:?} has no scheme; write it with https:// (or http:// for a local server)"
            )));
        }
    }
    let url = Url::parse(text).map_err(|e| Error::invalid(format!("base_url {quoted:?} is not a URL: {e}")))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::invalid(format!("base_url {quoted:?} has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid("base_url must not have a query or fragment"));
    }
    Ok(url)
}

/// The HTTP builder methods, the same on both `ClientBuilder`s; the builder has a field
/// `http: HttpOptions`.
macro_rules! http_builder_methods {
    () => {
        /// Time limit of one HTTP request (default 10 s, at most [`crate::MAX_DURATION`]).
        pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.timeout = timeout;
            self
        }

        /// How idempotent calls are retried (see [`crate::RetryPolicy`]).
        pub fn retry_policy(mut self, policy: crate::RetryPolicy) -> Self {
            self.http.retry = policy;
            self
        }

        /// The `User-Agent` header (default `deviceauth/<version>`).
        pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
            self.http.user_agent = user_agent.into();
            self
        }

        /// Allows plain `http://` to hosts other than loopback (default: only `https://`,
        /// and `http://` to `127.0.0.0/8`, `::1` and `localhost`). Credentials and tokens
        /// then cross the network unencrypted: for test networks only.
        pub fn allow_insecure_http(mut self, allow: bool) -> Self {
            self.http.allow_insecure_http = allow;
            self
        }

        /// Origins (`scheme://host:port`) besides the base URL's that session status and
        /// logout URLs handed out by the service may point at. Default: none, so
        /// credentials only ever go to the base URL's origin. With an `https://` base URL
        /// every allowed origin must be `https://` too.
        pub fn allowed_origins(mut self, origins: impl IntoIterator<Item = impl Into<String>>) -> Self {
            self.http.allowed_origins.extend(origins.into_iter().map(Into::into));
            self
        }

        /// Trusts the root certificates in this PEM file too (read by `build`), for
        /// example the emulator's CA.
        pub fn ca_file(mut self, path: impl Into<std::path::PathBuf>) -> Self {
            self.http.ca.push(crate::transport::CaSource::File(path.into()));
            self
        }

        /// Trusts the root certificates in this PEM text too.
        pub fn ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
            self.http.ca.push(crate::transport::CaSource::Pem(pem.into()));
            self
        }
    };
}
pub(crate) use http_builder_methods;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_need_a_scheme_and_a_host() {
        assert!(parse_base_url(" https://a.example/x ").is_ok());
        assert!(parse_base_url("HTTP://127.0.0.1:1").is_ok());
        for (bad, says) in [
            ("127.0.0.1:8799", "no scheme"),
            ("localhost:8799", "no scheme"),
            ("ftp://x", "scheme"),
            ("https://x/?a=1", "query"),
            ("http://", "URL"),
        ] {
            let err = parse_base_url(bad).unwrap_err();
            assert_eq!(err.code(), "INVALID_ARGUMENT");
            assert!(err.to_string().contains(says), "{bad}: {err}");
        }
    }
}
