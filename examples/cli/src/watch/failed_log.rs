//! The record of deliveries that kept failing: one JSON line each, appended to a file
//! only the user can read (it names users and keys; it holds no secret).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{SecondsFormat, Utc};
use deviceauth::activeconnect::store::StoreEvent;
use serde_json::json;

/// The failed-deliveries file, open for appending.
pub struct FailedLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl FailedLog {
    /// Opens (creating it, mode 0600) the file at `path` for appending.
    pub fn open(path: &Path) -> Result<FailedLog, String> {
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(path).map_err(|e| format!("--failed-log {}: {e}", path.display()))?;
        Ok(FailedLog { path: path.to_owned(), file: Mutex::new(file) })
    }

    /// Where the file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one line for `event`: its id, key, kind and status, the attempts made, the
    /// last error, the time, and the JSON body that was to be sent (`body`).
    pub fn record(&self, event: &StoreEvent, body: &[u8], attempts: u32, error: &str) -> std::io::Result<()> {
        let payload = serde_json::from_slice::<serde_json::Value>(body).unwrap_or(serde_json::Value::Null);
        let line = json!({
            "event_id": event.id,
            "key": event.key,
            "kind": event.kind,
            "status": event.status.as_str(),
            "attempts": attempts,
            "last_error": error,
            "failed_at": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
            "event": payload,
        });
        let mut file = self.file.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        file.write_all(format!("{line}\n").as_bytes())?;
        file.flush()
    }
}
