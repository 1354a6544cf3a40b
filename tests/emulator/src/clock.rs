//! The emulator's wall clock (with the configured skew) and the formats it is shown in.

use chrono::{DateTime, Duration as ChronoDuration, Timelike, Utc};

/// Wall clock of the emulated server: the machine's clock plus a fixed offset.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    offset_secs: i64,
}

impl Clock {
    /// A clock `offset_secs` seconds ahead of the machine's (behind when negative).
    pub(crate) fn new(offset_secs: i64) -> Clock {
        Clock { offset_secs }
    }

    /// The emulator's current time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        let now = Utc::now();
        ChronoDuration::try_seconds(self.offset_secs).and_then(|d| now.checked_add_signed(d)).unwrap_or(now)
    }

    /// The emulator's current time in Unix seconds.
    pub(crate) fn unix_now(&self) -> i64 {
        self.now().timestamp()
    }
}

/// RFC 7231 `Date` header format, e.g. `Sun, 22 Nov 2026 13:00:00 GMT`.
pub(crate) fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// .NET style ISO-8601 UTC with seven fractional digits, e.g. `2026-11-22T13:15:00.1234567Z`.
pub(crate) fn dotnet_utc(t: DateTime<Utc>) -> String {
    format!("{}.{:07}Z", t.format("%Y-%m-%dT%H:%M:%S"), (t.nanosecond() % 1_000_000_000) / 100)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn formats() {
        let t = Utc.with_ymd_and_hms(2026, 11, 22, 13, 15, 0).single().expect("valid")
            + ChronoDuration::nanoseconds(123_456_789);
        assert_eq!(dotnet_utc(t), "2026-11-22T13:15:00.1234567Z");
        assert_eq!(http_date(t), "Sun, 22 Nov 2026 13:15:00 GMT");
    }

    #[test]
    fn offset_moves_the_clock() {
        let ahead = Clock::new(3600).unix_now();
        let plain = Clock::new(0).unix_now();
        assert!((ahead - plain - 3600).abs() <= 1);
    }
}
