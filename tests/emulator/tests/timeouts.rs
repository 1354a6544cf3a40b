//! Connection time-outs (slowloris): a half-sent request and an idle connection are
//! closed after their time-outs; requests in progress and busy connections are not.

mod common;

use std::time::{Duration, Instant};

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEADER: Duration = Duration::from_millis(500);
const IDLE: Duration = Duration::from_millis(2500);
/// Slack for a busy machine; still tells the two time-outs apart (HEADER + SLACK < IDLE).
const SLACK: Duration = Duration::from_millis(1500);

async fn emulator() -> Harness {
    start_with(EmulatorConfig { header_timeout: HEADER, idle_timeout: IDLE, ..EmulatorConfig::default() }).await
}

/// Reads until the server closes the connection (EOF or reset); returns what was read
/// and when it closed, measured from `since`. Fails if it stays open for 10 s.
async fn until_closed(stream: &mut TcpStream, since: Instant) -> (String, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await {
            Err(_) => panic!("connection still open after 10 s; read so far: {:?}", String::from_utf8_lossy(&got)),
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), since.elapsed()),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
        }
    }
}

fn assert_near(elapsed: Duration, expected: Duration, what: &str) {
    assert!(elapsed >= expected - Duration::from_millis(50), "{what}: closed too early, after {elapsed:?}");
    assert!(elapsed < expected + SLACK, "{what}: closed too late, after {elapsed:?}");
}

#[tokio::test]
async fn a_half_sent_head_is_closed_after_the_header_timeout() {
    let h = emulator().await;
    let mut stream = TcpStream::connect(h.emulator.addr()).await.expect("connect");
    let t0 = Instant::now();
    stream.write_all(b"GET /_emulator/apps HTTP/1.1\r\nHost: x\r\n").await.expect("write");
    let (got, elapsed) = until_closed(&mut stream, t0).await;
    assert_eq!(got, "", "no answer to half a request");
    assert_near(elapsed, HEADER, "half-sent head");
}

#[tokio::test]
async fn a_trickled_head_is_closed_after_the_header_timeout() {
    let h = emulator().await;
    let mut stream = TcpStream::connect(h.emulator.addr()).await.expect("connect");
    let t0 = Instant::now();
    let (mut read, mut write) = stream.split();
    let trickle = async {
        for byte in b"GET /_emulator/apps HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".iter() {
            if write.write_all(&[*byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let closed = async {
        let mut buf = [0u8; 64];
        let _ = tokio::time::timeout(Duration::from_secs(10), read.read(&mut buf)).await.expect("closed in time");
        t0.elapsed()
    };
    let elapsed = tokio::select! {
        elapsed = closed => elapsed,
        _ = trickle => panic!("the whole slow head was accepted"),
    };
    assert_near(elapsed, HEADER, "trickled head");
}

#[tokio::test]
async fn a_half_sent_body_gets_408_after_the_header_timeout() {
    let h = emulator().await;
    let mut stream = TcpStream::connect(h.emulator.addr()).await.expect("connect");
    stream
        .write_all(b"POST /_emulator/apps HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n{\"applic")
        .await
        .expect("write");
    let t0 = Instant::now();
    let (got, elapsed) = until_closed(&mut stream, t0).await;
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.to_ascii_lowercase().contains("connection: close"), "{got}");
    assert_near(elapsed, HEADER, "half-sent body");
}

#[tokio::test]
async fn a_silent_connection_is_closed_after_the_idle_timeout() {
    let h = emulator().await;
    let t0 = Instant::now();
    let mut stream = TcpStream::connect(h.emulator.addr()).await.expect("connect");
    let (got, elapsed) = until_closed(&mut stream, t0).await;
    assert_eq!(got, "");
    assert_near(elapsed, IDLE, "silent connection");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_but_a_busy_one_is_not() {
    let h = emulator().await;
    let mut stream = TcpStream::connect(h.emulator.addr()).await.expect("connect");
    // Requests every 300 ms for longer than the idle time-out: the connection stays.
    let t0 = Instant::now();
    let mut buf = vec![0u8; 8192];
    let mut t1 = Instant::now();
    while t0.elapsed() < IDLE * 2 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        stream.write_all(b"GET /_emulator/apps HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("kept open");
        let n = stream.read(&mut buf).await.expect("answer");
        t1 = Instant::now();
        let answer = String::from_utf8_lossy(&buf[..n]);
        assert!(answer.starts_with("HTTP/1.1 200") && answer.ends_with("[\"APP\"]"), "{answer}");
    }
    // Then idle: closed after the idle time-out (not the shorter header time-out).
    let (got, elapsed) = until_closed(&mut stream, t1).await;
    assert_eq!(got, "");
    assert_near(elapsed, IDLE, "idle keep-alive connection");
}

#[tokio::test]
async fn a_slow_answer_is_not_cut_by_the_time_outs() {
    let h = emulator().await;
    let fault = serde_json::json!({"path": "/management/", "delay_ms": IDLE.as_millis() as u64 + 600});
    assert_eq!(h.control(reqwest::Method::POST, "/_emulator/faults", Some(fault)).await.0, 201);
    let t0 = Instant::now();
    let r = h
        .signed(reqwest::Method::GET, &format!("/management/has_registered_mobile_device/{}/ghost", h.app), None)
        .await;
    assert_eq!(r.status(), 404, "answered after the delay");
    assert!(t0.elapsed() >= IDLE + Duration::from_millis(600));
}
