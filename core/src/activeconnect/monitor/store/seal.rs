//! Session rows at rest: the whole [`SessionData`] (user, token, secret, URLs) sealed
//! with XChaCha20-Poly1305 (the AEAD of sealed sessions) under the app's key. The row's
//! key is authenticated with it, so a sealed blob moved to another row does not open.
//! Format: `dar1.` + base64url(nonce 24 bytes || ciphertext || tag 16 bytes).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroize;

use super::{StoreError, StoreResult};
use crate::activeconnect::{SEAL_KEY_BYTES, SessionData};

const PREFIX: &str = "dar1.";
const NONCE_BYTES: usize = 24;

/// The app's key for rows at rest.
#[derive(Clone)]
pub(crate) struct RowKey(XChaCha20Poly1305);

impl RowKey {
    pub fn new(key: &[u8]) -> StoreResult<RowKey> {
        if key.len() != SEAL_KEY_BYTES {
            return Err(StoreError::invalid(format!("a store seal key is {SEAL_KEY_BYTES} bytes, not {}", key.len())));
        }
        XChaCha20Poly1305::new_from_slice(key).map(RowKey).map_err(|_| StoreError::invalid("unusable seal key"))
    }

    fn aad(row: &str) -> Vec<u8> {
        format!("deviceauth store row v1\n{row}").into_bytes()
    }

    pub fn seal(&self, row: &str, data: &SessionData) -> StoreResult<String> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|e| StoreError::backend(format!("no random numbers: {e}")))?;
        let mut plain = data.to_json().into_bytes();
        let sealed = self.0.encrypt(&XNonce::from(nonce), Payload { msg: &plain, aad: &Self::aad(row) });
        plain.zeroize();
        let sealed = sealed.map_err(|_| StoreError::backend("the session could not be sealed"))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(blob)))
    }

    pub fn open(&self, row: &str, sealed: &str) -> StoreResult<SessionData> {
        let refused = || StoreError::corrupt(row, "the sealed session does not open (altered, or another key)");
        let body = sealed.strip_prefix(PREFIX).ok_or_else(refused)?;
        let blob = URL_SAFE_NO_PAD.decode(body).map_err(|_| refused())?;
        if blob.len() < NONCE_BYTES + 16 {
            return Err(refused());
        }
        let (nonce, sealed) = blob.split_at(NONCE_BYTES);
        let nonce = XNonce::try_from(nonce).map_err(|_| refused())?;
        let mut plain = self.0.decrypt(&nonce, Payload { msg: sealed, aad: &Self::aad(row) }).map_err(|_| refused())?;
        let data = std::str::from_utf8(&plain)
            .map_err(|_| refused())
            .and_then(|text| SessionData::from_json(text).map_err(|e| StoreError::corrupt(row, e.to_string())));
        plain.zeroize();
        data
    }
}
