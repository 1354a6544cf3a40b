//! Session statuses and authentication methods, as the service spells them.

use std::convert::Infallible;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// The state of a sign-in session, as reported by its `status_url`.
///
/// Unknown future values are kept in [`Status::Unknown`] and count as ended, as the
/// service says of any status it does not list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Request sent, waiting for the phone.
    Pending,
    /// The phone is processing the request.
    Identifying,
    /// The user is authenticated.
    Active,
    /// Authenticated, but the phone is no longer near the computer (see
    /// [`Status::is_authenticated`] for what an app does with it).
    Walkaway,
    /// The user did not respond in time.
    Timeout,
    /// The session was closed (logout, remote logout, expiry).
    Closed,
    /// Authentication failed (for example, the user denied it).
    Failed,
    /// The user cancelled on the phone.
    Cancelled,
    /// A status this library does not know, with the raw string.
    Unknown(String),
}

impl Status {
    /// Reads the wire string (case and surrounding spaces ignored).
    pub fn from_wire(text: &str) -> Status {
        match text.trim().to_ascii_lowercase().as_str() {
            "pending" => Status::Pending,
            "identifying" => Status::Identifying,
            "active" => Status::Active,
            "walkaway" => Status::Walkaway,
            "timeout" => Status::Timeout,
            "closed" => Status::Closed,
            "failed" => Status::Failed,
            "cancelled" => Status::Cancelled,
            _ => Status::Unknown(text.to_owned()),
        }
    }

    /// The wire string (`"pending"`, `"active"`, ...; the raw string for unknown values).
    pub fn as_str(&self) -> &str {
        match self {
            Status::Unknown(raw) => raw,
            known => known.known_name(),
        }
    }

    /// The wire name of a known status; `"unknown"` for any other, never the server's own
    /// text (a metric label or trace field must not carry it).
    pub(crate) fn known_name(&self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Identifying => "identifying",
            Status::Active => "active",
            Status::Walkaway => "walkaway",
            Status::Timeout => "timeout",
            Status::Closed => "closed",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Unknown(_) => "unknown",
        }
    }

    /// Waiting for the phone: `pending` or `identifying`.
    pub fn is_in_progress(&self) -> bool {
        matches!(self, Status::Pending | Status::Identifying)
    }

    /// The service session is authenticated: `active` or `walkaway`. Whether an app keeps
    /// a walked-away user signed in is its walkaway policy (the web adapters sign the user
    /// out by default, `walkaway = "sign_out"`, or keep them with `"keep"`).
    pub fn is_authenticated(&self) -> bool {
        matches!(self, Status::Active | Status::Walkaway)
    }

    /// The session is over (refused, timed out, cancelled, closed, or unknown).
    pub fn is_ended(&self) -> bool {
        !self.is_in_progress() && !self.is_authenticated()
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = Infallible;
    fn from_str(text: &str) -> Result<Self, Infallible> {
        Ok(Status::from_wire(text))
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Status::from_wire(&s))
    }
}

/// A way the user proves presence on the phone. Omit methods to let the service choose
/// (preferred).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Method {
    /// Confirm the prompt.
    Acceptance,
    /// Unlock the phone.
    Device,
    /// Face recognition.
    Facial,
}

impl Method {
    /// The wire string (`acceptance`, `device`, `facial`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Acceptance => "acceptance",
            Method::Device => "device",
            Method::Facial => "facial",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self, Error> {
        match text.trim().to_ascii_lowercase().as_str() {
            "acceptance" => Ok(Method::Acceptance),
            "device" => Ok(Method::Device),
            "facial" => Ok(Method::Facial),
            _ => Err(Error::invalid(format!(
                "unknown authentication method {text:?}; expected acceptance, device or facial"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_service_table() {
        let table = [
            ("pending", true, false),
            ("identifying", true, false),
            ("active", false, true),
            ("walkaway", false, true),
            ("timeout", false, false),
            ("failed", false, false),
            ("cancelled", false, false),
            ("closed", false, false),
        ];
        for (wire, in_progress, authenticated) in table {
            let status = Status::from_wire(wire);
            assert_eq!(status.as_str(), wire);
            assert!(!matches!(status, Status::Unknown(_)), "{wire}");
            assert_eq!(status.is_in_progress(), in_progress, "{wire}");
            assert_eq!(status.is_authenticated(), authenticated, "{wire}");
            assert_eq!(status.is_ended(), !in_progress && !authenticated, "{wire}");
        }
    }

    #[test]
    fn unknown_statuses_keep_the_raw_string_and_count_as_ended() {
        let status = Status::from_wire("quarantined");
        assert_eq!(status, Status::Unknown("quarantined".into()));
        assert_eq!(status.to_string(), "quarantined");
        assert!(status.is_ended());
        assert_eq!(Status::from_wire(" ACTIVE "), Status::Active);
    }

    #[test]
    fn methods_parse_and_reject_unknown_names() {
        assert_eq!("Facial".parse::<Method>().unwrap(), Method::Facial);
        assert_eq!("retina".parse::<Method>().unwrap_err().code(), "INVALID_ARGUMENT");
    }
}
