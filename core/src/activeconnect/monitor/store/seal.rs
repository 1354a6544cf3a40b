//! Session rows at rest: the whole [`SessionData`] (user, token, secret, URLs) sealed
//! with XChaCha20-Poly1305 (the AEAD of sealed sessions) under the app's key. The row's
//! key is authenticated with it, so a sealed blob moved to another row does not open.
//! Format: `dar1.` + base64url(nonce 24 bytes || ciphertext || tag 16 bytes).

use chacha20poly1305::XChaCha20Poly1305;
use chacha20poly1305::aead::KeyInit;
use zeroize::Zeroize;

use super::{StoreError, StoreResult};
use crate::activeconnect::seal::{SealFailure, open_frame, seal_frame};
use crate::activeconnect::{SEAL_KEY_BYTES, SessionData};

const PREFIX: &str = "dar1.";

/// The app's key for rows at rest.
#[derive(Clone)]
pub(crate) struct RowKey(XChaCha20Poly1305);

impl RowKey {
    pub fn new(key: &[u8]) -> StoreResult<RowKey> {
        if key.len() != SEAL_KEY_BYTES {
            return Err(StoreError::invalid(if key.is_empty() {
                format!("a store other than memory needs a seal key of {SEAL_KEY_BYTES} bytes")
            } else {
                format!("a store seal key is {SEAL_KEY_BYTES} bytes, not {}", key.len())
            }));
        }
        XChaCha20Poly1305::new_from_slice(key).map(RowKey).map_err(|_| StoreError::invalid("unusable seal key"))
    }

    fn aad(row: &str) -> Vec<u8> {
        format!("deviceauth store row v1\n{row}").into_bytes()
    }

    pub fn seal(&self, row: &str, data: &SessionData) -> StoreResult<String> {
        let mut plain = data.to_json().into_bytes();
        let sealed = seal_frame(&self.0, PREFIX, &Self::aad(row), &plain);
        plain.zeroize();
        sealed.map_err(|failure| match failure {
            SealFailure::Random(e) => StoreError::backend(format!("no random numbers: {e}")),
            SealFailure::Encrypt => StoreError::backend("the session could not be sealed"),
        })
    }

    pub fn open(&self, row: &str, sealed: &str) -> StoreResult<SessionData> {
        let refused = || StoreError::corrupt(row, "the sealed session does not open (altered, or another key)");
        let body = sealed.strip_prefix(PREFIX).ok_or_else(refused)?;
        let mut plain = open_frame(&self.0, body, &Self::aad(row)).ok_or_else(refused)?;
        let data = std::str::from_utf8(&plain)
            .map_err(|_| refused())
            .and_then(|text| SessionData::from_json(text).map_err(|e| StoreError::corrupt(row, e.to_string())));
        plain.zeroize();
        data
    }
}
