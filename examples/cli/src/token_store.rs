//! The API token file: JSON, created readable and writable by its owner only.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::failure::Failure;

/// What `activate` stores and `projects` reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct StoredToken {
    pub base_url: String,
    pub api_token: deviceauth::Secret,
    pub device_id: String,
    pub user_id: String,
    pub expires_at: DateTime<Utc>,
}

/// `path`, or `~/.config/deviceauth/projectinsight.json` (`$XDG_CONFIG_HOME` honoured).
pub fn path_or_default(path: Option<PathBuf>) -> PathBuf {
    path.unwrap_or_else(|| {
        let config = std::env::var_os("XDG_CONFIG_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".config")))
            .unwrap_or_else(|| PathBuf::from("."));
        config.join("deviceauth").join("projectinsight.json")
    })
}

/// Writes the token file with mode 0600 (replacing an older one atomically).
pub fn save(path: &Path, token: &StoredToken) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("tmp");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    let json = serde_json::to_vec_pretty(token).map_err(|e| Failure::Local(e.to_string()))?;
    file.write_all(&json)?;
    file.sync_all()?;
    fs::rename(&temporary, path)?;
    Ok(())
}

/// Reads the token file written by [`save`].
pub fn load(path: &Path) -> Result<StoredToken, Failure> {
    let text = fs::read(path).map_err(|e| {
        Failure::Local(format!("cannot read {}: {e}\nhint: run `deviceauth-cli activate` first", path.display()))
    })?;
    // The parse error's position only: its message could quote the token.
    serde_json::from_slice(&text).map_err(|e| {
        Failure::Local(format!("{} is not a token file (line {}, column {})", path.display(), e.line(), e.column()))
    })
}
