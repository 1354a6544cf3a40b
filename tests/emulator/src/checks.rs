//! The emulator's signature checks as plain functions, for property tests and fuzzing of
//! clients against an implementation written independently of them.

/// Splits an `Authentication` header value into `(client_id, nonce, signature)`;
/// `None` when it is malformed.
pub fn parse_authentication_header(value: &str) -> Option<(String, String, String)> {
    crate::signature::parse_auth_header(value)
        .map(|h| (h.client_id.to_owned(), h.nonce.to_owned(), h.signature.to_owned()))
}

/// Whether `header` signs `uri` (the URL without its scheme) at `timestamp` with
/// `secret`, exactly as the service checks it (no nonce or clock checks).
pub fn verify_signature(header: &str, secret: &str, uri: &str, timestamp: &str) -> bool {
    crate::signature::parse_auth_header(header).is_some_and(|h| {
        let expected = crate::signature::signature(secret, h.nonce, uri, timestamp);
        crate::signature::signatures_match(&expected, h.signature)
    })
}
