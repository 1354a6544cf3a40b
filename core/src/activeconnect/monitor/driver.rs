//! The polling task of a monitor: one timer queue for every session, polls bounded in
//! number, each result settled by the shared poll decision.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::{Id, JoinSet};
use tokio::time::Instant;

use super::{Command, MonitorEvent, MonitorOptions, Shared};
use crate::activeconnect::Status;
use crate::activeconnect::poll::{Report, Rules, Step, Until, decide};
use crate::telemetry::{self, metrics};
use crate::{Error, Result};

/// A poll due at an instant; `seq` keeps the queue order total.
type Due = (Instant, u64, String);

/// The polling task.
pub(super) struct Driver {
    shared: Arc<Shared>,
    options: MonitorOptions,
    events: mpsc::UnboundedSender<MonitorEvent>,
    seq: u64,
    /// The session each running poll is for, by task id, so a poll task that fails in
    /// any way is still settled (a session is never dropped silently).
    running: HashMap<Id, String>,
}

impl Driver {
    pub fn new(shared: Arc<Shared>, options: MonitorOptions, events: mpsc::UnboundedSender<MonitorEvent>) -> Self {
        Driver { shared, options, events, seq: 0, running: HashMap::new() }
    }

    pub async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut queue: BinaryHeap<Reverse<Due>> = BinaryHeap::new();
        let mut polls: JoinSet<Result<Status>> = JoinSet::new();
        loop {
            let next_due = queue.peek().map(|Reverse((due, _, _))| *due);
            let room = polls.len() < self.options.max_in_flight;
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Poll(due, token)) => self.push(&mut queue, due, token),
                    Some(Command::Close) | None => break,
                },
                Some(done) = polls.join_next_with_id(), if !polls.is_empty() => {
                    let (id, outcome) = match done {
                        Ok((id, outcome)) => (id, outcome),
                        Err(error) => (error.id(), Err(Error::Internal(format!("a status poll task failed: {error}")))),
                    };
                    if let Some(token) = self.running.remove(&id)
                        && let Some(due) = self.settle(&token, outcome)
                    {
                        self.push(&mut queue, due, token);
                    }
                }
                _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() && room => {
                    self.start_due(&mut queue, &mut polls);
                }
            }
        }
        polls.abort_all();
    }

    fn push(&mut self, queue: &mut BinaryHeap<Reverse<Due>>, due: Instant, token: String) {
        self.seq += 1;
        queue.push(Reverse((due, self.seq, token)));
    }

    /// Starts the polls that are due, as many as there is room for.
    fn start_due(&mut self, queue: &mut BinaryHeap<Reverse<Due>>, polls: &mut JoinSet<Result<Status>>) {
        let now = Instant::now();
        while polls.len() < self.options.max_in_flight && queue.peek().is_some_and(|Reverse((due, _, _))| *due <= now) {
            let Some(Reverse((_, _, token))) = queue.pop() else { break };
            let Some(session) = self.shared.lock().get(&token).map(|e| e.session.clone()) else { continue };
            let handle = polls.spawn(async move { crate::ffi::guard(session.refresh()).await });
            self.running.insert(handle.id(), token);
        }
    }

    /// Reports what a poll found; returns when to poll next while the session stays
    /// watched.
    fn settle(&self, token: &str, outcome: Result<Status>) -> Option<Instant> {
        let rules = Rules {
            until: Until::Ended,
            interval: self.options.interval,
            deadline: None,
            tolerate: Some(self.options.unreachable_after),
        };
        let mut sessions = self.shared.lock();
        let entry = sessions.get_mut(token)?;
        let user = entry.session.user();
        let step = decide(&rules, &mut entry.state, outcome, Instant::now());
        let (report, next) = match step {
            Step::Again { at, report } => (report, Some(at)),
            Step::Stop(report) => {
                sessions.remove(token);
                metrics::watched(-1);
                (report, None)
            }
        };
        let session_token = token.to_owned();
        let event = match report {
            Some(Report::Changed { previous, status }) => {
                telemetry::status_changed(token, &previous, &status);
                Some(MonitorEvent::Changed { user, session_token, previous, status })
            }
            Some(Report::Failed(error)) => {
                telemetry::unreachable(token, error.code());
                Some(MonitorEvent::Unreachable { user, session_token, error })
            }
            None => None,
        };
        if let Some(event) = event {
            let _ = self.events.send(event);
        }
        next
    }
}
