//! Tokens in the OS keyring (feature `keyring`): one entry per key, service
//! `deviceauth-projectinsight`, user `<base URL> <account>`, the password the token's JSON.

use super::token_store::{StoredToken, TokenKey, corrupt};
use crate::activeconnect::store::{StoreError, StoreErrorKind, StoreResult};

/// The keyring service name of every entry.
const SERVICE: &str = "deviceauth-projectinsight";

/// Whether a keyring answers: the platform store started and a lookup of an entry that
/// does not exist says "no entry" (no D-Bus session or a locked keyring says otherwise).
pub(crate) fn reachable() -> bool {
    keyring::Entry::store_status().is_ok()
        && matches!(
            keyring::Entry::new(SERVICE, "probe").and_then(|entry| entry.get_password()),
            Ok(_) | Err(keyring::Error::NoEntry)
        )
}

fn entry(key: &TokenKey) -> StoreResult<keyring::Entry> {
    keyring::Entry::new(SERVICE, &format!("{} {}", key.base_url, key.account)).map_err(failure)
}

/// The keyring's error in words that never hold a stored value.
fn failure(error: keyring::Error) -> StoreError {
    let (kind, message) = match &error {
        keyring::Error::PlatformFailure(e) => (StoreErrorKind::Backend, format!("the keyring failed: {e}")),
        keyring::Error::NoStorageAccess(e) => {
            (StoreErrorKind::Unreachable, format!("the keyring is locked or unreachable: {e}"))
        }
        keyring::Error::NoDefaultStore => (StoreErrorKind::Unreachable, "no OS keyring answers".to_owned()),
        keyring::Error::BadEncoding(_) | keyring::Error::BadDataFormat(..) => {
            (StoreErrorKind::Corrupt, "the keyring entry is not a stored token".to_owned())
        }
        _ => (StoreErrorKind::Backend, "the keyring refused the entry".to_owned()),
    };
    StoreError::new(kind, message)
}

pub(crate) fn save(key: &TokenKey, token: &StoredToken) -> StoreResult<()> {
    let text = serde_json::to_string(token)
        .map_err(|e| StoreError::new(StoreErrorKind::Backend, format!("cannot encode the token: {e}")))?;
    entry(key)?.set_password(&text).map_err(failure)
}

pub(crate) fn load(key: &TokenKey) -> StoreResult<Option<StoredToken>> {
    match entry(key)?.get_password() {
        Ok(text) => serde_json::from_str(&text).map(Some).map_err(|e| corrupt("the keyring entry", &e)),
        Err(keyring::Error::NoEntry) => Ok(None),
        Err(error) => Err(failure(error)),
    }
}

pub(crate) fn delete(key: &TokenKey) -> StoreResult<bool> {
    match entry(key)?.delete_credential() {
        Ok(()) => Ok(true),
        Err(keyring::Error::NoEntry) => Ok(false),
        Err(error) => Err(failure(error)),
    }
}
