//! The `deviceauth-emulator` binary: printed lines, flags, clean exit on Ctrl-C.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn prints_its_address_and_apps_and_exits_on_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deviceauth-emulator"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--app",
            "A1:s1",
            "--app",
            "A2:s:2",
            "--approve-after",
            "500",
            "--status-shape",
            "flat",
            "--clock-offset",
            "-30",
            "--quiet",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let mut next = || lines.next().expect("a line").expect("utf-8");
    let first = next();
    let base = first.strip_prefix("deviceauth-emulator listening on ").expect("first line").to_owned();
    let port: u16 = base.strip_prefix("http://127.0.0.1:").expect("loopback url").parse().expect("port");
    assert_ne!(port, 0);
    assert_eq!(next(), "application_id=A1 application_secret=s1");
    assert_eq!(next(), "application_id=A2 application_secret=s:2");
    assert_eq!(next(), format!("project insight base url: {base}/api"));
    assert!(next().contains(&format!("{base}/")), "hint line names the index page");

    // It serves.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    use std::io::{Read, Write};
    stream.write_all(b"GET /_emulator/apps HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with(r#"["A1","A2"]"#), "{response}");

    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().expect("kill runs");
    assert!(status.success());
    let exit = child.wait().expect("exits");
    assert!(exit.success(), "clean exit on Ctrl-C: {exit:?}");
}

#[test]
fn a_demo_app_is_created_without_app_flags_and_bad_flags_are_refused() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_deviceauth-emulator"))
        .args(["--listen", "127.0.0.1:0", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    lines.next().expect("first line").expect("utf-8");
    let app = lines.next().expect("app line").expect("utf-8");
    let rest = app.strip_prefix("application_id=").expect("app line");
    let (id, secret) = rest.split_once(" application_secret=").expect("secret");
    assert!(!id.is_empty() && secret.len() >= 24);
    assert!(lines.next().expect("pi line").expect("utf-8").starts_with("project insight base url: "));
    child.kill().expect("kill");
    let _ = child.wait();

    for bad in [&["--approve-after", "10", "--manual"][..], &["--app", "no-secret"], &["--status-shape", "round"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_deviceauth-emulator")).args(bad).output().expect("runs");
        assert!(!out.status.success(), "{bad:?}");
    }
}
