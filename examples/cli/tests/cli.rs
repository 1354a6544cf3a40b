//! Runs the `deviceauth-cli` binary against an in-process emulator, answering its prompt
//! through a pipe (the end-to-end suite drives it through a pseudo-terminal).

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

use deviceauth_emulator::{Approval, Emulator, EmulatorConfig};

const BIN: &str = env!("CARGO_BIN_EXE_deviceauth-cli");

async fn emulator(approval: Approval) -> Emulator {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Emulator::start(EmulatorConfig { approval, ..EmulatorConfig::default() }).await.expect("emulator")
}

async fn control(method: reqwest::Method, url: String) -> serde_json::Value {
    let text = reqwest::Client::new().request(method, url).send().await.unwrap().text().await.unwrap();
    serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
}

/// Runs `activate` with `extra` arguments, answers the prompt with the code read through
/// the control API, and returns its output and the code.
async fn activate(emu: &Emulator, extra: &[&std::ffi::OsStr]) -> (String, String) {
    let mut child = Command::new(BIN)
        .args(["activate", "--base-url", &format!("{}/api", emu.base_url())])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut shown = String::new();
    let url = loop {
        let mut line = String::new();
        assert_ne!(stdout.read_line(&mut line).unwrap(), 0, "output ended early: {shown}");
        shown.push_str(&line);
        if let Some(url) = line.split_whitespace().find(|w| w.contains("/_emulator/activate/")) {
            break url.to_owned();
        }
    };
    let id = url.rsplit('/').next().unwrap().to_owned();
    let code = control(reqwest::Method::GET, format!("{}/_emulator/activations/{id}", emu.base_url())).await;
    let code = code["code"].as_str().unwrap().to_owned();
    writeln!(child.stdin.take().unwrap(), " {code} ").unwrap();
    stdout.read_to_string(&mut shown).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{shown} {}", String::from_utf8_lossy(&out.stderr));
    (shown, code)
}

/// The API tokens in a token file.
fn stored_tokens(path: &std::path::Path) -> Vec<serde_json::Value> {
    let stored: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    stored["tokens"].as_array().unwrap().clone()
}

/// Runs a token command (`projects`, `logout`, ...) against the emulator's API.
fn token_command(emu: &Emulator, command: &str, token_file: &std::path::Path) -> std::process::Output {
    Command::new(BIN)
        .args([command, "--base-url", &format!("{}/api", emu.base_url()), "--token-file"])
        .arg(token_file)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn activate_stores_a_private_token_and_lists_projects() {
    let emu = emulator(Approval::Manual).await;
    let dir = std::env::temp_dir().join(format!("deviceauth-cli-test-{}", std::process::id()));
    let token_file = dir.join("token.json");
    let (shown, code) = activate(&emu, &["--token-file".as_ref(), token_file.as_os_str()]).await;
    assert!(shown.contains('█'), "a QR code is drawn");
    assert!(shown.contains("Activated device"), "{shown}");

    let tokens = stored_tokens(&token_file);
    let token = tokens[0]["api_token"].as_str().unwrap();
    assert!(!token.is_empty() && tokens[0]["account"] == "default");
    assert!(!shown.contains(token) && !shown.contains(&code), "neither the token nor the code is printed");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let listed = token_command(&emu, "projects", &token_file);
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{text} {}", String::from_utf8_lossy(&listed.stderr));
    assert!(!text.trim().is_empty() && !text.contains(token), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_token_asks_for_a_new_activation_which_replaces_it() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = EmulatorConfig { token_ttl: Some(std::time::Duration::from_secs(2)), ..EmulatorConfig::default() };
    let emu = Emulator::start(config).await.expect("emulator");
    let dir = std::env::temp_dir().join(format!("deviceauth-cli-expired-{}", std::process::id()));
    let token_file = dir.join("token.json");
    activate(&emu, &["--token-file".as_ref(), token_file.as_os_str()]).await;
    let first = stored_tokens(&token_file)[0]["api_token"].clone();
    control(reqwest::Method::DELETE, format!("{}/_emulator/requests", emu.base_url())).await;

    let listed = token_command(&emu, "projects", &token_file);
    let err = String::from_utf8_lossy(&listed.stderr);
    assert_eq!(listed.status.code(), Some(1), "{err}");
    assert!(err.contains("expire") && err.contains("deviceauth-cli activate"), "{err}");
    let requests = control(reqwest::Method::GET, format!("{}/_emulator/requests", emu.base_url())).await;
    assert_eq!(requests, serde_json::json!([]), "nothing was sent with the expired token");

    let (shown, _) = activate(&emu, &["--token-file".as_ref(), token_file.as_os_str()]).await;
    assert!(shown.contains("replacing the previous one"), "{shown}");
    let tokens = stored_tokens(&token_file);
    assert_eq!(tokens.len(), 1, "replaced, not added");
    assert_ne!(tokens[0]["api_token"], first);
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_forgets_the_token() {
    let emu = emulator(Approval::Manual).await;
    let dir = std::env::temp_dir().join(format!("deviceauth-cli-logout-{}", std::process::id()));
    let token_file = dir.join("token.json");
    let extra = ["--token-file".as_ref(), token_file.as_os_str(), "--account".as_ref(), "zoe".as_ref()];
    activate(&emu, &extra).await;
    activate(&emu, &["--token-file".as_ref(), token_file.as_os_str()]).await;
    assert_eq!(stored_tokens(&token_file).len(), 2);

    let out = token_command(&emu, "logout", &token_file);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Deleted"));
    let left = stored_tokens(&token_file);
    assert_eq!((left.len(), left[0]["account"].as_str()), (1, Some("zoe")), "only the default account's");
    let again = token_command(&emu, "forget", &token_file);
    assert!(again.status.success() && String::from_utf8_lossy(&again.stdout).contains("No API token"));

    let listed = token_command(&emu, "projects", &token_file);
    let err = String::from_utf8_lossy(&listed.stderr);
    assert_eq!(listed.status.code(), Some(1));
    assert!(err.contains("NOT_STORED") && err.contains("deviceauth-cli activate"), "{err}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let listed = Command::new(BIN)
            .args(["projects", "--account", "zoe", "--base-url", &format!("{}/api", emu.base_url()), "--token-file"])
            .arg(&token_file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&listed.stderr);
        assert!(!listed.status.success() && err.contains("INSECURE") && err.contains("chmod 600"), "{err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_code_is_explained() {
    let emu = emulator(Approval::Manual).await;
    let token_file = std::env::temp_dir().join(format!("deviceauth-cli-wrong-{}.json", std::process::id()));
    let mut child = Command::new(BIN)
        .args(["activate", "--base-url", &format!("{}/api", emu.base_url()), "--token-file"])
        .arg(&token_file)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "not-the-code").unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("activation code is not correct") || err.contains("WRONG_CODE"), "{err}");
    assert!(!token_file.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn register_then_login_signs_in() {
    let emu = emulator(Approval::ApproveAfter(std::time::Duration::from_millis(300))).await;
    let (app_id, secret) = emu.apps()[0].clone();
    let run = |args: &[&str]| {
        Command::new(BIN)
            .args(args)
            .args(["--base-url", &emu.base_url()])
            .env("DEVICEAUTH_APP_ID", &app_id)
            .env("DEVICEAUTH_APP_SECRET", &secret)
            .output()
            .unwrap()
    };
    let register = run(&["register", "zoe"]);
    let text = String::from_utf8_lossy(&register.stdout);
    assert!(register.status.success() && text.contains("/_emulator/phone/") && text.contains('█'), "{text}");
    let login = run(&["login", "zoe"]);
    let err = String::from_utf8_lossy(&login.stderr);
    assert!(!login.status.success());
    assert!(err.contains("NO_MOBILE_DEVICE") && err.contains("deviceauth-cli register"), "{err}");
    let users = control(reqwest::Method::GET, format!("{}/_emulator/apps/{app_id}/users", emu.base_url())).await;
    assert!(users.to_string().contains("zoe"), "{users}");
    control(reqwest::Method::POST, format!("{}/_emulator/apps/{app_id}/users/zoe/device", emu.base_url())).await;

    let login = run(&["login", "zoe", "--timeout", "20"]);
    let text = String::from_utf8_lossy(&login.stdout);
    assert!(login.status.success(), "{text} {}", String::from_utf8_lossy(&login.stderr));
    assert!(text.contains("active") && text.contains("zoe is signed in"), "{text}");
    assert!(!text.contains(&secret) && !String::from_utf8_lossy(&login.stderr).contains(&secret));
}
