//! The values of the device-activation flow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::timestamp::parse_utc;
use crate::{Error, Result, Secret};

/// Describes the program asking for a token (`DeviceActivationRequest`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DeviceInfo {
    /// The user agent of the requesting program, e.g. `my-cli/1.2` (required).
    #[serde(rename = "ClientAgent")]
    pub client_agent: String,
    /// OS or platform, e.g. `Linux`.
    #[serde(rename = "ClientPlatform", skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Device kind, e.g. `Computer`.
    #[serde(rename = "ClientDevice", skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    /// The IP address the client declares.
    #[serde(rename = "ClientIPAddress", skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    /// Host name of the requesting machine.
    #[serde(rename = "ClientHostName", skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
}

impl DeviceInfo {
    /// A request from the program `client_agent`, with no optional fields.
    pub fn new(client_agent: impl Into<String>) -> Self {
        DeviceInfo { client_agent: client_agent.into(), ..DeviceInfo::default() }
    }

    /// Sets the platform.
    pub fn platform(mut self, platform: impl Into<String>) -> Self {
        self.platform = Some(platform.into());
        self
    }

    /// Sets the device kind.
    pub fn device(mut self, device: impl Into<String>) -> Self {
        self.device = Some(device.into());
        self
    }

    /// Sets the declared IP address.
    pub fn ip_address(mut self, ip_address: impl Into<String>) -> Self {
        self.ip_address = Some(ip_address.into());
        self
    }

    /// Sets the host name.
    pub fn host_name(mut self, host_name: impl Into<String>) -> Self {
        self.host_name = Some(host_name.into());
        self
    }

    /// Refuses an empty `client_agent`, empty optional fields (leave them out instead),
    /// and an `ip_address` that is not an IP address (`INVALID_ARGUMENT`).
    pub fn validate(&self) -> Result<()> {
        if self.client_agent.trim().is_empty() {
            return Err(Error::invalid("client_agent must not be empty"));
        }
        let optional = [
            ("platform", &self.platform),
            ("device", &self.device),
            ("ip_address", &self.ip_address),
            ("host_name", &self.host_name),
        ];
        for (name, value) in optional {
            if value.as_deref().is_some_and(|v| v.trim().is_empty()) {
                return Err(Error::invalid(format!("{name} must not be empty (leave it out instead)")));
            }
        }
        if let Some(ip) = &self.ip_address {
            ip.trim()
                .parse::<std::net::IpAddr>()
                .map_err(|_| Error::invalid(format!("ip_address {ip:?} is not an IP address")))?;
        }
        Ok(())
    }
}

/// An activation request waiting for the user (`DeviceActivationRequestPending`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingActivation {
    /// The activation request id, for [`super::Client::complete_device_activation`].
    pub id: String,
    /// Where the user goes to approve the device and read the code.
    pub url: String,
    /// When the request expires.
    pub expires_at: DateTime<Utc>,
}

/// A completed activation (`DeviceActivationRequestComplete`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceActivation {
    /// The API token; send it with [`super::Client::with_api_token`].
    pub api_token: Secret,
    /// The id of the activated device.
    pub device_id: String,
    /// The user the token acts for.
    pub user_id: String,
    /// When the token expires.
    pub expires_at: DateTime<Utc>,
}

/// `DeviceActivationRequestPending` on the wire.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PendingWire {
    device_activation_id: Option<String>,
    device_activation_request_url: Option<String>,
    #[serde(rename = "ExpirationDateTimeUTC")]
    expiration_date_time_utc: Option<String>,
}

impl PendingWire {
    pub fn into_pending(self) -> Result<PendingActivation> {
        let url = required("DeviceActivationRequestUrl", self.device_activation_request_url)?;
        url::Url::parse(&url).map_err(|_| Error::protocol("`DeviceActivationRequestUrl` is not an absolute URL"))?;
        Ok(PendingActivation {
            id: required("DeviceActivationId", self.device_activation_id)?,
            url,
            expires_at: parse_utc(
                "ExpirationDateTimeUTC",
                &required("ExpirationDateTimeUTC", self.expiration_date_time_utc)?,
            )?,
        })
    }
}

/// `DeviceActivationRequestComplete` on the wire.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CompleteWire {
    api_token: Option<Secret>,
    device_id: Option<serde_json::Value>,
    user_id: Option<serde_json::Value>,
    #[serde(rename = "ApiTokenExpirationDateTimeUTC")]
    api_token_expiration_date_time_utc: Option<String>,
}

impl CompleteWire {
    pub fn into_activation(self) -> Result<DeviceActivation> {
        Ok(DeviceActivation {
            api_token: self.api_token.filter(|t| !t.is_empty()).ok_or_else(|| missing("ApiToken"))?,
            device_id: id_text("DeviceId", self.device_id)?,
            user_id: id_text("UserId", self.user_id)?,
            expires_at: parse_utc(
                "ApiTokenExpirationDateTimeUTC",
                &required("ApiTokenExpirationDateTimeUTC", self.api_token_expiration_date_time_utc)?,
            )?,
        })
    }
}

fn required(field: &str, value: Option<String>) -> Result<String> {
    value.filter(|v| !v.is_empty()).ok_or_else(|| missing(field))
}

/// Ids may come as strings or numbers; both are kept as text.
fn id_text(field: &str, value: Option<serde_json::Value>) -> Result<String> {
    match value {
        Some(serde_json::Value::String(s)) if !s.is_empty() => Ok(s),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        _ => Err(missing(field)),
    }
}

fn missing(field: &str) -> Error {
    Error::protocol(format!("the answer has no `{field}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_info_serializes_pascal_case_without_empty_fields() {
        let info = DeviceInfo::new("cli/1").platform("Linux").ip_address("10.0.0.1");
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"ClientAgent": "cli/1", "ClientPlatform": "Linux", "ClientIPAddress": "10.0.0.1"})
        );
        assert!(info.validate().is_ok());
        assert!(DeviceInfo::new(" ").validate().is_err());
        assert!(DeviceInfo::new("a").ip_address("nope").validate().is_err());
    }

    #[test]
    fn completion_debug_hides_the_token() {
        let wire: CompleteWire = serde_json::from_str(
            r#"{"ApiToken":"tok-123","DeviceId":7,"UserId":"u","ApiTokenExpirationDateTimeUTC":"2027-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let done = wire.into_activation().unwrap();
        assert_eq!(done.device_id, "7");
        assert!(!format!("{done:?}").contains("tok-123"));
    }
}
