//! The Project Insight token file: private mode, refusal of files others could read or
//! replace, atomic replace, and two processes saving at once (this test binary again)
//! without a torn read or a lost write.

#![cfg(unix)]

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use chrono::{Duration, Utc};
use deviceauth::Secret;
use deviceauth::projectinsight::{StoredToken, TokenStore};

const BASE: &str = "http://127.0.0.1:9/api";

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deviceauth-tokens-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn token(account: &str, secret: &str) -> StoredToken {
    StoredToken {
        base_url: BASE.to_owned(),
        account: account.to_owned(),
        api_token: Secret::from(secret),
        device_id: "dev".to_owned(),
        user_id: "user".to_owned(),
        client_agent: "tests/1".to_owned(),
        expires_at: Utc::now() + Duration::hours(1),
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn saves_privately_and_reads_back_by_key() {
    let dir = fresh_dir("basic");
    let path = dir.join("sub").join("tokens.json");
    let store = TokenStore::file(&path);
    assert_eq!(store.load(BASE, "alice").unwrap(), None, "nothing before the first save");
    assert!(!store.delete(BASE, "alice").unwrap());

    store.save(&token("alice", "tok-alice")).unwrap();
    store.save(&token("bob", "tok-bob")).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(&dir.join("sub")), 0o700);
    let alice = store.load(&format!("{BASE}/"), "alice").unwrap().expect("stored");
    assert_eq!(alice.api_token.expose_secret(), "tok-alice");
    assert_eq!(alice.base_url, format!("{BASE}/"), "the base URL is kept normalized");
    assert_eq!(store.load("http://127.0.0.1:9/other", "alice").unwrap(), None, "keyed by base URL too");

    store.save(&token("alice", "tok-alice-2")).unwrap();
    assert_eq!(store.load(BASE, "alice").unwrap().unwrap().api_token.expose_secret(), "tok-alice-2");
    assert!(store.delete(BASE, "alice").unwrap());
    assert_eq!(store.load(BASE, "alice").unwrap(), None);
    assert_eq!(store.load(BASE, "bob").unwrap().unwrap().api_token.expose_secret(), "tok-bob");

    let error = store.load(BASE, " ").unwrap_err();
    assert_eq!(error.code(), "INVALID_ARGUMENT");
    assert_eq!(store.load("ftp://x", "a").unwrap_err().code(), "INVALID_ARGUMENT");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_others_can_read_is_refused_without_reading_it() {
    let dir = fresh_dir("mode");
    let path = dir.join("tokens.json");
    let store = TokenStore::file(&path);
    store.save(&token("alice", "tok-secret-mode")).unwrap();
    for wide in [0o644, 0o640, 0o604, 0o660] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(wide)).unwrap();
        let error = store.load(BASE, "alice").unwrap_err();
        assert_eq!((error.code(), error.reason()), ("STORE", Some("INSECURE")), "{wide:o}: {error}");
        assert!(error.to_string().contains(&format!("{wide:o}")), "{error}");
        assert!(!format!("{error} {error:?}").contains("tok-secret-mode"));
        assert_eq!(store.save(&token("bob", "x")).unwrap_err().reason(), Some("INSECURE"), "nor written over");
    }
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(store.load(BASE, "alice").unwrap().is_some());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_symbolic_link_is_refused() {
    let dir = fresh_dir("link");
    std::fs::create_dir_all(&dir).unwrap();
    let real = dir.join("real.json");
    TokenStore::file(&real).save(&token("alice", "t")).unwrap();
    let link = dir.join("tokens.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let error = TokenStore::file(&link).load(BASE, "alice").unwrap_err();
    assert_eq!(error.reason(), Some("INSECURE"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_of_another_user_is_refused() {
    // SAFETY: no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: changing a file's owner needs root");
        return;
    }
    let dir = fresh_dir("owner");
    let path = dir.join("tokens.json");
    let store = TokenStore::file(&path);
    store.save(&token("alice", "t")).unwrap();
    std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
    let error = store.load(BASE, "alice").unwrap_err();
    assert_eq!(error.reason(), Some("INSECURE"), "{error}");
    assert!(error.to_string().contains("65534"), "{error}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_damaged_file_is_corrupt_and_its_text_is_not_quoted() {
    let dir = fresh_dir("corrupt");
    let path = dir.join("tokens.json");
    let store = TokenStore::file(&path);
    store.save(&token("alice", "tok-corrupt")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let error = store.load(BASE, "alice").unwrap_err();
    assert_eq!(error.reason(), Some("CORRUPT"), "{error}");
    assert!(!format!("{error} {error:?}").contains("tok-corrupt"));
    std::fs::write(&path, r#"{"version": 99, "tokens": []}"#).unwrap();
    assert_eq!(store.load(BASE, "alice").unwrap_err().reason(), Some("SCHEMA_TOO_NEW"));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_save_replaces_the_file_atomically() {
    let dir = fresh_dir("atomic");
    let path = dir.join("tokens.json");
    let store = TokenStore::file(&path);
    store.save(&token("alice", "one")).unwrap();
    let before = std::fs::metadata(&path).unwrap().ino();
    // A reader holding the old file keeps reading the old, whole contents.
    let old = std::fs::File::open(&path).unwrap();
    store.save(&token("alice", "two")).unwrap();
    assert_ne!(std::fs::metadata(&path).unwrap().ino(), before, "a new file was renamed into place");
    let old_text = std::io::read_to_string(old).unwrap();
    assert!(old_text.contains("\"one\"") && !old_text.contains("\"two\""));
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(names.iter().all(|n| !n.to_string_lossy().ends_with(".tmp")), "no temporary file left: {names:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_writer_waits_for_the_lock() {
    let dir = fresh_dir("lock");
    let path = dir.join("tokens.json");
    let store = TokenStore::file(&path);
    store.save(&token("alice", "one")).unwrap();
    let lock = std::fs::File::open(dir.join("tokens.json.lock")).unwrap();
    // SAFETY: a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(std::os::fd::AsRawFd::as_raw_fd(&lock), libc::LOCK_EX) }, 0);
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || store.save(&token("bob", "two")))
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!writer.is_finished(), "the save waits while another holds the lock");
    assert_eq!(store.load(BASE, "bob").unwrap(), None);
    drop(lock);
    writer.join().unwrap().unwrap();
    assert!(store.load(BASE, "bob").unwrap().is_some());
    std::fs::remove_dir_all(&dir).ok();
}

/// Saves per process and rounds.
const ROUNDS: usize = 60;

#[test]
fn two_processes_saving_at_once_lose_nothing() {
    let dir = fresh_dir("race");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokens.json");
    let children: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|name| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "child_saver", "--ignored", "--nocapture", "--test-threads", "1"])
                .env("CHILD_TOKEN_FILE", &path)
                .env("CHILD_NAME", name)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a child failed (torn read or error)");
    }
    let store = TokenStore::file(&path);
    for name in ["a", "b"] {
        for round in 0..ROUNDS {
            let account = format!("{name}-{round}");
            let stored = store.load(BASE, &account).unwrap().unwrap_or_else(|| panic!("{account} was lost"));
            assert_eq!(stored.api_token.expose_secret(), format!("token-{account}"));
        }
        let shared = store.load(BASE, "shared").unwrap().expect("the shared slot");
        assert!(shared.api_token.expose_secret().starts_with("token-shared-"));
    }
    assert_eq!(mode(&path), 0o600);
    std::fs::remove_dir_all(&dir).ok();
}

/// The child: saves its accounts and a shared one, reading everything back each time.
#[test]
#[ignore = "started by two_processes_saving_at_once_lose_nothing"]
fn child_saver() {
    let (Ok(path), Ok(name)) = (std::env::var("CHILD_TOKEN_FILE"), std::env::var("CHILD_NAME")) else {
        return; // run by hand: nothing to do
    };
    let store = TokenStore::file(path);
    for round in 0..ROUNDS {
        let account = format!("{name}-{round}");
        store.save(&token(&account, &format!("token-{account}"))).unwrap();
        store.save(&token("shared", &format!("token-shared-{name}-{round}"))).unwrap();
        // Every read sees a whole file, with this process's own writes in it.
        for earlier in 0..=round {
            let account = format!("{name}-{earlier}");
            assert!(store.load(BASE, &account).unwrap().is_some(), "{account} missing after round {round}");
        }
    }
}

/// With the `keyring` feature but no keyring answering (no D-Bus session, as on a server
/// or in CI), the default store is the file.
#[cfg(feature = "keyring")]
#[test]
fn without_a_keyring_the_default_store_is_the_file() {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some() {
        eprintln!("skipped: a D-Bus session may offer a keyring here");
        return;
    }
    let error = TokenStore::keyring().unwrap_err();
    assert_eq!((error.code(), error.reason()), ("STORE", Some("UNREACHABLE")), "{error}");
    let store = TokenStore::open_default().unwrap();
    assert!(store.location().ends_with(deviceauth::projectinsight::TOKEN_FILE_NAME), "{}", store.location());
}
