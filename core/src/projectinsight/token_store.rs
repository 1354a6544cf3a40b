//! Where a program keeps its Project Insight API tokens between runs: the OS keyring
//! when the `keyring` feature is on and one is reachable, else a private file.
//!
//! Each token is kept under a key of two parts: the API base URL (normalized as
//! [`super::Client::base_url`] shows it) and an *account*, a name the program chooses for
//! the person or profile the token belongs to (e.g. `"default"`, a local login name).

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::client::api_base;
use super::token_file::TokenFile;
use super::types::DeviceActivation;
use crate::activeconnect::store::{StoreError, StoreErrorKind};
use crate::{Error, Result, Secret};

/// The file name of the default token file, in `$XDG_CONFIG_HOME/deviceauth/`.
pub const TOKEN_FILE_NAME: &str = "projectinsight-tokens.json";

/// One stored API token and what came with it. `Debug` never shows the token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredToken {
    /// The API base URL the token is for, ending in `/`.
    pub base_url: String,
    /// The program's name for whom the token belongs to.
    pub account: String,
    /// The API token.
    pub api_token: Secret,
    /// The device id Project Insight gave this activation.
    pub device_id: String,
    /// The Project Insight user who approved the activation.
    pub user_id: String,
    /// The client agent the activation was made with (a new activation repeats it).
    pub client_agent: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
}

impl StoredToken {
    /// The token of a completed activation, to store under `base_url` and `account`.
    pub fn new(base_url: &str, account: &str, client_agent: &str, done: DeviceActivation) -> Result<StoredToken> {
        Ok(StoredToken {
            base_url: api_base(base_url)?.to_string(),
            account: check_account(account)?.to_owned(),
            api_token: done.api_token,
            device_id: done.device_id,
            user_id: done.user_id,
            client_agent: client_agent.to_owned(),
            expires_at: done.expires_at,
        })
    }

    /// Whether the token has expired by now.
    pub fn is_expired(&self) -> bool {
        Utc::now() >= self.expires_at
    }

    pub(crate) fn has_key(&self, key: &TokenKey) -> bool {
        self.base_url == key.base_url && self.account == key.account
    }
}

/// A checked `(base URL, account)` pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TokenKey {
    pub base_url: String,
    pub account: String,
}

impl TokenKey {
    pub(crate) fn new(base_url: &str, account: &str) -> Result<TokenKey> {
        Ok(TokenKey { base_url: api_base(base_url)?.to_string(), account: check_account(account)?.to_owned() })
    }
}

/// Longest account name accepted.
const MAX_ACCOUNT_CHARS: usize = 200;

fn check_account(account: &str) -> Result<&str> {
    if account.trim().is_empty() {
        return Err(Error::invalid("account must not be empty"));
    }
    if account.chars().count() > MAX_ACCOUNT_CHARS || account.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "account must be at most {MAX_ACCOUNT_CHARS} characters without control characters"
        )));
    }
    Ok(account)
}

/// A place to keep API tokens: a private file or (feature `keyring`) the OS keyring.
/// Cheap to clone; every call is a short blocking file or keyring operation.
#[derive(Clone, Debug)]
pub struct TokenStore {
    backend: Backend,
}

#[derive(Clone, Debug)]
enum Backend {
    File(TokenFile),
    #[cfg(feature = "keyring")]
    Keyring,
}

impl TokenStore {
    /// The OS keyring when this build has the `keyring` feature and a keyring answers
    /// (macOS Keychain, Windows Credential Manager, the Secret Service over D-Bus);
    /// otherwise the file at [`TokenStore::default_path`].
    pub fn open_default() -> Result<TokenStore> {
        #[cfg(feature = "keyring")]
        if super::token_keyring::reachable() {
            return Ok(TokenStore { backend: Backend::Keyring });
        }
        Ok(TokenStore::file(TokenStore::default_path()?))
    }

    /// The OS keyring (feature `keyring`); a `STORE` error with reason `UNREACHABLE` when
    /// none answers.
    #[cfg(feature = "keyring")]
    pub fn keyring() -> Result<TokenStore> {
        if super::token_keyring::reachable() {
            Ok(TokenStore { backend: Backend::Keyring })
        } else {
            Err(StoreError::new(StoreErrorKind::Unreachable, "no OS keyring answers").into())
        }
    }

    /// A token file at `path` (created on the first save, mode 0600, in a folder made
    /// with mode 0700). Unix only: elsewhere every call fails; use the keyring.
    pub fn file(path: impl Into<PathBuf>) -> TokenStore {
        TokenStore { backend: Backend::File(TokenFile::new(path.into())) }
    }

    /// `$XDG_CONFIG_HOME/deviceauth/projectinsight-tokens.json`, or
    /// `~/.config/deviceauth/...` when `XDG_CONFIG_HOME` is unset or not absolute
    /// (`%APPDATA%\deviceauth\...` on Windows). `INVALID_ARGUMENT` when there is no home.
    pub fn default_path() -> Result<PathBuf> {
        let absolute = |name: &str| std::env::var_os(name).map(PathBuf::from).filter(|p| p.is_absolute());
        let config = if cfg!(windows) {
            absolute("APPDATA")
        } else {
            absolute("XDG_CONFIG_HOME").or_else(|| absolute("HOME").map(|home| home.join(".config")))
        };
        let config = config.ok_or_else(|| {
            Error::invalid("no configuration folder: set XDG_CONFIG_HOME or HOME, or give the token file's path")
        })?;
        Ok(config.join("deviceauth").join(TOKEN_FILE_NAME))
    }

    /// Where the tokens are kept, for messages: the file's path or `OS keyring`.
    pub fn location(&self) -> String {
        match &self.backend {
            Backend::File(file) => file.path().display().to_string(),
            #[cfg(feature = "keyring")]
            Backend::Keyring => "OS keyring".to_owned(),
        }
    }

    /// Saves `token`, replacing any token under the same base URL and account. Two
    /// processes saving at once both land (the file is locked around read-modify-write
    /// and replaced atomically).
    pub fn save(&self, token: &StoredToken) -> Result<()> {
        let key = TokenKey::new(&token.base_url, &token.account)?;
        let token = StoredToken { base_url: key.base_url.clone(), account: key.account.clone(), ..token.clone() };
        match &self.backend {
            Backend::File(file) => file.save(token).map_err(Error::from),
            #[cfg(feature = "keyring")]
            Backend::Keyring => super::token_keyring::save(&key, &token).map_err(Error::from),
        }
    }

    /// The token stored under `base_url` and `account`, expired or not; `None` if none.
    pub fn load(&self, base_url: &str, account: &str) -> Result<Option<StoredToken>> {
        let key = TokenKey::new(base_url, account)?;
        match &self.backend {
            Backend::File(file) => file.load(&key).map_err(Error::from),
            #[cfg(feature = "keyring")]
            Backend::Keyring => super::token_keyring::load(&key).map_err(Error::from),
        }
    }

    /// Deletes the token under `base_url` and `account`; whether there was one.
    pub fn delete(&self, base_url: &str, account: &str) -> Result<bool> {
        let key = TokenKey::new(base_url, account)?;
        match &self.backend {
            Backend::File(file) => file.delete(&key).map_err(Error::from),
            #[cfg(feature = "keyring")]
            Backend::Keyring => super::token_keyring::delete(&key).map_err(Error::from),
        }
    }
}

/// A stored form that cannot be read; says where, never what (it may hold a token).
pub(crate) fn corrupt(place: &str, error: &serde_json::Error) -> StoreError {
    StoreError::new(
        StoreErrorKind::Corrupt,
        format!(
            "{place} is not a token store (line {}, column {}); delete it and activate again",
            error.line(),
            error.column()
        ),
    )
}
