//! `deviceauth_emulator::cli`: the binary as a library call returns exit codes, never
//! exits the process, can run twice in one process and from inside a tokio runtime.

use std::ffi::OsString;
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use deviceauth_emulator::cli;

fn args(list: &[&str]) -> Vec<OsString> {
    list.iter().map(OsString::from).collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

fn wait_until_up(port: u16) {
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(10), "the emulator did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn get_apps(port: u16) -> String {
    use std::io::{Read, Write};
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.write_all(b"GET /_emulator/apps HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    response
}

#[test]
fn bad_flags_help_and_version_return_codes_instead_of_exiting() {
    assert_eq!(cli::run(args(&["deviceauth-emulator", "--no-such-flag"])), 2);
    assert_eq!(cli::run(args(&["deviceauth-emulator", "--approve-after", "10", "--manual"])), 2);
    assert_eq!(cli::run(args(&["deviceauth-emulator", "--idle-timeout", "0"])), 2);
    assert_eq!(cli::run(args(&["deviceauth-emulator", "--header-timeout", "NaN"])), 2);
    assert_eq!(cli::run(args(&["deviceauth-emulator", "--help"])), 0);
    assert_eq!(cli::run(args(&["deviceauth-emulator", "--version"])), 0);
    let port = free_port();
    let _busy = TcpListener::bind(("127.0.0.1", port)).expect("hold the port");
    let listen = format!("127.0.0.1:{port}");
    assert_eq!(cli::run(args(&["x", "--listen", &listen, "-q"])), cli::EXIT_START_FAILED, "address in use");
}

#[test]
fn run_until_serves_and_stops_twice_in_one_process() {
    for round in 0..2 {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = std::thread::spawn(move || {
            cli::run_until(args(&["x", "--listen", &listen, "--quiet", "--app", "A:s"]), async move {
                let _ = stopped.await;
            })
        });
        wait_until_up(port);
        let response = get_apps(port);
        assert!(response.starts_with("HTTP/1.1 200") && response.ends_with(r#"["A"]"#), "round {round}: {response}");
        stop.send(()).expect("still running");
        assert_eq!(server.join().expect("no panic"), 0);
        assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped listening");
    }
}

#[tokio::test]
async fn run_until_works_when_called_inside_a_tokio_runtime() {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let prober = std::thread::spawn(move || {
        wait_until_up(port);
        let response = get_apps(port);
        let _ = stop.send(());
        response
    });
    let code = cli::run_until(args(&["x", "--listen", &listen, "--quiet"]), async move {
        let _ = stopped.await;
    });
    assert_eq!(code, 0);
    assert!(prober.join().expect("prober").starts_with("HTTP/1.1 200"));
}
