//! The forwarding loop: reads the store's events into the dispatch queue (pausing when it
//! is full), runs deliveries, logs the monitor's problems, and shuts down in order on
//! SIGINT/SIGTERM: stop claiming and close the monitor (its claims are released), take
//! the events its last polls published, finish the deliveries within the grace period,
//! and record the rest as failed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use deviceauth::activeconnect::store::{StoreEvent, StoreEvents, StoreMonitor};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio::time::{Instant, sleep_until};

use super::deliver::{Outcome, Webhook};
use super::dispatch::Dispatch;
use super::failed_log::FailedLog;
use super::{log, payload};
use crate::failure::Failure;

/// How long events are still read after the monitor closed (its last polls' events).
const DRAIN: Duration = Duration::from_secs(1);
/// How often the monitor's store problems are logged.
const PROBLEMS_EVERY: Duration = Duration::from_secs(5);

/// The bounds of the loop.
pub struct Limits {
    /// Deliveries under way at once.
    pub concurrency: usize,
    /// Events waiting at most.
    pub queue: usize,
    /// How long deliveries may go on after the first signal.
    pub grace: Duration,
}

/// SIGINT and SIGTERM (Ctrl-C elsewhere).
pub struct Stop {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Stop {
    /// Installs the handlers: from now on the signals are caught.
    pub fn new() -> std::io::Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Stop { interrupt: signal(SignalKind::interrupt())?, terminate: signal(SignalKind::terminate())? })
        }
        #[cfg(not(unix))]
        Ok(Stop {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Running,
    /// The monitor is closing; its last events may still come.
    Closing,
    /// Reading the last events until then.
    Draining(Instant),
    /// Delivering what is queued; reading no more.
    Finishing,
    /// Past the grace period: deliveries under way are giving up.
    Abandoned,
}

/// Forwards events until a signal, then shuts down (see the module's doc).
pub async fn run(
    events: StoreEvents,
    mut monitor: Option<StoreMonitor>,
    webhook: Webhook,
    failed: FailedLog,
    limits: Limits,
    stop: &mut Stop,
) -> Result<(), Failure> {
    let (webhook, failed) = (Arc::new(webhook), Arc::new(failed));
    let (abandon, abandoned) = watch::channel(false);
    let mut dispatch = Dispatch::default();
    let mut running = JoinSet::new();
    let mut keys = HashMap::new();
    let mut phase = Phase::Running;
    let mut closing: Option<JoinHandle<()>> = None;
    let mut grace_end: Option<Instant> = None;
    let mut problems = tokio::time::interval(PROBLEMS_EVERY);
    loop {
        while running.len() < limits.concurrency {
            let Some(event) = dispatch.next() else { break };
            let key = event.key.clone();
            let task = running.spawn(deliver(webhook.clone(), failed.clone(), event, abandoned.clone()));
            keys.insert(task.id(), key);
        }
        let reading = match phase {
            Phase::Running | Phase::Closing => true,
            Phase::Draining(until) => Instant::now() < until,
            Phase::Finishing | Phase::Abandoned => false,
        };
        if !reading && dispatch.queued() == 0 && running.is_empty() && closing.is_none() {
            return Ok(());
        }
        let drain_end = match phase {
            Phase::Draining(until) => Some(until),
            _ => None,
        };
        tokio::select! {
            item = events.recv(), if reading && dispatch.queued() < limits.queue => match item {
                Some(Ok(event)) => {
                    dispatch.push(event);
                }
                Some(Err(error)) => log::warn(format!("reading the store's events: {error}")),
                None => return Err(Failure::Local("the store's event reader stopped".into())),
            },
            Some(joined) = running.join_next_with_id(), if !running.is_empty() => {
                let id = match joined {
                    Ok((id, ())) => id,
                    Err(error) => {
                        log::warn(format!("a delivery task failed: {error}"));
                        error.id()
                    }
                };
                if let Some(key) = keys.remove(&id) {
                    dispatch.done(&key);
                }
            }
            _ = stop.next() => {
                if phase == Phase::Running {
                    log::info("stopping: no more claims; closing the monitor and finishing deliveries");
                    grace_end = Some(Instant::now() + limits.grace);
                    closing = monitor.take().map(|monitor| tokio::spawn(monitor.close()));
                    phase = if closing.is_some() { Phase::Closing } else { Phase::Finishing };
                } else if phase != Phase::Abandoned {
                    log::warn("second signal: giving up on the remaining deliveries");
                    phase = give_up(&abandon, &mut dispatch, &failed);
                }
            }
            _ = finished(&mut closing), if closing.is_some() => {
                closing = None;
                if phase == Phase::Closing {
                    phase = Phase::Draining(Instant::now() + DRAIN);
                }
            }
            _ = sleep_until(drain_end.unwrap_or_else(Instant::now)), if drain_end.is_some() => {
                phase = Phase::Finishing;
            }
            _ = sleep_until(grace_end.unwrap_or_else(Instant::now)), if grace_end.is_some() && phase != Phase::Abandoned => {
                log::warn("the shutdown grace period is over: giving up on the remaining deliveries");
                phase = give_up(&abandon, &mut dispatch, &failed);
            }
            _ = problems.tick() => {
                for problem in monitor.as_ref().map(StoreMonitor::problems).unwrap_or_default() {
                    log::warn(format!("monitor: {problem}"));
                }
            }
        }
    }
}

/// Waits for the task in `handle` to end.
async fn finished(handle: &mut Option<JoinHandle<()>>) {
    match handle {
        Some(task) => {
            if let Err(error) = task.await {
                log::warn(format!("closing the monitor failed: {error}"));
            }
        }
        None => std::future::pending().await,
    }
}

/// Tells deliveries under way to give up, and records the waiting events as failed.
fn give_up(abandon: &watch::Sender<bool>, dispatch: &mut Dispatch, failed: &FailedLog) -> Phase {
    let _ = abandon.send(true);
    for event in dispatch.take_waiting() {
        let body = payload::body(&event).unwrap_or_default();
        record_failure(failed, &event, &body, 0, "not delivered: watch was stopped");
    }
    Phase::Abandoned
}

/// Delivers one event, logging the outcome and recording a failure.
async fn deliver(webhook: Arc<Webhook>, failed: Arc<FailedLog>, event: StoreEvent, abandon: watch::Receiver<bool>) {
    let body = match payload::body(&event) {
        Ok(body) => body,
        Err(error) => return record_failure(&failed, &event, &[], 0, &error),
    };
    match webhook.deliver(&event.id, &body, abandon).await {
        Outcome::Delivered { attempts } => log::info(format!(
            "event {} ({} {:?}: {} -> {}) delivered{}",
            event.id,
            event.kind,
            event.key,
            event.previous,
            event.status,
            if attempts > 1 { format!(" after {attempts} attempts") } else { String::new() }
        )),
        Outcome::Failed { attempts, error } => record_failure(&failed, &event, &body, attempts, &error),
    }
}

fn record_failure(failed: &FailedLog, event: &StoreEvent, body: &[u8], attempts: u32, error: &str) {
    log::warn(format!(
        "event {} ({:?}) not delivered after {attempts} attempt(s): {error}; recorded in {}",
        event.id,
        event.key,
        failed.path().display()
    ));
    if let Err(write) = failed.record(event, body, attempts, error) {
        log::warn(format!("could not record it in {}: {write}", failed.path().display()));
    }
}
