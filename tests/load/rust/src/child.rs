//! Child processes of this binary (`monitor-shard`, `store-monitor`) that talk JSON lines:
//! the parent's handle on one, and the child's side of the pipes.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use deviceauth::activeconnect::Client;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::setup::{APP_ID, APP_SECRET};

const ENV_APP_ID: &str = "DEVICEAUTH_LOAD_APP_ID";
const ENV_APP_SECRET: &str = "DEVICEAUTH_LOAD_APP_SECRET";

/// A child `deviceauth-load SUBCOMMAND`: JSON lines on its stdout, its stdin open until it
/// should stop.
pub(crate) struct JsonChild {
    /// `shard 0`, `store monitor 0`: for messages.
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    /// The lines `route` passed on.
    lines: std::sync::mpsc::Receiver<Value>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl JsonChild {
    /// Spawns `deviceauth-load SUBCOMMAND` (its arguments added by `configure`) with the
    /// app's credentials in its environment. A thread reads its stdout: each JSON line goes
    /// to `route`, and what `route` returns to `wait_ready` and `finish`; other lines go to
    /// stderr after `stray:`.
    pub(crate) fn spawn(
        subcommand: &str,
        name: String,
        stray: String,
        configure: impl FnOnce(&mut Command),
        mut route: impl FnMut(Value) -> Option<Value> + Send + 'static,
    ) -> JsonChild {
        let mut command = Command::new(std::env::current_exe().expect("current exe"));
        command.arg(subcommand);
        configure(&mut command);
        let mut child = command
            .env(ENV_APP_ID, APP_ID)
            .env(ENV_APP_SECRET, APP_SECRET)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {subcommand}: {e}"));
        let stdout = child.stdout.take().expect("stdout");
        let stdin = child.stdin.take();
        let (tx, lines) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let Ok(value) = serde_json::from_str::<Value>(&line) else {
                    eprintln!("{stray}: {line}");
                    continue;
                };
                if let Some(value) = route(value) {
                    let _ = tx.send(value);
                }
            }
        });
        JsonChild { name, child, stdin, lines, reader: Some(reader) }
    }

    /// The child's pid.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (at most 2 minutes) for the child's first line, its `ready`, and logs it.
    pub(crate) fn wait_ready(&mut self) {
        match self.lines.recv_timeout(Duration::from_secs(120)) {
            Ok(value) => eprintln!("{} ready: {value}", self.name),
            Err(_) => panic!("{} did not start", self.name),
        }
    }

    /// Sends one line to the child's stdin.
    pub(crate) fn send(&mut self, line: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = writeln!(stdin, "{line}");
            let _ = stdin.flush();
        }
    }

    /// SIGKILLs the child.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        self.stdin = None;
    }

    /// Closes the child's stdin (it stops), waits at most `summary_within` for its
    /// `{"summary"}` line (`None`: do not wait, e.g. it was killed), and reaps it.
    pub(crate) fn finish(mut self, summary_within: Option<Duration>) -> Value {
        self.stdin = None;
        let summary = match summary_within {
            Some(timeout) => self.lines.recv_timeout(timeout).unwrap_or(Value::Null)["summary"].clone(),
            None => Value::Null,
        };
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        summary
    }
}

/// Child side: the load app's client on `base_url`, with the credentials the parent set.
pub(crate) fn env_client(base_url: &str) -> Client {
    let app_id = std::env::var(ENV_APP_ID).unwrap_or_else(|_| APP_ID.to_owned());
    let secret = std::env::var(ENV_APP_SECRET).unwrap_or_else(|_| APP_SECRET.to_owned());
    Client::builder(app_id, secret).base_url(base_url).build().expect("client")
}

/// Child side: writes one JSON line to stdout.
pub(crate) fn emit(value: Value) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{value}");
    let _ = stdout.flush();
}

/// Child side: the lines of stdin; the channel closes at EOF (the parent wants it to stop).
pub(crate) fn stdin_lines() -> mpsc::UnboundedReceiver<String> {
    let (tx, rx) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}
