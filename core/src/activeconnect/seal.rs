//! Sealed sessions for stateless web tiers: a session's data encrypted and authenticated
//! (XChaCha20-Poly1305) into an opaque string that can sit in a cookie.
//!
//! Format: `das1.` then unpadded base64url of a random 24-byte nonce followed by the
//! ciphertext and its 16-byte tag. The application id is authenticated with it, so a blob
//! sealed for one application does not open for another.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroize;

use super::{Client, Session, SessionData};
use crate::{Error, Result};

/// Length of a seal key in bytes (generate one with a CSPRNG, e.g. `openssl rand -hex 32`,
/// and keep it like a password).
pub const SEAL_KEY_BYTES: usize = 32;

const PREFIX: &str = "das1.";
const NONCE_BYTES: usize = 24;
const TAG_BYTES: usize = 16;
/// Sealed text longer than this is refused before decoding (a session seals to ~700).
const MAX_SEALED_CHARS: usize = 16 * 1024;

impl Session {
    /// The session's data, encrypted and authenticated with `key` (32 bytes) into an
    /// opaque string for a cookie. [`Client::unseal`] resumes it.
    pub fn seal(&self, key: &[u8]) -> Result<String> {
        seal(self.client().application_id(), &self.data(), key)
    }
}

impl Client {
    /// Resumes a session from [`Session::seal`]'s output. Altered, truncated, or foreign
    /// text (another key or application) is refused with `INVALID_ARGUMENT`.
    pub fn unseal(&self, sealed: &str, key: &[u8]) -> Result<Session> {
        Ok(self.resume(unseal(self.application_id(), sealed, key)?))
    }
}

fn cipher(key: &[u8]) -> Result<XChaCha20Poly1305> {
    if key.len() != SEAL_KEY_BYTES {
        return Err(Error::invalid(format!("a seal key is {SEAL_KEY_BYTES} bytes, not {}", key.len())));
    }
    XChaCha20Poly1305::new_from_slice(key).map_err(|_| Error::invalid("unusable seal key"))
}

fn associated_data(application_id: &str) -> Vec<u8> {
    format!("deviceauth sealed session v1\n{application_id}").into_bytes()
}

fn seal(application_id: &str, data: &SessionData, key: &[u8]) -> Result<String> {
    let cipher = cipher(key)?;
    let mut plain = serde_json::to_vec(data).map_err(|e| Error::invalid(e.to_string()))?;
    let sealed = seal_frame(&cipher, PREFIX, &associated_data(application_id), &plain);
    plain.zeroize();
    sealed.map_err(|failure| match failure {
        SealFailure::Random(e) => Error::Transport(format!("no random numbers for the seal: {e}")),
        SealFailure::Encrypt => Error::invalid("the session could not be sealed"),
    })
}

fn unseal(application_id: &str, sealed: &str, key: &[u8]) -> Result<SessionData> {
    let cipher = cipher(key)?;
    let refused =
        || Error::invalid("the sealed session was altered, truncated, or sealed with another key or application");
    let body = sealed
        .trim()
        .strip_prefix(PREFIX)
        .ok_or_else(|| Error::invalid("not a sealed session (it must start with das1.)"))?;
    if body.len() > MAX_SEALED_CHARS {
        return Err(Error::invalid("the sealed session is too long"));
    }
    let mut plain = open_frame(&cipher, body, &associated_data(application_id)).ok_or_else(refused)?;
    let data = serde_json::from_slice(&plain).map_err(|_| Error::invalid("the sealed session holds unreadable data"));
    plain.zeroize();
    data
}

/// Why [`seal_frame`] failed.
pub(crate) enum SealFailure {
    /// The operating system gave no random numbers for the nonce.
    Random(getrandom::Error),
    /// The AEAD refused to encrypt.
    Encrypt,
}

/// The framing shared by sealed sessions and sealed store rows: `prefix` then unpadded
/// base64url of a random 24-byte nonce, the ciphertext and its 16-byte tag.
pub(crate) fn seal_frame(
    cipher: &XChaCha20Poly1305,
    prefix: &str,
    aad: &[u8],
    plain: &[u8],
) -> std::result::Result<String, SealFailure> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(SealFailure::Random)?;
    let sealed = cipher.encrypt(&XNonce::from(nonce), Payload { msg: plain, aad }).map_err(|_| SealFailure::Encrypt)?;
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(blob)))
}

/// The plain bytes of a [`seal_frame`] body (the text after its prefix); `None` when it
/// is not base64url, too short, altered, or sealed under another key or `aad`.
pub(crate) fn open_frame(cipher: &XChaCha20Poly1305, body: &str, aad: &[u8]) -> Option<Vec<u8>> {
    let blob = URL_SAFE_NO_PAD.decode(body).ok()?;
    if blob.len() < NONCE_BYTES + TAG_BYTES {
        return None;
    }
    let (nonce, sealed) = blob.split_at(NONCE_BYTES);
    let nonce = XNonce::try_from(nonce).ok()?;
    cipher.decrypt(&nonce, Payload { msg: sealed, aad }).ok()
}
