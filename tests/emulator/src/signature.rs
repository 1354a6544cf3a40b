//! Activeconnect "Authentication Protocol 1": the HMAC request signature, computed
//! independently of the client crate so each checks the other.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// `SHA-256(nonce_decimal + secret)[0..16]`.
pub(crate) fn signing_token(nonce: &str, secret: &str) -> [u8; 16] {
    let mut hasher = Sha256::new();
    hasher.update(nonce.as_bytes());
    hasher.update(secret.as_bytes());
    let digest = hasher.finalize();
    let mut token = [0u8; 16];
    token.copy_from_slice(&digest[..16]);
    token
}

/// `base64(HMAC-SHA256(token, nonce + uri + timestamp)[0..16])`, where `uri` is
/// `host[:port]/path?query` as sent (no scheme).
pub(crate) fn signature(secret: &str, nonce: &str, uri: &str, timestamp: &str) -> String {
    let token = signing_token(nonce, secret);
    // HMAC accepts keys of any length; a 16-byte key cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(&token) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(nonce.as_bytes());
    mac.update(uri.as_bytes());
    mac.update(timestamp.as_bytes());
    let out = mac.finalize().into_bytes();
    STANDARD.encode(&out[..16])
}

/// Constant-time comparison of two signature strings.
pub(crate) fn signatures_match(expected: &str, received: &str) -> bool {
    expected.len() == received.len() && bool::from(expected.as_bytes().ct_eq(received.as_bytes()))
}

/// The three parts of `Authentication: hmac <client_id>:<nonce>:<signature>`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct AuthHeader<'a> {
    /// Application id or session token.
    pub client_id: &'a str,
    /// The nonce exactly as sent (decimal digits).
    pub nonce: &'a str,
    /// The base64 signature as sent.
    pub signature: &'a str,
}

/// Parses the `Authentication` header value; `None` when malformed.
pub(crate) fn parse_auth_header(value: &str) -> Option<AuthHeader<'_>> {
    let value = value.trim();
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("hmac") {
        return None;
    }
    let mut parts = rest.trim().rsplitn(3, ':');
    let signature = parts.next()?;
    let nonce = parts.next()?;
    let client_id = parts.next()?;
    let nonce_ok = !nonce.is_empty()
        && nonce.len() <= 20
        && nonce.bytes().all(|b| b.is_ascii_digit())
        && nonce.parse::<u64>().is_ok();
    if client_id.is_empty() || signature.is_empty() || !nonce_ok {
        return None;
    }
    Some(AuthHeader { client_id, nonce, signature })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The worked example of the wire document, byte for byte.
    #[test]
    fn worked_example() {
        let nonce = "9223372036854775807";
        assert_eq!(hex(&signing_token(nonce, "s3cret")), "bd97be5ac615231b56e8736cf9c98de8");
        let uri = "activeconnect.activeapi.ninja/management/add_users/ABCD";
        assert_eq!(signature("s3cret", nonce, uri, "1234567890"), "P7/K50V7bn2CVNBe/dKGFQ==");
        let header = "hmac ABCD:9223372036854775807:P7/K50V7bn2CVNBe/dKGFQ==";
        assert_eq!(
            parse_auth_header(header),
            Some(AuthHeader { client_id: "ABCD", nonce, signature: "P7/K50V7bn2CVNBe/dKGFQ==" })
        );
    }

    #[test]
    fn any_change_changes_the_signature() {
        let base = signature("s3cret", "1", "h/p?q=1", "10");
        assert_ne!(base, signature("s3cret!", "1", "h/p?q=1", "10"));
        assert_ne!(base, signature("s3cret", "2", "h/p?q=1", "10"));
        assert_ne!(base, signature("s3cret", "1", "h/p?q=2", "10"));
        assert_ne!(base, signature("s3cret", "1", "h/p?q=1", "11"));
    }

    #[test]
    fn malformed_headers() {
        for bad in [
            "",
            "hmac",
            "hmac ABCD",
            "hmac ABCD:12",
            "hmac :12:sig",
            "hmac ABCD:12:",
            "hmac ABCD:-12:sig",
            "hmac ABCD:1a:sig",
            "hmac ABCD:99999999999999999999:sig",
            "Bearer ABCD:12:sig",
        ] {
            assert_eq!(parse_auth_header(bad), None, "{bad:?}");
        }
        let ok = parse_auth_header("HMAC a:b:12:c2ln").expect("parses");
        assert_eq!((ok.client_id, ok.nonce, ok.signature), ("a:b", "12", "c2ln"));
    }

    #[test]
    fn comparison() {
        assert!(signatures_match("abc=", "abc="));
        assert!(!signatures_match("abc=", "abd="));
        assert!(!signatures_match("abc=", "abc"));
    }
}
