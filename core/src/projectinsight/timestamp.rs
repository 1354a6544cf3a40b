//! Project Insight timestamps: ISO-8601 UTC, with or without the `Z` and with up to
//! seven fractional digits (.NET style).

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};

use crate::{Error, Result};

/// Parses a `...UTC` field. A time without an offset is UTC, as the field names say.
/// Years outside 1..=9999 are refused: no host language represents them all.
pub(crate) fn parse_utc(field: &str, text: &str) -> Result<DateTime<Utc>> {
    let text = text.trim();
    let time = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f").map(|t| t.and_utc()))
        .map_err(|_| Error::protocol(format!("`{field}` is not an ISO-8601 time: {:?}", crate::text::bounded(text))))?;
    if !(1..=9999).contains(&time.year()) {
        return Err(Error::protocol(format!("`{field}` has the year {}, outside 1 to 9999", time.year())));
    }
    Ok(time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_utc_form() {
        let expected = "2026-11-22T13:15:00.123456700Z";
        for text in ["2026-11-22T13:15:00.1234567Z", "2026-11-22T13:15:00.1234567", "2026-11-22T14:15:00.1234567+01:00"]
        {
            let parsed = parse_utc("X", text).unwrap();
            assert_eq!(parsed.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true), expected, "{text}");
        }
        assert_eq!(parse_utc("X", "2026-11-22T13:15:00Z").unwrap().timestamp(), 1_795_353_300);
        assert_eq!(parse_utc("X", "tomorrow").unwrap_err().code(), "PROTOCOL");
        for bad in
            ["0000-01-01T00:00:00Z", "+10000-01-01T00:00:00", "-0001-01-01T00:00:00", "9999-12-31T23:59:59-01:00"]
        {
            assert_eq!(parse_utc("X", bad).unwrap_err().code(), "PROTOCOL", "{bad}");
        }
        assert!(parse_utc("X", "9999-12-31T23:59:59Z").is_ok() && parse_utc("X", "0001-01-01T00:00:00Z").is_ok());
    }
}
