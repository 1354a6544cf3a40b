//! The application-side client: management calls and starting sign-ins.

use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::Method as HttpMethod;
use serde::{Deserialize, Serialize};
use url::Url;

use super::app_secrets::AppSecrets;
use super::attempt_limit::AttemptLimiter;
use super::session::wire_status;
use super::signing::{Clock, NonceSource, Signer};
use super::single_flight::StatusFlights;
use super::store::SessionStore;
use super::wire::{AddUsersReply, AuthEnvelope, HasDeviceReply, LinkReply, Outcome};
use super::{AttemptLimit, AuthenticateOptions, Session, SessionData, Status};
use crate::transport::{
    HttpOptions, Replay, Reply, Request, Transport, http_builder_methods, origin_text, parse_base_url,
};
use crate::telemetry::Endpoint;
use crate::{Error, Result, RetryPolicy, Secret};

const ADD_USERS: Endpoint = Endpoint::activeconnect("add_users");
const DELETE_USERS: Endpoint = Endpoint::activeconnect("delete_users");
const REGISTRATION_LINK: Endpoint = Endpoint::activeconnect("device_registration_link");
const HAS_DEVICE: Endpoint = Endpoint::activeconnect("has_registered_mobile_device");
const LOST_DEVICE: Endpoint = Endpoint::activeconnect("lost_user_mobile_device");
const SEND_SMS: Endpoint = Endpoint::activeconnect("send_registration_sms");
const AUTHENTICATE: Endpoint = Endpoint::activeconnect("authenticate_user");
/// A session's status poll.
pub(crate) const STATUS: Endpoint = Endpoint::activeconnect("status");
/// A session's logout.
pub(crate) const LOGOUT: Endpoint = Endpoint::activeconnect("logout");

/// The production service.
pub const DEFAULT_BASE_URL: &str = "https://activeconnect.activeapi.ninja";
/// The environment variable the official clients read to point at another server
/// (`IAMPASS_SERVER` is read too, after it).
pub const SERVER_ENV: &str = "ACTIVE_CONNECT_SERVER";
/// The longest user id accepted, in UTF-8 bytes.
pub const MAX_USER_ID_BYTES: usize = 4096;

/// Everything but `A-Z a-z 0-9 - . _ ~` is escaped in a path segment, so a user id with
/// `/ ? # % +`, spaces or non-ASCII text stays one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Which users `add_users` created and which already existed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedUsers {
    /// Users the call created.
    #[serde(default)]
    pub created: Vec<String>,
    /// Users that existed before the call.
    #[serde(default)]
    pub existing: Vec<String>,
}

/// Configures a [`Client`]; made by [`Client::builder`].
#[derive(Debug)]
pub struct ClientBuilder {
    application_id: String,
    application_secret: Secret,
    next_application_secret: Option<Secret>,
    base_url: Option<String>,
    http: HttpOptions,
    clock: Option<Arc<dyn Clock>>,
    nonces: Option<Arc<dyn NonceSource>>,
    attempts: Option<AttemptLimiter>,
}

impl ClientBuilder {
    /// The service's base URL. Without it, `ACTIVE_CONNECT_SERVER` (then `IAMPASS_SERVER`)
    /// from the environment, else [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    http_builder_methods!();

    /// The next application secret, for changing secrets without downtime: a call the
    /// service refuses (401/403) when signed with the current secret is sent once more,
    /// signed with this one (a refused signature proves the service did not act, so
    /// nothing happens twice), and once the service accepts it, calls sign with it first.
    /// See `docs/operations.md`, "Rotating the application secret".
    pub fn next_application_secret(mut self, secret: impl Into<Secret>) -> Self {
        self.next_application_secret = Some(secret.into());
        self
    }

    /// Limits sign-in requests per user (push-bombing defence): `authenticate_user` counts
    /// each request in `store` (shared by every process on it) and refuses one over
    /// `limit` with [`Error::RateLimited`] before sending it.
    pub fn attempt_limit(mut self, store: &SessionStore, limit: AttemptLimit) -> Self {
        self.attempts = Some(AttemptLimiter { store: store.clone(), limit });
        self
    }

    /// The clock signatures are timestamped with (for tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The source of signature nonces (for tests).
    pub fn nonce_source(mut self, nonces: Arc<dyn NonceSource>) -> Self {
        self.nonces = Some(nonces);
        self
    }

    /// Checks the settings and builds the client. No request is sent.
    pub fn build(self) -> Result<Client> {
        let application_id = self.application_id.trim().to_owned();
        if application_id.is_empty() {
            return Err(Error::invalid("application_id must not be empty"));
        }
        if !application_id.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(Error::invalid("application_id must be printable ASCII without spaces"));
        }
        if self.application_secret.expose_secret().trim().is_empty() {
            return Err(Error::invalid("application_secret must not be empty"));
        }
        if let Some(next) = &self.next_application_secret {
            if next.expose_secret().trim().is_empty() {
                return Err(Error::invalid("next_application_secret must not be empty"));
            }
            if next.expose_secret() == self.application_secret.expose_secret() {
                return Err(Error::invalid("next_application_secret must differ from application_secret"));
            }
        }
        let base_url = match self.base_url {
            Some(url) => url,
            None => [SERVER_ENV, "IAMPASS_SERVER"]
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_owned()),
        };
        let signer = Signer::new(
            self.clock.unwrap_or_else(|| Arc::new(super::signing::SystemClock)),
            self.nonces.unwrap_or_else(|| Arc::new(super::signing::RandomNonces)),
        );
        let base_url = parse_base_url(&base_url)?;
        let transport = Transport::new(&self.http, &base_url)?;
        if let Some(limiter) = &self.attempts {
            limiter.limit.validate()?;
        }
        Ok(Client {
            inner: Arc::new(Inner {
                base_url,
                transport,
                application_id,
                secrets: AppSecrets::new(self.application_secret, self.next_application_secret),
                signer,
                status_flights: StatusFlights::default(),
            }),
            attempts: self.attempts,
        })
    }
}

/// A client for one Activeconnect application. Cheap to clone; clones share one
/// connection pool.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// The per-user sign-in limit, if any (not shared through `inner`, so that
    /// [`Client::with_attempt_limit`] can give a copy its own).
    attempts: Option<AttemptLimiter>,
}

struct Inner {
    base_url: Url,
    transport: Transport,
    application_id: String,
    secrets: AppSecrets,
    signer: Signer,
    status_flights: StatusFlights,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("application_id", &self.inner.application_id)
            .field("application_secrets", &self.inner.secrets)
            .field("base_url", &self.inner.base_url.as_str())
            .field("attempt_limit", &self.attempt_limit())
            .finish()
    }
}

impl Client {
    /// Starts configuring a client for the application `application_id`.
    pub fn builder(application_id: impl Into<String>, application_secret: impl Into<Secret>) -> ClientBuilder {
        ClientBuilder {
            application_id: application_id.into(),
            application_secret: application_secret.into(),
            next_application_secret: None,
            base_url: None,
            http: HttpOptions::default(),
            clock: None,
            nonces: None,
            attempts: None,
        }
    }

    /// The application id.
    pub fn application_id(&self) -> &str {
        &self.inner.application_id
    }

    /// The service's base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base_url
    }

    /// This client with a per-user limit on sign-in requests counted in `store` (see
    /// [`ClientBuilder::attempt_limit`]), replacing any it had. The copy shares everything
    /// else (connection pool, settings, concurrent status polls); this client is unchanged.
    /// An invalid `limit` is `INVALID_ARGUMENT`.
    pub fn with_attempt_limit(&self, store: &SessionStore, limit: AttemptLimit) -> Result<Client> {
        limit.validate()?;
        Ok(Client { inner: self.inner.clone(), attempts: Some(AttemptLimiter { store: store.clone(), limit }) })
    }

    /// [`Client::with_attempt_limit`] on the store at `url` (`memory`, `sqlite:///path`,
    /// `postgresql://...`, `redis://...`), opened here (and its schema made on first use).
    /// `limit` is checked before the store is opened. The count uses no sealed row, so
    /// `seal_key` may be left out (a random key is used); when given it must be the
    /// app's 32-byte key. A malformed URL or key is `INVALID_ARGUMENT`; a store that
    /// cannot be reached is `STORE`. Clients of every process on the same store share
    /// the count.
    pub async fn with_attempt_limit_at(
        &self,
        url: &str,
        seal_key: Option<&[u8]>,
        limit: AttemptLimit,
    ) -> Result<Client> {
        limit.validate()?;
        let mut random = [0u8; super::SEAL_KEY_BYTES];
        let key = match seal_key {
            Some(key) => key,
            None => {
                getrandom::fill(&mut random).map_err(|e| Error::Internal(format!("no random numbers: {e}")))?;
                &random[..]
            }
        };
        let store = SessionStore::open(url, key).await;
        zeroize::Zeroize::zeroize(&mut random);
        self.with_attempt_limit(&store?, limit)
    }

    /// The per-user sign-in limit of this client, if it has one.
    pub fn attempt_limit(&self) -> Option<AttemptLimit> {
        self.attempts.as_ref().map(|limiter| limiter.limit)
    }

    /// Registers users with the service (ids of at most [`MAX_USER_ID_BYTES`]).
    /// Adding a user twice is harmless: it is reported in `existing`.
    pub async fn add_users<S: AsRef<str>>(&self, users: &[S]) -> Result<AddedUsers> {
        let body = users_body(users)?;
        let url = self.management_url("add_users", None)?;
        let reply = self.send(ADD_USERS, HttpMethod::POST, url, Some(body), Replay::Safe).await?;
        let parsed: AddUsersReply = success(&reply)?.json("add_users")?;
        parsed.outcome.check(&reply)?;
        parsed.users.ok_or_else(|| Error::protocol("add_users: the answer has no `users`"))
    }

    /// Registers one user; see [`Client::add_users`].
    pub async fn add_user(&self, user: &str) -> Result<AddedUsers> {
        self.add_users(&[user]).await
    }

    /// Removes users from the service.
    pub async fn delete_users<S: AsRef<str>>(&self, users: &[S]) -> Result<()> {
        let body = users_body(users)?;
        let url = self.management_url("delete_users", None)?;
        let reply = self.send(DELETE_USERS, HttpMethod::POST, url, Some(body), Replay::Safe).await?;
        success(&reply)?.json::<Outcome>("delete_users")?.check(&reply)
    }

    /// The link that registers the user's phone; open it on the phone (e-mail, SMS, QR
    /// code). `display_name` is what the phone app shows for this account.
    pub async fn device_registration_link(&self, user: &str, display_name: Option<&str>) -> Result<String> {
        let mut url = self.management_url("device_registration_link", Some(user))?;
        if let Some(name) = non_empty("display_name", display_name)? {
            url.query_pairs_mut().append_pair("display_name", name);
        }
        self.link(url, REGISTRATION_LINK).await
    }

    /// Whether the user has registered a phone.
    pub async fn has_registered_mobile_device(&self, user: &str) -> Result<bool> {
        let url = self.management_url("has_registered_mobile_device", Some(user))?;
        let reply = self.send(HAS_DEVICE, HttpMethod::GET, url, None, Replay::Safe).await?;
        let parsed: HasDeviceReply = success(&reply)?.json("has_registered_mobile_device")?;
        parsed.outcome.check(&reply)?;
        parsed
            .device_registered
            .ok_or_else(|| Error::protocol("has_registered_mobile_device: the answer has no `device_registered`"))
    }

    /// Disables the user's phone and returns a new registration link.
    pub async fn lost_user_mobile_device(&self, user: &str) -> Result<String> {
        let url = self.management_url("lost_user_mobile_device", Some(user))?;
        self.link(url, LOST_DEVICE).await
    }

    /// Has the service text the registration link to `phone_number` (E.164, e.g.
    /// `+15550100`). Never retried once the request may have been sent.
    pub async fn send_registration_sms(
        &self,
        user: &str,
        phone_number: &str,
        display_name: Option<&str>,
        message: Option<&str>,
    ) -> Result<()> {
        validate_phone_number(phone_number)?;
        let mut body = serde_json::json!({ "phone_number": phone_number });
        if let Some(name) = non_empty("display_name", display_name)? {
            body["display_name"] = name.into();
        }
        if let Some(text) = non_empty("message", message)? {
            body["message"] = text.into();
        }
        let url = self.management_url("send_registration_sms", Some(user))?;
        let body = Some(body.to_string().into_bytes());
        let reply = self.send(SEND_SMS, HttpMethod::POST, url, body, Replay::OnlyIfUnsent).await?;
        success(&reply)?.json::<Outcome>("send_registration_sms")?.check(&reply)
    }

    /// Pushes a sign-in request to the user's phone. Never retried once the request may
    /// have been sent. A refusal (for example `NO_MOBILE_DEVICE`) is
    /// [`Error::NotStarted`]; a request over the builder's [`ClientBuilder::attempt_limit`]
    /// is [`Error::RateLimited`], and is not sent.
    pub async fn authenticate_user(&self, user: &str, options: &AuthenticateOptions) -> Result<Session> {
        validate_user(user)?;
        let mut url = self.url(&["authentication", "authenticate_user", &self.inner.application_id, user]);
        url.set_query(options.query()?.as_deref());
        if let Some(limiter) = &self.attempts {
            limiter.check(user).await?;
        }
        let reply = self.send(AUTHENTICATE, HttpMethod::POST, url, Some(b"{}".to_vec()), Replay::OnlyIfUnsent).await?;
        let status = success(&reply)?.json::<AuthEnvelope>("authenticate_user")?.into_inner();
        if status.authenticated != Some(true) {
            return Err(Error::NotStarted {
                reason: status.reason.map_or_else(|| "UNKNOWN".into(), |r| reply.quote(&r)),
            });
        }
        let missing = |field: &str| Error::protocol(format!("authenticate_user: the answer has no `{field}`"));
        let absolute = |field: &str, value: Option<String>| -> Result<Url> {
            let value = value.ok_or_else(|| missing(field))?;
            let url = self
                .inner
                .base_url
                .join(&value)
                .map_err(|_| Error::protocol(format!("authenticate_user: `{field}` is not a URL")))?;
            if !self.inner.transport.allows(&url) {
                return Err(Error::protocol(format!(
                    "authenticate_user: `{field}` points at {}, outside the base URL's origin and the allowed origins",
                    origin_text(&url)
                )));
            }
            Ok(url)
        };
        let data = SessionData {
            user: user.to_owned(),
            status_url: absolute("status_url", status.status_url)?,
            logout_url: absolute("logout_url", status.logout_url)?,
            session_token: session_token(status.session_token)?,
            session_secret: Secret::from(
                status.session_secret.filter(|s| !s.is_empty()).ok_or_else(|| missing("session_secret"))?,
            ),
            status: status.session_status.as_deref().map_or(Status::Pending, |raw| wire_status(&reply, raw)),
        };
        Ok(Session::new(self.clone(), data))
    }

    /// A [`Session`] from stored [`SessionData`] (for example, in the next web request).
    /// URLs outside the allowed origins are refused when the session sends a request;
    /// [`Client::try_resume`] refuses them at once.
    pub fn resume(&self, data: SessionData) -> Session {
        Session::new(self.clone(), data)
    }

    /// [`Client::resume`], refusing (`INVALID_ARGUMENT`) data whose `status_url` or
    /// `logout_url` is outside the base URL's origin and the allowed origins, or breaks
    /// the HTTPS policy.
    pub fn try_resume(&self, data: SessionData) -> Result<Session> {
        for (field, url) in [("status_url", &data.status_url), ("logout_url", &data.logout_url)] {
            self.inner.transport.check_url(url).map_err(|e| match e {
                Error::InvalidArgument(message) => Error::invalid(format!("{field}: {message}")),
                other => other,
            })?;
        }
        Ok(self.resume(data))
    }

    /// Status polls in flight, shared by concurrent callers of the same session.
    pub(crate) fn status_flights(&self) -> &StatusFlights {
        &self.inner.status_flights
    }

    /// Sends a request signed with the session's credentials (used by [`Session`]).
    pub(crate) async fn send_as_session(
        &self,
        endpoint: Endpoint,
        method: HttpMethod,
        url: Url,
        data: &SessionData,
    ) -> Result<Reply> {
        let key = self.inner.signer.key(&data.session_token, &data.session_secret);
        // The application secrets too: a hostile server may know and echo them.
        let secrets = self.inner.secrets.all();
        let session = Some(data.session_token.as_str());
        let request =
            Request { endpoint, session, method, url, json: None, auth: Some(&key), replay: Replay::Safe, secrets };
        self.inner.transport.send(request).await
    }

    /// Sends a request signed with the application's credentials. A 401/403 names the
    /// credentials to check.
    async fn send(
        &self,
        endpoint: Endpoint,
        method: HttpMethod,
        url: Url,
        json: Option<Vec<u8>>,
        replay: Replay,
    ) -> Result<Reply> {
        self.send_with(endpoint, method, url, json, replay, None).await
    }

    /// [`Client::send`], under `retry` instead of the client's retry policy when given.
    pub(crate) async fn send_with(
        &self,
        endpoint: Endpoint,
        method: HttpMethod,
        url: Url,
        json: Option<Vec<u8>>,
        replay: Replay,
        retry: Option<RetryPolicy>,
    ) -> Result<Reply> {
        let inner = &self.inner;
        let order = inner.secrets.order();
        let message = (method, url, json);
        let again = order.second.map(|_| message.clone());
        let mut reply = self.send_signed(endpoint, order.first, message, replay, retry).await?;
        if let (401 | 403, Some(second), Some(message)) = (reply.status, order.second, again) {
            // A refused signature was not acted on: the same call, signed with the other secret.
            reply = self.send_signed(endpoint, second, message, replay, retry).await?;
            if !matches!(reply.status, 401 | 403) {
                inner.secrets.accepted_second(&order);
                log::warn!(
                    "deviceauth: application {:?}: the service accepted the {} secret; signing with it first from now on",
                    inner.application_id,
                    if order.second_is_next { "next" } else { "previous" }
                );
            }
        }
        if let 401 | 403 = reply.status {
            return Err(Error::Unauthorized {
                status: reply.status,
                message: format!(
                    "the service refused application {:?}'s signature: check the application id and secret ({})",
                    inner.application_id,
                    reply.message()
                ),
            });
        }
        Ok(reply)
    }

    /// Sends `message` (method, URL, JSON body) signed with `secret` and the application
    /// id, scrubbing every application secret from the answer's text.
    async fn send_signed(
        &self,
        endpoint: Endpoint,
        secret: &Secret,
        (method, url, json): (HttpMethod, Url, Option<Vec<u8>>),
        replay: Replay,
        retry: Option<RetryPolicy>,
    ) -> Result<Reply> {
        let inner = &self.inner;
        let key = inner.signer.key(&inner.application_id, secret);
        let secrets = inner.secrets.all();
        let request = Request { endpoint, session: None, method, url, json, auth: Some(&key), replay, secrets };
        match retry {
            Some(retry) => inner.transport.send_with(request, retry).await,
            None => inner.transport.send(request).await,
        }
    }

    async fn link(&self, url: Url, endpoint: Endpoint) -> Result<String> {
        let what = endpoint.name;
        let reply = self.send(endpoint, HttpMethod::GET, url, None, Replay::Safe).await?;
        let parsed: LinkReply = success(&reply)?.json(what)?;
        parsed.outcome.check(&reply)?;
        parsed.register_url.ok_or_else(|| Error::protocol(format!("{what}: the answer has no `register_url`")))
    }

    pub(crate) fn management_url(&self, call: &str, user: Option<&str>) -> Result<Url> {
        let app = self.inner.application_id.as_str();
        match user {
            Some(user) => {
                validate_user(user)?;
                Ok(self.url(&["management", call, app, user]))
            }
            None => Ok(self.url(&["management", call, app])),
        }
    }

    /// The base URL with `segments` appended, each escaped as one path segment.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base_url.clone();
        let mut path = url.path().trim_end_matches('/').to_owned();
        for segment in segments {
            path.push('/');
            path.extend(utf8_percent_encode(segment, SEGMENT));
        }
        url.set_path(&path);
        url
    }
}

/// The reply when it is 2xx, else the error its status means.
fn success(reply: &Reply) -> Result<&Reply> {
    if reply.is_success() { Ok(reply) } else { Err(reply.status_error()) }
}

/// The session token of an `authenticate_user` answer: it names the session in signed
/// headers, so it must be a short run of visible ASCII without `:`.
fn session_token(token: Option<String>) -> Result<String> {
    let token = token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| Error::protocol("authenticate_user: the answer has no `session_token`"))?;
    if token.len() > 1024 || !token.bytes().all(|b| b.is_ascii_graphic() && b != b':') {
        return Err(Error::protocol("authenticate_user: the answer's `session_token` is not a token"));
    }
    Ok(token)
}

/// A user id the service can receive as one path segment.
pub(crate) fn validate_user(user: &str) -> Result<()> {
    if user.is_empty() {
        return Err(Error::invalid("user id must not be empty"));
    }
    if user.len() > MAX_USER_ID_BYTES {
        return Err(Error::invalid(format!("user id is {} bytes long; the limit is {MAX_USER_ID_BYTES}", user.len())));
    }
    if user == "." || user == ".." {
        return Err(Error::invalid("user id must not be \".\" or \"..\" (URLs cannot carry them as a path segment)"));
    }
    Ok(())
}

fn users_body<S: AsRef<str>>(users: &[S]) -> Result<Vec<u8>> {
    if users.is_empty() {
        return Err(Error::invalid("the list of users must not be empty"));
    }
    let users: Vec<&str> = users.iter().map(AsRef::as_ref).collect();
    users.iter().try_for_each(|u| validate_user(u))?;
    Ok(serde_json::json!({ "users": users }).to_string().into_bytes())
}

fn non_empty<'a>(name: &str, value: Option<&'a str>) -> Result<Option<&'a str>> {
    match value {
        Some(v) if v.trim().is_empty() => {
            Err(Error::invalid(format!("{name} must not be empty (leave it out instead)")))
        }
        other => Ok(other),
    }
}

fn validate_phone_number(phone: &str) -> Result<()> {
    let digits = phone.strip_prefix('+').unwrap_or("");
    if (6..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Error::invalid("phone_number must be in E.164 form: '+' and 6 to 15 digits, e.g. +15550100"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client::builder("APP", "top-secret-value").base_url("http://127.0.0.1:1/prefix/").build().unwrap()
    }

    #[test]
    fn hostile_user_ids_stay_one_segment() {
        let url = client().url(&["management", "x", "APP", "a/b?c#d%e+f g/é"]);
        assert_eq!(url.path(), "/prefix/management/x/APP/a%2Fb%3Fc%23d%25e%2Bf%20g%2F%C3%A9");
        assert_eq!(url.query(), None);
    }

    #[test]
    fn bad_arguments_fail_before_any_request() {
        assert_eq!(Client::builder("", "s").build().unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(Client::builder("A", " ").build().unwrap_err().code(), "INVALID_ARGUMENT");
        assert_eq!(Client::builder("A", "s").base_url("ftp://x").build().unwrap_err().code(), "INVALID_ARGUMENT");
        for bad in ["", ".", "..", &"x".repeat(MAX_USER_ID_BYTES + 1)] {
            assert_eq!(validate_user(bad).unwrap_err().code(), "INVALID_ARGUMENT", "{bad:?}");
        }
        assert!(validate_user(&"é".repeat(1000)).is_ok());
        for bad in ["5550100", "+1", "+1555010O", "+1 555 0100"] {
            assert!(validate_phone_number(bad).is_err(), "{bad}");
        }
        assert!(validate_phone_number("+15550100").is_ok());
    }

    #[test]
    fn debug_hides_the_secret() {
        let text = format!("{:?}", client());
        assert!(text.contains("APP") && text.contains("[redacted]") && !text.contains("top-secret-value"));
    }
}
