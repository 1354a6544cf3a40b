//! A monitor that works on a store: claims due sessions with a lease, polls each with the
//! shared poll decision, writes the result back (releasing the lease) and publishes changes.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{RawRow, SessionStore, StoreError, StoreEvent, Update, now_ms};
use crate::activeconnect::monitor::MonitorOptions;
use crate::activeconnect::poll::{PollState, Report, Rules, Step, Until, decide};
use crate::activeconnect::{Client, Status};
use crate::limits::check_positive;
use crate::{Error, Result};

/// Store problems kept for [`StoreMonitor::problems`].
const MAX_PROBLEMS: usize = 100;

/// How a [`StoreMonitor`] works.
#[derive(Clone, Debug)]
pub struct StoreMonitorOptions {
    /// `interval`, `max_in_flight` and `unreachable_after` as for the in-memory monitor
    /// (`shard` is ignored: the store shares the work).
    pub poll: MonitorOptions,
    /// How long a claim lasts: a monitor that dies holds its sessions this long at most.
    /// Longer than one poll may take (the client's retry deadline). Default 60 s.
    pub lease: Duration,
    /// The most sessions claimed at once. Default 100.
    pub batch: usize,
    /// How often the store is asked for due sessions when none were. Default 1 s.
    pub idle: Duration,
    /// This monitor's owner id in the store; default a random one.
    pub owner: Option<String>,
}

impl Default for StoreMonitorOptions {
    fn default() -> Self {
        StoreMonitorOptions {
            poll: MonitorOptions::default(),
            lease: Duration::from_secs(60),
            batch: 100,
            idle: Duration::from_secs(1),
            owner: None,
        }
    }
}

impl StoreMonitorOptions {
    /// Refuses zero durations or batch, and durations above [`crate::MAX_DURATION`].
    pub fn validate(&self) -> Result<()> {
        self.poll.validate()?;
        check_positive("lease", self.lease)?;
        check_positive("idle", self.idle)?;
        if self.batch == 0 {
            return Err(Error::invalid("batch must be at least 1"));
        }
        Ok(())
    }
}

struct Inner {
    client: Client,
    store: SessionStore,
    options: StoreMonitorOptions,
    owner: String,
    closing: AtomicBool,
    wake: Notify,
    polls: AtomicU64,
    problems: Mutex<Vec<StoreError>>,
}

impl Inner {
    fn problem(&self, error: StoreError) {
        log::warn!("deviceauth monitor store: {error}");
        let mut problems = self.problems.lock().unwrap_or_else(|p| p.into_inner());
        if problems.len() < MAX_PROBLEMS {
            problems.push(error);
        }
    }
}

/// Polls the sessions of a [`SessionStore`] together with any number of other monitors,
/// in this or other processes. Status changes go to the store (read them with
/// [`SessionStore::status`] or [`SessionStore::subscribe`]).
///
/// [`StoreMonitor::close`] stops it cleanly: it finishes its polls and hands back its
/// unpolled claims at once. Dropping it without `close` is like the process dying: its
/// claims stay with it until their lease ends, then other monitors take them.
pub struct StoreMonitor {
    inner: Arc<Inner>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for StoreMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreMonitor").field("owner", &self.inner.owner).finish()
    }
}

impl StoreMonitor {
    /// Starts polling on the current tokio runtime.
    pub fn start(client: &Client, store: &SessionStore, options: StoreMonitorOptions) -> Result<StoreMonitor> {
        options.validate()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::invalid("StoreMonitor::start must be called inside a tokio runtime"))?;
        let owner = match &options.owner {
            Some(owner) if !owner.is_empty() && owner.len() <= 200 => owner.clone(),
            Some(_) => return Err(Error::invalid("owner: 1 to 200 bytes")),
            None => format!("monitor-{}-{:016x}", std::process::id(), rand::random::<u64>()),
        };
        let inner = Arc::new(Inner {
            client: client.clone(),
            store: store.clone(),
            options,
            owner,
            closing: AtomicBool::new(false),
            wake: Notify::new(),
            polls: AtomicU64::new(0),
            problems: Mutex::new(Vec::new()),
        });
        let task = runtime.spawn(run(inner.clone()));
        Ok(StoreMonitor { inner, task: Some(task) })
    }

    /// This monitor's owner id in the store.
    pub fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// How many polls it has written back.
    pub fn polls(&self) -> u64 {
        self.inner.polls.load(Ordering::SeqCst)
    }

    /// The store problems met since the last call (corrupted rows skipped, store
    /// failures), at most 100; each is also logged.
    pub fn problems(&self) -> Vec<StoreError> {
        std::mem::take(&mut *self.inner.problems.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Stops claiming, finishes the polls in flight, and releases what it holds.
    pub async fn close(mut self) {
        self.inner.closing.store(true, Ordering::SeqCst);
        self.inner.wake.notify_one();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for StoreMonitor {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

async fn run(inner: Arc<Inner>) {
    let slots = Arc::new(Semaphore::new(inner.options.poll.max_in_flight));
    let mut polls = JoinSet::new();
    while !inner.closing.load(Ordering::SeqCst) {
        while polls.try_join_next().is_some() {}
        let room = slots.available_permits().min(inner.options.batch);
        // With a backlog, claim in batches: wait until half a batch of slots is free rather
        // than claiming one row (one store transaction) per finished poll.
        let want = inner.options.batch.min(inner.options.poll.max_in_flight).div_ceil(2).max(1);
        if room < want && !polls.is_empty() {
            let _ = polls.join_next().await;
            continue;
        }
        if room == 0 {
            let _ = polls.join_next().await;
            continue;
        }
        let now = now_ms();
        let lease_until = now.saturating_add(inner.options.lease.as_millis() as i64);
        let claimed = match inner.store.backend().claim(inner.owner.clone(), now, lease_until, room).await {
            Ok(rows) => rows,
            Err(error) => {
                inner.problem(error);
                Vec::new()
            }
        };
        let full = claimed.len() == room;
        for row in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else { break };
            let inner = inner.clone();
            polls.spawn(async move {
                poll_one(&inner, row).await;
                drop(permit);
            });
        }
        if !full {
            tokio::select! {
                _ = tokio::time::sleep(inner.options.idle) => {}
                _ = inner.wake.notified() => {}
            }
        }
    }
    while polls.join_next().await.is_some() {}
}

/// Polls one claimed row and writes the outcome back.
async fn poll_one(inner: &Inner, row: RawRow) {
    let store = &inner.store;
    let data = match store
        .open_row(&row)
        .and_then(|data| inner.client.try_resume(data).map_err(|e| StoreError::corrupt(&row.key, e.to_string())))
    {
        Ok(session) => session,
        Err(error) => {
            let reason = error.message.clone();
            inner.problem(error);
            if let Err(error) = store.backend().park(row.key.clone(), format!("corrupt: {reason}"), now_ms()).await {
                inner.problem(error);
            }
            return;
        }
    };
    let session = data;
    let user = session.user();
    let token = session.session_token();
    let stored = Status::from_wire(&row.status);
    let outcome =
        if inner.closing.load(Ordering::SeqCst) { None } else { Some(crate::ffi::guard(session.refresh()).await) };
    let (now, now_wall) = (Instant::now(), now_ms());
    let Some(outcome) = outcome else {
        // Closing: hand the claim back untouched, due at once for another monitor.
        let update = Update {
            key: row.key.clone(),
            status: row.status.clone(),
            version: row.version,
            next_check: Some(now_wall),
            failing_since: row.failing_since,
            error: None,
            event: None,
            now: now_wall,
        };
        if let Err(error) = store.backend().release(inner.owner.clone(), update).await {
            inner.problem(error);
        }
        return;
    };
    let ms = |d: Duration| d.as_millis().min(i64::MAX as u128) as i64;
    let mut state = PollState::new(stored.clone());
    state.failing_since = row.failing_since.map(|since| {
        now.checked_sub(Duration::from_millis(now_wall.saturating_sub(since).max(0) as u64)).unwrap_or(now)
    });
    let rules = Rules {
        until: Until::Ended,
        interval: inner.options.poll.interval,
        deadline: None,
        tolerate: Some(inner.options.poll.unreachable_after),
    };
    let (report, next_check) = match decide(&rules, &mut state, outcome, now) {
        Step::Again { at, report } => (report, Some(now_wall.saturating_add(ms(at.saturating_duration_since(now))))),
        Step::Stop(report) => (report, None),
    };
    let failing_since = state.failing_since.map(|since| now_wall - ms(now.saturating_duration_since(since)));
    let version = row.version + i64::from(report.is_some());
    let id = format!("{}-{}", row.incarnation, version);
    let (event, error) = match report {
        Some(Report::Changed { previous, status }) => {
            crate::telemetry::status_changed(&token, &previous, &status);
            let event = StoreEvent {
                id,
                kind: "changed".into(),
                key: row.key.clone(),
                user,
                session_token: token,
                previous,
                status,
                error: None,
                at_ms: now_wall,
            };
            (Some(event), None)
        }
        Some(Report::Failed(error)) => {
            crate::telemetry::unreachable(&token, error.code());
            let text = format!("{}: {error}", error.code());
            let event = StoreEvent {
                id,
                kind: "unreachable".into(),
                key: row.key.clone(),
                user,
                session_token: token,
                previous: stored.clone(),
                status: state.last.clone(),
                error: Some(text.clone()),
                at_ms: now_wall,
            };
            (Some(event), Some(text))
        }
        None => (None, None),
    };
    let update = Update {
        key: row.key.clone(),
        status: state.last.as_str().to_owned(),
        version,
        next_check,
        failing_since,
        error,
        event: event.map(|e| serde_json::to_string(&e).unwrap_or_default()),
        now: now_wall,
    };
    match store.backend().release(inner.owner.clone(), update).await {
        Ok(true) => {
            inner.polls.fetch_add(1, Ordering::SeqCst);
        }
        Ok(false) => log::info!("deviceauth monitor: the claim on {:?} was taken over; result dropped", row.key),
        Err(error) => inner.problem(error),
    }
}
