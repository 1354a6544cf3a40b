//! Watching many signed-in sessions from one runtime: no thread or timer per session.
//!
//! A [`Monitor`] polls every session it holds once per interval, the first poll of each
//! spread at random over the interval (no thundering herd), with at most
//! `max_in_flight` polls at a time. Each status change is reported once as a
//! [`MonitorEvent`]; ended sessions are dropped after their last change is reported; a
//! session that cannot be polled for `unreachable_after` is reported as unreachable,
//! never dropped silently. With a [`Shard`], n processes split the sessions between
//! them by a stable hash of the session token, with no overlap.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Client, Session, SessionData, Status};
use crate::{Error, Result};

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

/// Watches many sessions; cheap to clone. The polling stops when every clone is dropped
/// (and the [`MonitorEvents`] stream then ends).
#[derive(Clone)]
pub struct Monitor {
    client: Client,
    tracked: Arc<Tracked>,
    commands: mpsc::UnboundedSender<Scheduled>,
    options: MonitorOptions,
}

impl std::fmt::Debug for Monitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Monitor").field("sessions", &self.len()).field("options", &self.options).finish()
    }
}

/// The sessions being watched, shared by the handles and the polling task.
#[derive(Default)]
struct Tracked(Mutex<HashMap<String, Entry>>);

struct Entry {
    session: Session,
    failing_since: Option<Instant>,
}

impl Tracked {
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        // Every critical section is one map operation: a poisoned map is still whole.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A poll due at a time; `seq` keeps the queue order total.
type Scheduled = (Instant, u64, String);

impl Monitor {
    /// Starts watching with `client`; the polling runs on the current tokio runtime.
    /// Returns the handle to add and remove sessions, and the stream of events.
    pub fn start(client: &Client, options: MonitorOptions) -> Result<(Monitor, MonitorEvents)> {
        if options.interval.is_zero() {
            return Err(Error::invalid("monitor interval must be greater than zero"));
        }
        if options.max_in_flight == 0 {
            return Err(Error::invalid("max_in_flight must be at least 1"));
        }
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| Error::invalid("Monitor::start must be called inside a tokio runtime"))?;
        let tracked = Arc::new(Tracked::default());
        let (commands, scheduled) = mpsc::unbounded_channel();
        let (events, receiver) = mpsc::unbounded_channel();
        let driver = Driver { tracked: tracked.clone(), options, events, seq: 0 };
        runtime.spawn(driver.run(scheduled));
        Ok((Monitor { client: client.clone(), tracked, commands, options }, MonitorEvents(receiver)))
    }

    /// Watches the session of `data`. `false` when it is already watched, already
    /// ended, or belongs to another shard.
    pub fn add(&self, data: SessionData) -> bool {
        if data.status.is_ended() || self.options.shard.is_some_and(|s| !s.owns(&data.session_token)) {
            return false;
        }
        let token = data.session_token.clone();
        {
            let mut tracked = self.tracked.lock();
            if tracked.contains_key(&token) {
                return false;
            }
            let session = self.client.resume(data);
            tracked.insert(token.clone(), Entry { session, failing_since: None });
        }
        let spread = self.options.interval.mul_f64(rand::random::<f64>());
        self.commands.send((Instant::now() + spread, 0, token)).is_ok()
    }

    /// Stops watching a session; `false` when it was not watched.
    pub fn remove(&self, session_token: &str) -> bool {
        self.tracked.lock().remove(session_token).is_some()
    }

    /// Whether the session is watched.
    pub fn contains(&self, session_token: &str) -> bool {
        self.tracked.lock().contains_key(session_token)
    }

    /// How many sessions are watched.
    pub fn len(&self) -> usize {
        self.tracked.lock().len()
    }

    /// Whether no session is watched.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The options it runs with.
    pub fn options(&self) -> MonitorOptions {
        self.options
    }
}

/// The events of a [`Monitor`], in the order they happened. Nothing is dropped: read it.
pub struct MonitorEvents(mpsc::UnboundedReceiver<MonitorEvent>);

impl MonitorEvents {
    /// The next event; `None` once the monitor has stopped and every event was read.
    pub async fn recv(&mut self) -> Option<MonitorEvent> {
        self.0.recv().await
    }

    /// An event if one is ready, without waiting.
    pub fn try_recv(&mut self) -> Option<MonitorEvent> {
        self.0.try_recv().ok()
    }
}

impl Stream for MonitorEvents {
    type Item = MonitorEvent;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<MonitorEvent>> {
        self.0.poll_recv(cx)
    }
}

impl std::fmt::Debug for MonitorEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MonitorEvents")
    }
}

/// The polling task.
struct Driver {
    tracked: Arc<Tracked>,
    options: MonitorOptions,
    events: mpsc::UnboundedSender<MonitorEvent>,
    seq: u64,
}

impl Driver {
    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Scheduled>) {
        let mut queue: BinaryHeap<Reverse<Scheduled>> = BinaryHeap::new();
        let mut polls: JoinSet<(String, Status, Result<Status>)> = JoinSet::new();
        loop {
            let next_due = queue.peek().map(|Reverse((due, _, _))| *due);
            let room = polls.len() < self.options.max_in_flight;
            tokio::select! {
                command = commands.recv() => match command {
                    Some(entry) => queue.push(Reverse(self.numbered(entry))),
                    None => break,
                },
                Some(done) = polls.join_next(), if !polls.is_empty() => {
                    if let Ok((token, previous, outcome)) = done
                        && let Some(next) = self.settle(token, previous, outcome)
                    {
                        queue.push(Reverse(self.numbered(next)));
                    }
                }
                _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() && room => {
                    let now = Instant::now();
                    while polls.len() < self.options.max_in_flight
                        && queue.peek().is_some_and(|Reverse((due, _, _))| *due <= now)
                    {
                        let Some(Reverse((_, _, token))) = queue.pop() else { break };
                        let Some(session) = self.tracked.lock().get(&token).map(|e| e.session.clone()) else { continue };
                        let previous = session.status();
                        polls.spawn(async move {
                            let outcome = session.refresh().await;
                            (token, previous, outcome)
                        });
                    }
                }
            }
        }
        polls.abort_all();
    }

    fn numbered(&mut self, (due, _, token): Scheduled) -> Scheduled {
        self.seq += 1;
        (due, self.seq, token)
    }

    /// Reports what a poll found; returns the next poll when the session stays watched.
    fn settle(&self, token: String, previous: Status, outcome: Result<Status>) -> Option<Scheduled> {
        let now = Instant::now();
        let mut tracked = self.tracked.lock();
        let entry = tracked.get_mut(&token)?;
        let user = entry.session.user();
        match outcome {
            Ok(status) => {
                entry.failing_since = None;
                if status.is_ended() {
                    tracked.remove(&token);
                }
                if status != previous {
                    let _ = self.events.send(MonitorEvent::Changed {
                        user,
                        session_token: token.clone(),
                        previous,
                        status: status.clone(),
                    });
                }
                (!status.is_ended()).then(|| (now + self.options.interval, 0, token))
            }
            Err(error) => {
                let since = *entry.failing_since.get_or_insert(now);
                if error.is_transient() && now.duration_since(since) < self.options.unreachable_after {
                    return Some((now + self.options.interval, 0, token));
                }
                tracked.remove(&token);
                let _ = self.events.send(MonitorEvent::Unreachable { user, session_token: token, error });
                None
            }
        }
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
