//! `projectinsight`: the Project Insight device-activation client of the core, for Node.

use chrono::{DateTime, Utc};
use deviceauth::projectinsight as core;
use napi::bindgen_prelude::{AsyncBlock, Object, Unknown};
use napi::{Env, ValueType};
use napi_derive::napi;

use crate::convert::{self, Arg};
use crate::errors::{self, Outcome};
use crate::inspect::{self, REDACTED};

/// Options of `new projectinsight.Client(options)`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "projectinsight", object_from_js = false, object_to_js = false)]
pub struct ClientOptions {
    /// The workspace API, e.g. `https://acme.projectinsight.net/api`.
    pub base_url: String,
    /// Time limit of one HTTP request in milliseconds (default 10000).
    pub timeout_ms: Option<f64>,
    /// Allow plain `http://` to hosts other than loopback (default `false`: only
    /// `https://`, and `http://` to `127.0.0.0/8`, `::1` and `localhost`).
    pub allow_insecure_http: Option<bool>,
}

/// The program asking for a token (`createDeviceActivation`).
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "projectinsight", object_from_js = false, object_to_js = false)]
pub struct DeviceInfo {
    /// The user agent of the requesting program, e.g. `my-cli/1.2` (required).
    pub client_agent: String,
    /// OS or platform, e.g. `Linux`.
    pub platform: Option<String>,
    /// Device kind, e.g. `Computer`.
    pub device: Option<String>,
    /// The IP address the client declares.
    pub ip_address: Option<String>,
    /// Host name of the requesting machine.
    pub host_name: Option<String>,
}

/// Options of `completeDeviceActivation`.
// Declares a TypeScript interface only: the value is read field by field in `convert`.
#[allow(dead_code)]
#[napi(object, namespace = "projectinsight", object_from_js = false, object_to_js = false)]
pub struct CompleteOptions {
    /// The same client agent as in `createDeviceActivation` (required).
    pub client_agent: String,
    /// Lifetime of the API token in minutes (default: one year).
    pub timeout_minutes: Option<u32>,
}

/// An activation request waiting for the user: send them to `url`.
#[napi(object, namespace = "projectinsight", object_from_js = false)]
pub struct PendingActivation {
    /// The activation request id, for `completeDeviceActivation`.
    pub id: String,
    /// Where the user approves the device and reads the activation code.
    pub url: String,
    /// When the request expires.
    pub expires_at: DateTime<Utc>,
}

/// What `JSON.stringify(activation)` gives: everything but the API token.
#[napi(object, namespace = "projectinsight", object_from_js = false)]
pub struct DeviceActivationJson {
    /// The id of the activated device.
    pub device_id: String,
    /// The user the token acts for.
    pub user_id: String,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
}

/// A client for one Project Insight workspace API.
#[napi(namespace = "projectinsight", js_name = "Client")]
pub struct Client {
    inner: core::Client,
}

#[napi(namespace = "projectinsight")]
impl Client {
    /// Checks the options and makes the client; no request is sent. Throws an `Error`
    /// with code `INVALID_ARGUMENT` for missing or malformed options.
    #[napi(constructor, ts_args_type = "options: ClientOptions")]
    pub fn new(env: Env, options: Unknown) -> napi::Result<Self> {
        build_client(&options).map(|inner| Client { inner }).map_err(|e| errors::throw(&env, e))
    }

    /// The API base URL (always ending in `/`).
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.inner.base_url().as_str().to_owned()
    }

    /// Creates an activation request. Never retried once the request may have been sent.
    #[napi(ts_args_type = "device: DeviceInfo", ts_return_type = "Promise<PendingActivation>")]
    pub fn create_device_activation(
        &self,
        env: &Env,
        device: Unknown,
    ) -> napi::Result<AsyncBlock<Outcome<PendingActivation>>> {
        let client = self.inner.clone();
        let device = device_info(&device);
        errors::promise(env, async move {
            let pending = client.create_device_activation(&device?).await?;
            Ok(PendingActivation { id: pending.id, url: pending.url, expires_at: pending.expires_at })
        })
    }

    /// Trades the code the user read for an API token. A refusal rejects with code
    /// `NOT_FOUND` or `UNAUTHORIZED` and a `reason`: `UNKNOWN_REQUEST`, `EXPIRED`,
    /// `WRONG_CODE`, `CODE_ALREADY_USED` or `CLIENT_AGENT_MISMATCH`.
    #[napi(
        ts_args_type = "activationId: string, code: string, options: CompleteOptions",
        ts_return_type = "Promise<DeviceActivation>"
    )]
    pub fn complete_device_activation(
        &self,
        env: &Env,
        activation_id: Unknown,
        code: Unknown,
        options: Unknown,
    ) -> napi::Result<AsyncBlock<Outcome<DeviceActivation>>> {
        let client = self.inner.clone();
        let args = (|| -> Arg<(String, String, String, Option<u32>)> {
            let id = convert::string(&activation_id, "activationId")?;
            let code = convert::string(&code, "code")?;
            let options = convert::options(&options, "options")?;
            let agent = convert::req_string(options.as_ref(), "clientAgent")?;
            Ok((id, code, agent, convert::opt_u32(options.as_ref(), "timeoutMinutes")?))
        })();
        errors::promise(env, async move {
            let (id, code, agent, minutes) = args?;
            let inner = client.complete_device_activation(&id, &code, &agent, minutes).await?;
            Ok(DeviceActivation { inner })
        })
    }

    /// A client that sends `apiToken` as the `api-token` header on every call.
    #[napi(ts_args_type = "apiToken: string")]
    pub fn with_api_token(&self, env: &Env, api_token: Unknown) -> napi::Result<ApiClient> {
        let token = convert::string(&api_token, "apiToken").map_err(|e| errors::throw(env, e))?;
        Ok(ApiClient { inner: self.inner.with_api_token(token), base_url: self.base_url() })
    }

    /// `util.inspect` shows the base URL.
    #[napi(symbol_for = "nodejs.util.inspect.custom", skip_typescript)]
    pub fn inspect<'env>(
        &self,
        env: &'env Env,
        _depth: Unknown,
        options: Unknown,
        inspect: Unknown,
    ) -> napi::Result<Unknown<'env>> {
        let mut view = Object::new(env)?;
        view.set("baseUrl", self.base_url())?;
        inspect::render(env, "Client", view, options, inspect)
    }
}

fn build_client(options: &Unknown) -> Arg<core::Client> {
    let options = convert::object(options, "options")?;
    let options = Some(&options);
    let mut builder = core::Client::builder(convert::req_string(options, "baseUrl")?);
    if let Some(timeout) = convert::opt_millis(options, "timeoutMs")? {
        builder = builder.timeout(timeout);
    }
    builder = builder.allow_insecure_http(convert::opt_bool(options, "allowInsecureHttp")?);
    // reqwest's client is made inside the runtime, as it expects.
    napi::bindgen_prelude::within_runtime_if_available(|| builder.build())
}

fn device_info(device: &Unknown) -> Arg<core::DeviceInfo> {
    let device = convert::object(device, "device")?;
    let device = Some(&device);
    let mut info = core::DeviceInfo::new(convert::req_string(device, "clientAgent")?);
    info.platform = convert::opt_string(device, "platform")?;
    info.device = convert::opt_string(device, "device")?;
    info.ip_address = convert::opt_string(device, "ipAddress")?;
    info.host_name = convert::opt_string(device, "hostName")?;
    Ok(info)
}

/// A completed device activation. `apiToken` is a property like the others, but
/// `util.inspect` shows it as `'[redacted]'` and `JSON.stringify` leaves it out.
#[napi(namespace = "projectinsight")]
pub struct DeviceActivation {
    inner: core::DeviceActivation,
}

#[napi(namespace = "projectinsight")]
impl DeviceActivation {
    /// The API token (sensitive); pass it to `withApiToken`.
    #[napi(getter)]
    pub fn api_token(&self) -> String {
        self.inner.api_token.expose_secret().to_owned()
    }

    /// The id of the activated device.
    #[napi(getter)]
    pub fn device_id(&self) -> String {
        self.inner.device_id.clone()
    }

    /// The user the token acts for.
    #[napi(getter)]
    pub fn user_id(&self) -> String {
        self.inner.user_id.clone()
    }

    /// When the token expires.
    #[napi(getter)]
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.inner.expires_at
    }

    /// Everything but the API token.
    #[napi(js_name = "toJSON")]
    pub fn to_json(&self) -> DeviceActivationJson {
        DeviceActivationJson {
            device_id: self.inner.device_id.clone(),
            user_id: self.inner.user_id.clone(),
            expires_at: self.inner.expires_at,
        }
    }

    /// `util.inspect` shows `apiToken: '[redacted]'`.
    #[napi(symbol_for = "nodejs.util.inspect.custom", skip_typescript)]
    pub fn inspect<'env>(
        &self,
        env: &'env Env,
        _depth: Unknown,
        options: Unknown,
        inspect: Unknown,
    ) -> napi::Result<Unknown<'env>> {
        let mut view = Object::new(env)?;
        view.set("apiToken", REDACTED)?;
        view.set("deviceId", self.inner.device_id.as_str())?;
        view.set("userId", self.inner.user_id.as_str())?;
        view.set("expiresAt", self.inner.expires_at)?;
        inspect::render(env, "DeviceActivation", view, options, inspect)
    }
}

/// A Project Insight client that authenticates with an API token.
#[napi(namespace = "projectinsight")]
pub struct ApiClient {
    inner: core::ApiClient,
    base_url: String,
}

#[napi(namespace = "projectinsight")]
impl ApiClient {
    /// The API base URL.
    #[napi(getter)]
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// `GET {baseUrl}/{path}` and the parsed JSON answer (`null` for an empty body).
    /// Retried like every idempotent call.
    #[napi(ts_args_type = "path: string", ts_return_type = "Promise<any>")]
    pub fn get(&self, env: &Env, path: Unknown) -> napi::Result<AsyncBlock<Outcome<serde_json::Value>>> {
        let client = self.inner.clone();
        let path = convert::string(&path, "path");
        errors::promise(env, async move { client.get(&path?).await })
    }

    /// `POST {baseUrl}/{path}` with `JSON.stringify(body)` (`null` when left out), and
    /// the parsed JSON answer. Not retried once the request may have been sent.
    #[napi(ts_args_type = "path: string, body?: unknown", ts_return_type = "Promise<any>")]
    pub fn post(
        &self,
        env: &Env,
        path: Unknown,
        body: Unknown,
    ) -> napi::Result<AsyncBlock<Outcome<serde_json::Value>>> {
        let client = self.inner.clone();
        let args = (|| -> Arg<(String, serde_json::Value)> {
            let path = convert::string(&path, "path")?;
            let body = match body.get_type() {
                Ok(ValueType::Undefined) => serde_json::Value::Null,
                _ => {
                    let text = convert::json_text(env, &body, "body")?;
                    serde_json::from_str(&text).map_err(|_| convert::invalid("body could not be converted to JSON"))?
                }
            };
            Ok((path, body))
        })();
        errors::promise(env, async move {
            let (path, body) = args?;
            client.post(&path, &body).await
        })
    }

    /// `util.inspect` shows the base URL and `apiToken: '[redacted]'`.
    #[napi(symbol_for = "nodejs.util.inspect.custom", skip_typescript)]
    pub fn inspect<'env>(
        &self,
        env: &'env Env,
        _depth: Unknown,
        options: Unknown,
        inspect: Unknown,
    ) -> napi::Result<Unknown<'env>> {
        let mut view = Object::new(env)?;
        view.set("baseUrl", self.base_url.as_str())?;
        view.set("apiToken", REDACTED)?;
        inspect::render(env, "ApiClient", view, options, inspect)
    }
}
