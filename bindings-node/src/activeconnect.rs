//! `activeconnect`: the Activeconnect (IAMPASS) client of the core, for Node.
//!
//! Every method converts its arguments, calls the core on the addon's tokio runtime and
//! returns a Promise; errors are mapped by [`crate::errors`].

mod monitor;
mod session;

use deviceauth::activeconnect as core;
use napi::bindgen_prelude::{AsyncBlock, Object, Unknown};
use napi::{Env, ValueType};
use napi_derive::napi;

pub use session::Session;

use crate::convert::{self, Arg, invalid};
use crate::errors::{self, CoreError, Outcome};
use crate::inspect::{self, REDACTED};

/// Options of `new activeconnect.Client(options)`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct ClientOptions {
    /// The application id.
    pub application_id: String,
    /// The application secret. Never shown by `util.inspect` or in error messages.
    pub application_secret: String,
    /// The service's base URL. Default: `$ACTIVE_CONNECT_SERVER`, then
    /// `$IAMPASS_SERVER`, then `https://activeconnect.activeapi.ninja`.
    pub base_url: Option<String>,
    /// Time limit of one HTTP request in milliseconds (default 10000).
    pub timeout_ms: Option<f64>,
    /// Allow plain `http://` to hosts other than loopback (default `false`: only
    /// `https://`, and `http://` to `127.0.0.0/8`, `::1` and `localhost`).
    pub allow_insecure_http: Option<bool>,
}

/// Which users `addUsers` created and which already existed.
#[napi(object, namespace = "activeconnect", object_from_js = false)]
pub struct AddedUsers {
    /// Users the call created.
    pub created: Vec<String>,
    /// Users that existed before the call.
    pub existing: Vec<String>,
}

/// Options of `deviceRegistrationLink`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct RegistrationLinkOptions {
    /// What the phone app shows for this account.
    pub display_name: Option<String>,
}

/// Options of `sendRegistrationSms`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct RegistrationSmsOptions {
    /// What the phone app shows for this account.
    pub display_name: Option<String>,
    /// The text of the SMS.
    pub message: Option<String>,
}

/// Options of `authenticateUser`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "activeconnect", object_from_js = false, object_to_js = false)]
pub struct AuthenticateOptions {
    /// Methods the user may use; leave out to let the service choose (preferred).
    #[napi(ts_type = "Array<'acceptance' | 'device' | 'facial'>")]
    pub methods: Option<Vec<String>>,
    /// Lifetime of the session once active, in seconds (service default 3600).
    pub duration_seconds: Option<u32>,
}

/// A client for one Activeconnect application.
#[napi(namespace = "activeconnect", js_name = "Client")]
pub struct Client {
    inner: core::Client,
}

#[napi(namespace = "activeconnect")]
impl Client {
    /// Checks the options and makes the client; no request is sent. Throws an `Error`
    /// with code `INVALID_ARGUMENT` for missing or malformed options.
    #[napi(constructor, ts_args_type = "options: ClientOptions")]
    pub fn new(env: Env, options: Unknown) -> napi::Result<Self> {
        build_client(&options).map(|inner| Client { inner }).map_err(|e| errors::throw(&env, e))
    }

    /// The application id.
    #[napi(getter)]
    pub fn application_id(&self) -> String {
        self.inner.application_id().to_owned()
    }

    /// The service's base URL.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.inner.base_url().as_str().to_owned()
    }

    /// Registers users with the service; adding a user twice is harmless.
    #[napi(ts_args_type = "users: string[]", ts_return_type = "Promise<AddedUsers>")]
    pub fn add_users(&self, env: &Env, users: Unknown) -> napi::Result<AsyncBlock<Outcome<AddedUsers>>> {
        let client = self.inner.clone();
        let users = convert::strings(&users, "users");
        errors::promise(env, async move {
            let added = client.add_users(&users?).await?;
            Ok(AddedUsers { created: added.created, existing: added.existing })
        })
    }

    /// Removes users from the service.
    #[napi(ts_args_type = "users: string[]", ts_return_type = "Promise<void>")]
    pub fn delete_users(&self, env: &Env, users: Unknown) -> napi::Result<AsyncBlock<Outcome<()>>> {
        let client = self.inner.clone();
        let users = convert::strings(&users, "users");
        errors::promise(env, async move { client.delete_users(&users?).await })
    }

    /// The link that registers the user's phone (open it on the phone).
    #[napi(ts_args_type = "user: string, options?: RegistrationLinkOptions", ts_return_type = "Promise<string>")]
    pub fn device_registration_link(
        &self,
        env: &Env,
        user: Unknown,
        options: Unknown,
    ) -> napi::Result<AsyncBlock<Outcome<String>>> {
        let client = self.inner.clone();
        let args = (|| -> Arg<(String, Option<String>)> {
            let user = convert::string(&user, "user")?;
            let options = convert::options(&options, "options")?;
            Ok((user, convert::opt_string(options.as_ref(), "displayName")?))
        })();
        errors::promise(env, async move {
            let (user, display_name) = args?;
            client.device_registration_link(&user, display_name.as_deref()).await
        })
    }

    /// Whether the user has registered a phone.
    #[napi(ts_args_type = "user: string", ts_return_type = "Promise<boolean>")]
    pub fn has_registered_mobile_device(&self, env: &Env, user: Unknown) -> napi::Result<AsyncBlock<Outcome<bool>>> {
        let client = self.inner.clone();
        let user = convert::string(&user, "user");
        errors::promise(env, async move { client.has_registered_mobile_device(&user?).await })
    }

    /// Disables the user's phone and returns a new registration link.
    #[napi(ts_args_type = "user: string", ts_return_type = "Promise<string>")]
    pub fn lost_user_mobile_device(&self, env: &Env, user: Unknown) -> napi::Result<AsyncBlock<Outcome<String>>> {
        let client = self.inner.clone();
        let user = convert::string(&user, "user");
        errors::promise(env, async move { client.lost_user_mobile_device(&user?).await })
    }

    /// Has the service text the registration link to `phoneNumber` (E.164, e.g.
    /// `+15550100`). Never retried once the request may have been sent.
    #[napi(
        ts_args_type = "user: string, phoneNumber: string, options?: RegistrationSmsOptions",
        ts_return_type = "Promise<void>"
    )]
    pub fn send_registration_sms(
        &self,
        env: &Env,
        user: Unknown,
        phone_number: Unknown,
        options: Unknown,
    ) -> napi::Result<AsyncBlock<Outcome<()>>> {
        let client = self.inner.clone();
        let args = (|| -> Arg<(String, String, Option<String>, Option<String>)> {
            let user = convert::string(&user, "user")?;
            let phone = convert::string(&phone_number, "phoneNumber")?;
            let options = convert::options(&options, "options")?;
            let display_name = convert::opt_string(options.as_ref(), "displayName")?;
            let message = convert::opt_string(options.as_ref(), "message")?;
            Ok((user, phone, display_name, message))
        })();
        errors::promise(env, async move {
            let (user, phone, display_name, message) = args?;
            client.send_registration_sms(&user, &phone, display_name.as_deref(), message.as_deref()).await
        })
    }

    /// Pushes a sign-in request to the user's phone and resolves to its `Session`.
    /// Rejects with code `NOT_STARTED` (and `reason`, e.g. `NO_MOBILE_DEVICE`) when the
    /// service answers without starting one. Never retried once the request may have
    /// been sent.
    #[napi(ts_args_type = "user: string, options?: AuthenticateOptions", ts_return_type = "Promise<Session>")]
    pub fn authenticate_user(
        &self,
        env: &Env,
        user: Unknown,
        options: Unknown,
    ) -> napi::Result<AsyncBlock<Outcome<Session>>> {
        let client = self.inner.clone();
        let args = (|| -> Arg<(String, core::AuthenticateOptions)> {
            let user = convert::string(&user, "user")?;
            let options = convert::options(&options, "options")?;
            let methods = match convert::field(options.as_ref(), "methods")? {
                Some(methods) => convert::strings(&methods, "methods")?
                    .iter()
                    .map(|name| name.parse::<core::Method>())
                    .collect::<Result<Vec<_>, CoreError>>()?,
                None => Vec::new(),
            };
            let duration_seconds = convert::opt_u32(options.as_ref(), "durationSeconds")?;
            Ok((user, core::AuthenticateOptions { methods, duration_seconds }))
        })();
        errors::promise(env, async move {
            let (user, options) = args?;
            client.authenticate_user(&user, &options).await.map(Session::new)
        })
    }

    /// A `Session` from what `JSON.stringify(session)` gave: the JSON text or the parsed
    /// object. No request is sent. Throws `INVALID_ARGUMENT` if it is not session data.
    #[napi(ts_args_type = "data: string | SessionData")]
    pub fn resume(&self, env: &Env, data: Unknown) -> napi::Result<Session> {
        stored_session(env, &data, "data")
            .map(|data| Session::new(self.inner.resume(data)))
            .map_err(|e| errors::throw(env, e))
    }

    /// A `Session` from the text of `session.seal(key)`. Throws `INVALID_ARGUMENT` when the
    /// text was altered or truncated, or sealed with another key or application.
    #[napi(ts_args_type = "sealed: string, key: Uint8Array")]
    pub fn unseal(&self, env: &Env, sealed: Unknown, key: Unknown) -> napi::Result<Session> {
        convert::string(&sealed, "sealed")
            .and_then(|sealed| Ok((sealed, convert::bytes(&key, "key")?)))
            .and_then(|(sealed, key)| self.inner.unseal(&sealed, &key))
            .map(Session::new)
            .map_err(|e| errors::throw(env, e))
    }

    /// `util.inspect` shows the application id and base URL, never the secret.
    #[napi(symbol_for = "nodejs.util.inspect.custom", skip_typescript)]
    pub fn inspect<'env>(
        &self,
        env: &'env Env,
        _depth: Unknown,
        options: Unknown,
        inspect: Unknown,
    ) -> napi::Result<Unknown<'env>> {
        let mut view = Object::new(env)?;
        view.set("applicationId", self.inner.application_id())?;
        view.set("applicationSecret", REDACTED)?;
        view.set("baseUrl", self.inner.base_url().as_str())?;
        inspect::render(env, "Client", view, options, inspect)
    }
}

fn build_client(options: &Unknown) -> Arg<core::Client> {
    let options = convert::object(options, "options")?;
    let options = Some(&options);
    let mut builder = core::Client::builder(
        convert::req_string(options, "applicationId")?,
        convert::req_string(options, "applicationSecret")?,
    );
    if let Some(url) = convert::opt_string(options, "baseUrl")? {
        builder = builder.base_url(url);
    }
    if let Some(timeout) = convert::opt_millis(options, "timeoutMs")? {
        builder = builder.timeout(timeout);
    }
    builder = builder.allow_insecure_http(convert::opt_bool(options, "allowInsecureHttp")?);
    // reqwest's client is made inside the runtime, as it expects.
    napi::bindgen_prelude::within_runtime_if_available(|| builder.build())
}

/// Session data from the JSON text of a session or its parsed object.
fn stored_session(env: &Env, data: &Unknown, name: &str) -> Arg<core::SessionData> {
    let text = match data.get_type() {
        Ok(ValueType::String) => convert::string(data, name)?,
        Ok(ValueType::Object) => convert::json_text(env, data, name)?,
        _ => {
            return Err(invalid(format!("{name} must be the JSON text of a session or its parsed object")));
        }
    };
    session_data(&text)
}

/// Parses stored session JSON. The message never quotes the input: it holds the
/// session secret.
fn session_data(text: &str) -> Arg<core::SessionData> {
    serde_json::from_str(text).map_err(|e| {
        let message = e.to_string();
        let detail = if message.starts_with("missing field") {
            message
        } else {
            format!("not valid session data (line {}, column {})", e.line(), e.column())
        };
        invalid(format!("data: {detail}"))
    })
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::session_data;

    #[test]
    fn session_data_errors_never_quote_the_input() {
        let secret = "hush-hush-secret";
        let bad = [
            format!(r#"{{"user":"u","session_token":"t","session_secret":"{secret}","status_url":42}}"#),
            format!(r#"{{"user":"u","session_secret":"{secret}""#),
            format!(r#"["{secret}"]"#),
            format!(r#"{{"session_secret":{{"{secret}":1}}}}"#),
        ];
        for text in bad {
            let error = session_data(&text).expect_err("not session data");
            assert_eq!(error.code(), "INVALID_ARGUMENT");
            assert!(!error.to_string().contains(secret), "{error}");
        }
        let missing = session_data(r#"{"user":"u"}"#).expect_err("incomplete");
        assert!(missing.to_string().contains("missing field"), "{missing}");
    }

    #[test]
    fn session_data_reads_what_the_core_writes() {
        let text = r#"{"user":"a/b é","session_token":"t","session_secret":"s","status_url":"http://h/s/t","logout_url":"http://h/l/t","status":"walkaway"}"#;
        let data = session_data(text).expect("valid");
        assert_eq!(data.user, "a/b é");
        assert_eq!(data.status.as_str(), "walkaway");
        assert_eq!(
            serde_json::to_value(&data).expect("serializes"),
            serde_json::from_str::<serde_json::Value>(text).expect("json")
        );
    }
}
