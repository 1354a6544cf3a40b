//! Watching many signed-in sessions from one runtime: no thread or timer per session.
//!
//! A [`Monitor`] polls every session it holds once per interval, the first poll of each
//! spread at random over the interval (no thundering herd), with at most
//! `max_in_flight` polls at a time. Each status change is reported once as a
//! [`MonitorEvent`]; ended sessions are dropped after their last change is reported; a
//! session that cannot be polled for `unreachable_after` is reported as unreachable,
//! never dropped silently. [`Monitor::close`] stops it. With a [`Shard`], n processes split the sessions between
//! them by a stable hash of the session token, with no overlap.

mod driver;
mod events;
pub mod store;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::poll::PollState;
use super::{Client, Session, SessionData, Status};
use crate::limits::{check_duration, check_positive, later};
use crate::telemetry::metrics;
use crate::{Error, Result};

pub use events::MonitorEvents;

/// How a [`Monitor`] polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MonitorOptions {
    /// Time between two polls of one session.
    pub interval: Duration,
    /// The most polls in flight at once.
    pub max_in_flight: usize,
    /// A session whose polls keep failing this long is reported unreachable and dropped.
    pub unreachable_after: Duration,
    /// Watch only the sessions of this shard.
    pub shard: Option<Shard>,
}

impl Default for MonitorOptions {
    /// Every 5 s, 100 polls in flight, unreachable after 60 s, no sharding.
    fn default() -> Self {
        MonitorOptions {
            interval: Duration::from_secs(5),
            max_in_flight: 100,
            unreachable_after: Duration::from_secs(60),
            shard: None,
        }
    }
}

impl MonitorOptions {
    /// Refuses a zero interval or `max_in_flight`, and durations above
    /// [`crate::MAX_DURATION`] (`INVALID_ARGUMENT` naming the field).
    pub fn validate(&self) -> Result<()> {
        check_positive("monitor interval", self.interval)?;
        check_duration("unreachable_after", self.unreachable_after)?;
        if self.max_in_flight == 0 {
            return Err(Error::invalid("max_in_flight must be at least 1"));
        }
        Ok(())
    }
}

/// Shard `index` of `count`: the sessions whose token hashes to `index`.
///
/// The hash is the first 8 bytes of SHA-256 of the session token, big-endian, modulo
/// `count`, so every process and language agrees on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shard {
    index: u32,
    count: u32,
}

impl Shard {
    /// Shard `index` (from 0) of `count`.
    pub fn new(index: u32, count: u32) -> Result<Shard> {
        if count == 0 || index >= count {
            return Err(Error::invalid(format!("shard {index} of {count}: need 0 <= index < count")));
        }
        Ok(Shard { index, count })
    }

    /// This shard's index.
    pub fn index(self) -> u32 {
        self.index
    }

    /// How many shards there are.
    pub fn count(self) -> u32 {
        self.count
    }

    /// The shard index of `session_token` among `count` shards (`count` > 0).
    pub fn of(session_token: &str, count: u32) -> u32 {
        let digest = Sha256::digest(session_token.as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        (u64::from_be_bytes(first) % u64::from(count.max(1))) as u32
    }

    /// Whether `session_token` belongs to this shard.
    pub fn owns(self, session_token: &str) -> bool {
        Shard::of(session_token, self.count) == self.index
    }
}

/// What a [`Monitor`] reports.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum MonitorEvent {
    /// A session's status changed. After an ended status it is no longer watched.
    Changed {
        /// The session's user.
        user: String,
        /// The session's token.
        session_token: String,
        /// The status before.
        previous: Status,
        /// The status now.
        status: Status,
    },
    /// A session could not be polled (for `unreachable_after`, or at once for an error
    /// that retrying cannot fix, such as an unknown session); it is no longer watched.
    Unreachable {
        /// The session's user.
        user: String,
        /// The session's token.
        session_token: String,
        /// The last error.
        error: Error,
    },
}

/// Watches many sessions; cheap to clone. The polling stops at [`Monitor::close`] or
/// when every clone is dropped (and the [`MonitorEvents`] stream then ends once read).
#[derive(Clone)]
pub struct Monitor {
    client: Client,
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
    options: MonitorOptions,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("sessions", &self.len()).field("options", &self.options).finish()
    }
}

/// The state shared by the handles and the polling task.
#[derive(Default)]
struct Shared {
    sessions: Mutex<HashMap<String, Entry>>,
    closed: AtomicBool,
}

/// A watched session and what its polls have found so far.
struct Entry {
    session: Session,
    state: PollState,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // Every critical section is one map operation: a poisoned map is still whole.
        self.sessions.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stops watching `token`; `false` when it was not watched.
    fn remove(&self, token: &str) -> bool {
        let removed = self.lock().remove(token).is_some();
        if removed {
            metrics::watched(-1);
        }
        removed
    }

    /// Stops watching every session.
    fn clear(&self) {
        let mut sessions = self.lock();
        metrics::watched(-i64::try_from(sessions.len()).unwrap_or(i64::MAX));
        sessions.clear();
    }
}

impl Drop for Shared {
    /// The sessions still held stop counting as watched.
    fn drop(&mut self) {
        self.clear();
    }
}

/// What the handles tell the polling task.
enum Command {
    /// Poll this session at this instant.
    Poll(Instant, String),
    /// Stop polling and end the events stream.
    Close,
}

impl Monitor {
    /// Starts watching with `client`; the polling runs on the current tokio runtime.
    /// Returns the handle to add and remove sessions, and the stream of events.
    pub fn start(client: &Client, options: MonitorOptions) -> Result<(Monitor, MonitorEvents)> {
        options.validate()?;
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::invalid("Monitor::start must be called inside a tokio runtime"))?;
        let shared = Arc::new(Shared::default());
        let (commands, received) = mpsc::unbounded_channel();
        let (events, receiver) = mpsc::unbounded_channel();
        runtime.spawn(driver::Driver::new(shared.clone(), options, events).run(received));
        Ok((Monitor { client: client.clone(), shared, commands, options }, MonitorEvents::new(receiver)))
    }

    /// Watches the session of `data`. `false` when it is already watched, already
    /// ended, belongs to another shard, or the monitor is closed.
    pub fn add(&self, data: SessionData) -> bool {
        if self.is_closed()
            || data.status.is_ended()
            || self.options.shard.is_some_and(|s| !s.owns(&data.session_token))
        {
            return false;
        }
        let token = data.session_token.clone();
        {
            let mut sessions = self.shared.lock();
            if sessions.contains_key(&token) {
                return false;
            }
            let state = PollState::new(data.status.clone());
            sessions.insert(token.clone(), Entry { session: self.client.resume(data), state });
            metrics::watched(1);
        }
        let spread = self.options.interval.mul_f64(rand::random::<f64>());
        if self.commands.send(Command::Poll(later(Instant::now(), spread), token.clone())).is_err() {
            self.shared.remove(&token);
            return false;
        }
        true
    }

    /// Stops watching a session; `false` when it was not watched.
    pub fn remove(&self, session_token: &str) -> bool {
        self.shared.remove(session_token)
    }

    /// Whether the session is watched.
    pub fn contains(&self, session_token: &str) -> bool {
        self.shared.lock().contains_key(session_token)
    }

    /// How many sessions are watched.
    pub fn len(&self) -> usize {
        self.shared.lock().len()
    }

    /// Whether no session is watched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The options it runs with.
    pub fn options(&self) -> MonitorOptions {
        self.options
    }

    /// Stops the monitor, for every clone: polling stops, every session is let go, the
    /// events stream ends once its remaining events are read, and [`Monitor::add`]
    /// returns `false`. Closing again does nothing.
    pub fn close(&self) {
        if !self.shared.closed.swap(true, Ordering::SeqCst) {
            self.shared.clear();
            let _ = self.commands.send(Command::Close);
        }
    }

    /// Whether [`Monitor::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_tokens_without_overlap() {
        let shards: Vec<Shard> = (0..4).map(|i| Shard::new(i, 4).unwrap()).collect();
        let mut sizes = [0; 4];
        for i in 0..4000 {
            let token = format!("token-{i}");
            let owners: Vec<usize> = (0..4).filter(|&s| shards[s].owns(&token)).collect();
            assert_eq!(owners.len(), 1);
            sizes[owners[0]] += 1;
        }
        assert!(sizes.iter().all(|&n| n > 800), "{sizes:?}");
        assert!(Shard::new(4, 4).is_err() && Shard::new(0, 0).is_err());
        // Pinned so that other languages can check their implementation.
        assert_eq!(Shard::of("abc", 1000), 0xba78_16bf_8f01_cfea_u64.rem_euclid(1000) as u32);
    }
}
