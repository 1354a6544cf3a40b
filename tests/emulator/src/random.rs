//! Random identifiers, tokens, secrets and codes.

use rand::RngExt;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `n` random bytes as lowercase hex (`2n` characters).
pub(crate) fn hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::fill(&mut bytes[..]);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `n` random characters from `[A-Za-z0-9]`.
pub(crate) fn alnum(n: usize) -> String {
    from_charset(ALNUM, n)
}

/// `n` random characters from `[A-Z0-9]`.
pub(crate) fn upper_alnum(n: usize) -> String {
    from_charset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n)
}

/// `n` random decimal digits (leading zeros allowed).
pub(crate) fn digits(n: usize) -> String {
    from_charset(b"0123456789", n)
}

/// A random GUID in the usual lowercase hyphenated form.
pub(crate) fn guid() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes[..]);
    guid_from(bytes)
}

/// Formats 16 bytes as a GUID (version 4 bits set).
pub(crate) fn guid_from(mut b: [u8; 16]) -> String {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: Vec<String> = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        h[0..4].concat(),
        h[4..6].concat(),
        h[6..8].concat(),
        h[8..10].concat(),
        h[10..16].concat()
    )
}

fn from_charset(set: &[u8], n: usize) -> String {
    let mut rng = rand::rng();
    (0..n).map(|_| char::from(set[rng.random_range(0..set.len())])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(hex(16).len(), 32);
        assert!(hex(16).chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(alnum(32).len(), 32);
        assert!(digits(6).chars().all(|c| c.is_ascii_digit()));
        let g = guid();
        assert_eq!(g.len(), 36);
        assert_eq!(g.matches('-').count(), 4);
        assert_ne!(hex(16), hex(16));
    }
}
