//! The measured window both load modes run: a `Monitor` in this process, the planned
//! flips, the CPU and request counters over the window, and waiting for the watchers' events.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use deviceauth::activeconnect::{Client, Monitor, MonitorEvent, MonitorOptions, SessionData};
use tokio::sync::mpsc;
use tokio::task::{JoinHandle, JoinSet};

use crate::proc_stats::{proc_cpu_seconds, self_cpu_seconds, unix_ms};
use crate::setup::{Emulator, control};

/// Watches `sessions` with today's `Monitor` in this process; each event `map` turns into
/// something goes to `seen`.
pub(crate) fn watch_in_process<T: Send + 'static>(
    client: &Client,
    interval: Duration,
    max_in_flight: usize,
    sessions: &[SessionData],
    seen: mpsc::UnboundedSender<T>,
    map: impl Fn(MonitorEvent) -> Option<T> + Send + 'static,
) -> Monitor {
    let options = MonitorOptions { interval, max_in_flight: max_in_flight.max(1), ..MonitorOptions::default() };
    let (monitor, events) = Monitor::start(client, options).expect("monitor");
    for data in sessions {
        monitor.add(data.clone());
    }
    tokio::spawn(async move {
        while let Some(event) = events.recv().await {
            let Some(event) = map(event) else { continue };
            if seen.send(event).is_err() {
                break;
            }
        }
    });
    monitor
}

/// Changes made (token -> ms since the epoch when asked) and failures (`status body`).
type Made = (HashMap<String, u64>, Vec<String>);

/// The planned flips, made in the background through the emulator's control endpoint.
pub(crate) struct Flips {
    task: Option<JoinHandle<Made>>,
    made: Option<Made>,
}

impl Flips {
    /// Starts `plan` (token, `walkaway` or `remote-logout`) spread evenly over `span` from `start`.
    pub(crate) fn spawn(
        emulator: &Emulator,
        plan: Vec<(String, &'static str)>,
        start: Instant,
        span: Duration,
    ) -> Flips {
        let (http, base) = (emulator.http.clone(), emulator.base.clone());
        let task = tokio::spawn(async move {
            let mut made: HashMap<String, u64> = HashMap::new();
            let mut failed: Vec<String> = Vec::new();
            let mut record = |(token, at, status, body): (String, u64, u16, serde_json::Value)| {
                if status == 200 {
                    made.insert(token, at);
                } else {
                    failed.push(format!("{status} {body}"));
                }
            };
            let mut tasks = JoinSet::new();
            let n = plan.len().max(1);
            for (k, (token, action)) in plan.into_iter().enumerate() {
                tokio::time::sleep_until((start + span.mul_f64(k as f64 / n as f64)).into()).await;
                let (http, url) = (http.clone(), format!("{base}/_emulator/sessions/{token}/{action}"));
                tasks.spawn(async move {
                    let at = unix_ms();
                    let (status, body) = control(&http, reqwest::Method::POST, &url).await;
                    (token, at, status, body)
                });
                while let Some(Ok(done)) = tasks.try_join_next() {
                    record(done);
                }
            }
            while let Some(Ok(done)) = tasks.join_next().await {
                record(done);
            }
            (made, failed)
        });
        Flips { task: Some(task), made: None }
    }

    /// Takes the result if the flips have finished.
    pub(crate) async fn poll(&mut self) {
        if let Some(task) = self.task.take_if(|t| t.is_finished()) {
            self.made = Some(task.await.expect("flip task"));
        }
    }

    /// Whether the flips have finished and every change they made is a key of `seen`.
    pub(crate) fn all_seen<V>(&self, seen: &HashMap<String, V>) -> bool {
        self.made.as_ref().is_some_and(|(made, _)| made.keys().all(|t| seen.contains_key(t)))
    }

    /// The changes made and the failures (none when the flips had not finished).
    pub(crate) fn into_made(self) -> Made {
        self.made.unwrap_or_default()
    }
}

/// The status each planned flip should end in: `walkaway`, or `closed` for a remote logout.
pub(crate) fn expected_status(plan: &[(String, &'static str)]) -> HashMap<String, &'static str> {
    plan.iter().map(|(t, k)| (t.clone(), if *k == "walkaway" { "walkaway" } else { "closed" })).collect()
}

/// This process's CPU, the emulator's CPU and its request count over the window.
pub(crate) struct WindowMeter {
    emulator_pid: u32,
    cpu_start: f64,
    emulator_cpu_start: f64,
    /// The emulator's (requests_total, uptime_seconds) at the start.
    requests_start: (u64, f64),
    end: Option<WindowEnd>,
}

/// The counters at the window's end.
struct WindowEnd {
    at_ms: u64,
    cpu: f64,
    emulator_cpu: f64,
    requests: (u64, f64),
}

impl WindowMeter {
    /// Reads the counters at the window's start.
    pub(crate) async fn start(emulator: &Emulator) -> WindowMeter {
        let emulator_pid = emulator.process.pid();
        let cpu_start = self_cpu_seconds();
        let emulator_cpu_start = proc_cpu_seconds(emulator_pid);
        let requests_start = emulator.stats().await;
        WindowMeter { emulator_pid, cpu_start, emulator_cpu_start, requests_start, end: None }
    }

    /// Reads the counters at the window's end.
    pub(crate) async fn end(&mut self, emulator: &Emulator) {
        let at_ms = unix_ms();
        let requests = emulator.stats().await;
        let cpu = self_cpu_seconds();
        let emulator_cpu = proc_cpu_seconds(self.emulator_pid);
        self.end = Some(WindowEnd { at_ms, cpu, emulator_cpu, requests });
    }

    /// Whether `end` was called.
    pub(crate) fn ended(&self) -> bool {
        self.end.is_some()
    }

    /// When the window ended, ms since the epoch (`u64::MAX` before).
    pub(crate) fn end_ms(&self) -> u64 {
        self.end.as_ref().map_or(u64::MAX, |e| e.at_ms)
    }

    /// CPU seconds of this process in the window (until now if it has not ended).
    pub(crate) fn cpu_seconds(&self) -> f64 {
        self.end.as_ref().map_or_else(self_cpu_seconds, |e| e.cpu) - self.cpu_start
    }

    /// CPU seconds of the emulator in the window.
    pub(crate) fn emulator_cpu_seconds(&self) -> f64 {
        self.end.as_ref().map_or(0.0, |e| e.emulator_cpu) - self.emulator_cpu_start
    }

    /// (requests the emulator served in the window, per second of its uptime).
    pub(crate) fn requests(&self) -> (u64, f64) {
        let (end, uptime_end) = self.end.as_ref().map_or(self.requests_start, |e| e.requests);
        let (start, uptime_start) = self.requests_start;
        (end - start, (end - start) as f64 / (uptime_end - uptime_start).max(1e-9))
    }
}

/// The next event from `rx` before `wake`, else `None` at `wake` (also when `rx` is closed).
pub(crate) async fn recv_until<T>(rx: &mut mpsc::UnboundedReceiver<T>, wake: Instant) -> Option<T> {
    tokio::select! {
        event = rx.recv() => match event {
            Some(event) => Some(event),
            None => {
                tokio::time::sleep_until(wake.into()).await;
                None
            }
        },
        _ = tokio::time::sleep_until(wake.into()) => None,
    }
}
