//! The token file: JSON `{"version": 1, "tokens": [...]}`, mode 0600, owned by the user.
//!
//! Writers take an exclusive `flock` on `<file>.lock` (never deleted) around
//! read-modify-write, write a temporary file in the same folder, `fsync` it, rename it over
//! the file and `fsync` the folder; readers need no lock (a rename is atomic). A file (or
//! lock file) that is a symbolic link, belongs to another user, or (the token file) has a
//! mode wider than 0600 is refused with `INSECURE` and never read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::token_store::{StoredToken, TokenKey};
use crate::activeconnect::store::{StoreError, StoreErrorKind, StoreResult};

/// The version this library writes and reads.
const FORMAT_VERSION: u32 = 1;

/// The file's contents.
#[derive(Serialize, Deserialize)]
struct Contents {
    version: u32,
    tokens: Vec<StoredToken>,
}

/// A token file at a path.
#[derive(Clone, Debug)]
pub(crate) struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    pub(crate) fn new(path: PathBuf) -> TokenFile {
        TokenFile { path }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn load(&self, key: &TokenKey) -> StoreResult<Option<StoredToken>> {
        Ok(self.read()?.tokens.into_iter().find(|t| t.has_key(key)))
    }

    pub(crate) fn save(&self, token: StoredToken) -> StoreResult<()> {
        self.update(|tokens| {
            tokens.retain(|t| !(t.base_url == token.base_url && t.account == token.account));
            tokens.push(token);
        })
    }

    pub(crate) fn delete(&self, key: &TokenKey) -> StoreResult<bool> {
        if !self.exists()? {
            return Ok(false);
        }
        self.update(|tokens| {
            let before = tokens.len();
            tokens.retain(|t| !t.has_key(key));
            tokens.len() != before
        })
    }

    fn exists(&self) -> StoreResult<bool> {
        match std::fs::symlink_metadata(&self.path) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(self.io("cannot look at", &e)),
        }
    }

    /// Locks, reads, applies `change`, writes back.
    fn update<T>(&self, change: impl FnOnce(&mut Vec<StoredToken>) -> T) -> StoreResult<T> {
        let folder = self.folder();
        private::create_folder(folder).map_err(|e| self.io("cannot create the folder of", &e))?;
        let _lock = private::lock(&self.lock_path())?;
        let mut contents = self.read()?;
        let result = change(&mut contents.tokens);
        let text = serde_json::to_vec_pretty(&contents)
            .map_err(|e| StoreError::new(StoreErrorKind::Backend, format!("cannot encode the tokens: {e}")))?;
        private::replace(&self.path, folder, &text).map_err(|e| self.io("cannot write", &e))?;
        Ok(result)
    }

    /// The contents; empty when there is no file yet.
    fn read(&self) -> StoreResult<Contents> {
        let Some(bytes) = private::read(&self.path)? else {
            return Ok(Contents { version: FORMAT_VERSION, tokens: Vec::new() });
        };
        let place = self.path.display().to_string();
        let contents: Contents = serde_json::from_slice(&bytes).map_err(|e| super::token_store::corrupt(&place, &e))?;
        if contents.version > FORMAT_VERSION {
            return Err(StoreError::new(
                StoreErrorKind::SchemaTooNew,
                format!("{place} was written by a newer deviceauth (format {})", contents.version),
            ));
        }
        Ok(contents)
    }

    fn folder(&self) -> &Path {
        self.path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    fn io(&self, what: &str, error: &std::io::Error) -> StoreError {
        StoreError::new(StoreErrorKind::Backend, format!("{what} {}: {error}", self.path.display()))
    }
}

#[cfg(unix)]
mod private {
    //! The Unix file operations: modes, owners, `flock`, atomic replace.

    use std::fs::{DirBuilder, File, OpenOptions};
    use std::io::{ErrorKind, Read, Write};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
    use std::path::Path;
    use std::time::{Duration, Instant};

    use crate::activeconnect::store::{StoreError, StoreErrorKind, StoreResult};

    /// How long a writer waits for another process's lock.
    const LOCK_WAIT: Duration = Duration::from_secs(10);
    /// Largest token file read.
    const MAX_FILE_BYTES: u64 = 1 << 20;

    fn insecure(path: &Path, why: &str) -> StoreError {
        StoreError::new(StoreErrorKind::Insecure, format!("{} {why}; it was not used", path.display()))
    }

    fn backend(path: &Path, what: &str, error: &std::io::Error) -> StoreError {
        StoreError::new(StoreErrorKind::Backend, format!("{what} {}: {error}", path.display()))
    }

    /// Opens `options` at `path` without following a symbolic link.
    fn open_no_follow(options: &mut OpenOptions, path: &Path) -> std::io::Result<File> {
        options.custom_flags(libc::O_NOFOLLOW).open(path)
    }

    /// Refuses a file that is not a regular file of this user (and, if `private`, one
    /// with any group or other permission bit).
    fn check(file: &File, path: &Path, private: bool) -> StoreResult<()> {
        let meta = file.metadata().map_err(|e| backend(path, "cannot look at", &e))?;
        if !meta.is_file() {
            return Err(insecure(path, "is not a regular file"));
        }
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(insecure(path, &format!("belongs to user id {}, not to you ({me})", meta.uid())));
        }
        if private && meta.mode() & 0o077 != 0 {
            let why =
                format!("has mode {:o}: others could read the token (chmod 600 it, or delete it)", meta.mode() & 0o777);
            return Err(insecure(path, &why));
        }
        Ok(())
    }

    fn refused_link(path: &Path, error: &std::io::Error) -> StoreError {
        if error.raw_os_error() == Some(libc::ELOOP) {
            insecure(path, "is a symbolic link")
        } else {
            backend(path, "cannot open", error)
        }
    }

    /// The file's bytes after the checks; `None` when it does not exist.
    pub(super) fn read(path: &Path) -> StoreResult<Option<Vec<u8>>> {
        let mut file = match open_no_follow(OpenOptions::new().read(true), path) {
            Ok(file) => file,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(refused_link(path, &e)),
        };
        check(&file, path, true)?;
        let mut bytes = Vec::new();
        (&mut file).take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(|e| backend(path, "cannot read", &e))?;
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(StoreError::new(StoreErrorKind::Corrupt, format!("{} is larger than 1 MiB", path.display())));
        }
        Ok(Some(bytes))
    }

    pub(super) fn create_folder(folder: &Path) -> std::io::Result<()> {
        DirBuilder::new().recursive(true).mode(0o700).create(folder)
    }

    /// An exclusive `flock` on `path`, held until the file is dropped (closed).
    pub(super) fn lock(path: &Path) -> StoreResult<File> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).mode(0o600);
        let file = open_no_follow(&mut options, path).map_err(|e| refused_link(path, &e))?;
        check(&file, path, false)?;
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            // SAFETY: a descriptor this function owns for the call's duration.
            if unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&file), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
                return Ok(file);
            }
            let error = std::io::Error::last_os_error();
            match error.raw_os_error() {
                Some(libc::EINTR) => {}
                Some(libc::EWOULDBLOCK) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
                Some(libc::EWOULDBLOCK) => {
                    return Err(StoreError::new(
                        StoreErrorKind::Unreachable,
                        format!("{} stayed locked by another process for {} s", path.display(), LOCK_WAIT.as_secs()),
                    ));
                }
                _ => return Err(backend(path, "cannot lock", &error)),
            }
        }
    }

    /// Writes `bytes` to a new file in `folder` (mode 0600), syncs it, renames it over
    /// `path` and syncs the folder.
    pub(super) fn replace(path: &Path, folder: &Path, bytes: &[u8]) -> std::io::Result<()> {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let temporary = folder.join(format!(".{name}.{}.{}.tmp", std::process::id(), rand::random::<u64>()));
        let written = (|| {
            let mut options = OpenOptions::new();
            options.write(true).create_new(true).mode(0o600);
            let mut file = open_no_follow(&mut options, &temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written?;
        File::open(folder)?.sync_all()
    }
}

#[cfg(not(unix))]
mod private {
    //! No token file outside Unix: its privacy checks and lock are Unix ones.

    use std::fs::File;
    use std::path::Path;

    use crate::activeconnect::store::{StoreError, StoreErrorKind, StoreResult};

    fn unsupported() -> StoreError {
        StoreError::new(
            StoreErrorKind::Backend,
            "the token file needs a Unix system; build deviceauth with the `keyring` feature",
        )
    }

    pub(super) fn read(_path: &Path) -> StoreResult<Option<Vec<u8>>> {
        Err(unsupported())
    }

    pub(super) fn create_folder(_folder: &Path) -> std::io::Result<()> {
        Ok(())
    }

    pub(super) fn lock(_path: &Path) -> StoreResult<File> {
        Err(unsupported())
    }

    pub(super) fn replace(_path: &Path, _folder: &Path, _bytes: &[u8]) -> std::io::Result<()> {
        Err(std::io::Error::other("the token file needs a Unix system"))
    }
}
