//! Text from the network made safe to show: bounded in length, control characters
//! escaped, and scrubbed of every secret the request carried.

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// The longest piece of a service's text quoted in an error, in characters.
pub(crate) const MAX_QUOTED_CHARS: usize = 300;

/// What replaces a secret found in a service's text.
const REDACTED: &str = "[redacted]";

/// `text` with control and bidirectional-override characters escaped (`\n`, `\r`,
/// `\u{1b}`, ...) and cut to at most [`MAX_QUOTED_CHARS`] characters of output (an
/// ellipsis marks the cut).
pub(crate) fn bounded(text: &str) -> String {
    let mut out = String::new();
    let mut length = 0;
    for c in text.chars() {
        let escape =
            c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        let piece: String = if escape { c.escape_default().collect() } else { c.to_string() };
        let count = piece.chars().count();
        if length + count > MAX_QUOTED_CHARS {
            out.push('…');
            break;
        }
        out.push_str(&piece);
        length += count;
    }
    out
}

/// The secrets one request carried, in every spelling a server might echo them in.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scrub {
    /// ASCII-lowercased spellings, longest first.
    needles: Vec<String>,
}

impl Scrub {
    /// Adds `secret` (raw, percent-encoded, form-encoded and JSON-escaped; matched
    /// without regard to ASCII case).
    pub fn add(&mut self, secret: &str) {
        if secret.is_empty() {
            return;
        }
        let json = serde_json::to_string(secret).unwrap_or_default();
        let spellings = [
            secret.to_owned(),
            utf8_percent_encode(secret, NON_ALPHANUMERIC).to_string(),
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            json.trim_matches('"').to_owned(),
        ];
        for spelling in spellings {
            let spelling = spelling.to_ascii_lowercase();
            if !spelling.is_empty() && !self.needles.contains(&spelling) {
                self.needles.push(spelling);
            }
        }
        self.needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
    }

    /// `text` with every spelling of every secret replaced by `[redacted]`.
    pub fn apply(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for needle in &self.needles {
            // ASCII lowercasing keeps byte offsets, so matches map back onto `text`.
            let mut out = String::with_capacity(text.len());
            let lower = text.to_ascii_lowercase();
            let mut rest = 0;
            while let Some(found) = lower[rest..].find(needle.as_str()) {
                let start = rest + found;
                out.push_str(&text[rest..start]);
                out.push_str(REDACTED);
                rest = start + needle.len();
            }
            out.push_str(&text[rest..]);
            text = out;
        }
        text
    }

    /// [`Scrub::apply`], then [`bounded`]: service text ready for an error message.
    pub fn quote(&self, text: &str) -> String {
        bounded(&self.apply(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_text_is_cut() {
        assert_eq!(bounded("a\r\nb\u{1b}[31m"), "a\\r\\nb\\u{1b}[31m");
        let long = bounded(&"é".repeat(1000));
        assert_eq!(long.chars().count(), MAX_QUOTED_CHARS + 1);
        let escapes = bounded(&"\u{1b}".repeat(1000));
        assert!(escapes.chars().count() <= MAX_QUOTED_CHARS + 1 && escapes.ends_with('…'));
    }

    #[test]
    fn every_spelling_of_a_secret_is_scrubbed() {
        let mut scrub = Scrub::default();
        scrub.add("Top/Secret+1=");
        scrub.add("");
        for echo in
            ["Top/Secret+1=", "TOP/SECRET+1=", "Top%2FSecret%2B1%3D", "top%2fsecret%2b1%3d", "Top%2FSecret%2B1%3D"]
        {
            let text = scrub.apply(&format!("bad token <{echo}> given"));
            assert_eq!(text, "bad token <[redacted]> given", "{echo}");
        }
        let mut scrub = Scrub::default();
        scrub.add("a b\"c");
        assert_eq!(scrub.apply(r#"{"x":"a b\"c"} a+b%22c"#), r#"{"x":"[redacted]"} [redacted]"#);
    }
}
