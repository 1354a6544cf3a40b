//! Response bodies of the Activeconnect API, in every shape the service and its
//! official clients are known to use.

use serde::Deserialize;

use super::AddedUsers;
use crate::transport::Reply;
use crate::{Error, Result};

/// The `status`/`reason` pair of management answers.
#[derive(Debug, Deserialize)]
pub(crate) struct Outcome {
    #[serde(default)]
    pub status: Option<bool>,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Outcome {
    /// `Err(Refused)` when the service said `"status": false` in `reply`; the reason is
    /// quoted as [`Reply::quote`] makes it safe.
    pub fn check(self, reply: &Reply) -> Result<()> {
        match self.status {
            Some(false) => Err(Error::Refused {
                reason: self.reason.map_or_else(|| "no reason given".into(), |r| reply.quote(&r)),
            }),
            _ => Ok(()),
        }
    }
}

/// `add_users` answer.
#[derive(Debug, Deserialize)]
pub(crate) struct AddUsersReply {
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(default)]
    pub users: Option<AddedUsers>,
}

/// Registration-link answers (`device_registration_link`, `lost_user_mobile_device`).
#[derive(Debug, Deserialize)]
pub(crate) struct LinkReply {
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(default)]
    pub register_url: Option<String>,
}

/// `has_registered_mobile_device` answer.
#[derive(Debug, Deserialize)]
pub(crate) struct HasDeviceReply {
    #[serde(flatten)]
    pub outcome: Outcome,
    #[serde(default)]
    pub device_registered: Option<bool>,
}

/// The body of `authenticate_user` and of status polls: the official clients read it
/// nested under `authentication_status`, the docs show it flat. Both are accepted.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum AuthEnvelope {
    Nested { authentication_status: AuthStatus },
    Flat(AuthStatus),
}

impl AuthEnvelope {
    pub fn into_inner(self) -> AuthStatus {
        match self {
            AuthEnvelope::Nested { authentication_status } => authentication_status,
            AuthEnvelope::Flat(status) => status,
        }
    }
}

/// The fields of an authentication status.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AuthStatus {
    #[serde(default)]
    pub authenticated: Option<bool>,
    #[serde(default)]
    pub session_status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub status_url: Option<String>,
    #[serde(default)]
    pub logout_url: Option<String>,
    #[serde(default)]
    pub session_token: Option<String>,
    #[serde(default)]
    pub session_secret: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_status_shapes_are_read() {
        let nested: AuthEnvelope =
            serde_json::from_str(r#"{"authentication_status":{"session_status":"active"}}"#).unwrap();
        assert_eq!(nested.into_inner().session_status.as_deref(), Some("active"));
        let flat: AuthEnvelope = serde_json::from_str(r#"{"authenticated":true,"session_status":"walkaway"}"#).unwrap();
        let flat = flat.into_inner();
        assert_eq!(flat.session_status.as_deref(), Some("walkaway"));
        assert_eq!(flat.authenticated, Some(true));
    }

    #[test]
    fn status_false_is_refused_with_the_reason() {
        let reply =
            Reply { status: 200, headers: Default::default(), body: Default::default(), scrub: Default::default() };
        let outcome: Outcome = serde_json::from_str(r#"{"status":false,"reason":"TOO_MANY"}"#).unwrap();
        let err = outcome.check(&reply).unwrap_err();
        assert_eq!((err.code(), err.reason()), ("REFUSED", Some("TOO_MANY")));
    }
}
