//! `watch`'s log: one line per message on stderr, with the UTC time. Nothing secret is
//! ever passed here (webhook URLs are shown as their origin only).

use chrono::{SecondsFormat, Utc};

/// Logs what happens normally.
pub fn info(message: impl std::fmt::Display) {
    eprintln!("{} info: {message}", Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
}

/// Logs a problem `watch` carries on after.
pub fn warn(message: impl std::fmt::Display) {
    eprintln!("{} warning: {message}", Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true));
}
