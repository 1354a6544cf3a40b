//! The in-process store: today's behaviour (nothing survives the process), with the same
//! claim, lease and event rules as the shared stores.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

use super::{Backend, EventSource, Fut, NewRow, RawRow, RawStatus, StoreError, StoreErrorKind, StoreResult, Update};

/// Events kept for readers that fall behind.
const RETAINED_EVENTS: usize = 10_000;

struct Row {
    sealed: String,
    status: String,
    version: i64,
    incarnation: String,
    next_check: Option<i64>,
    owner: Option<String>,
    failing_since: Option<i64>,
    error: Option<String>,
    updated_at: i64,
}

#[derive(Default)]
struct State {
    rows: HashMap<String, Row>,
    /// (next_check, key) of every watched row: claims read the due ones in order without
    /// scanning every row.
    due: BTreeSet<(i64, String)>,
    /// (sequence number, payload), oldest first.
    events: VecDeque<(u64, String)>,
    next_seq: u64,
    /// Attempt windows: key → (count, end).
    attempts: HashMap<String, (i64, i64)>,
}

#[derive(Default)]
pub(crate) struct Memory {
    state: Arc<Mutex<State>>,
    published: Arc<Notify>,
}

impl Memory {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Backend for Memory {
    fn attempt(&self, key: String, now: i64, window_ms: i64) -> Fut<'_, (i64, i64)> {
        let mut state = self.lock();
        if state.attempts.len() >= 100_000 {
            state.attempts.retain(|_, (_, end)| *end > now);
        }
        let entry = state.attempts.entry(key).or_insert((0, now.saturating_add(window_ms)));
        if entry.1 <= now {
            *entry = (0, now.saturating_add(window_ms));
        }
        entry.0 += 1;
        let counted = *entry;
        Box::pin(async move { Ok(counted) })
    }

    fn add(&self, row: NewRow) -> Fut<'_, bool> {
        let mut state = self.lock();
        let added = !state.rows.contains_key(&row.key);
        if added {
            state.due.insert((row.now, row.key.clone()));
            state.rows.insert(
                row.key,
                Row {
                    sealed: row.sealed,
                    status: row.status,
                    version: 0,
                    incarnation: row.incarnation,
                    next_check: Some(row.now),
                    owner: None,
                    failing_since: None,
                    error: None,
                    updated_at: row.now,
                },
            );
        }
        Box::pin(async move { Ok(added) })
    }

    fn remove(&self, key: String) -> Fut<'_, bool> {
        let mut state = self.lock();
        let removed = match state.rows.remove(&key) {
            Some(row) => {
                if let Some(at) = row.next_check {
                    state.due.remove(&(at, key));
                }
                true
            }
            None => false,
        };
        drop(state);
        Box::pin(async move { Ok(removed) })
    }

    fn status(&self, key: String) -> Fut<'_, Option<RawStatus>> {
        let status = self.lock().rows.get(&key).map(|r| RawStatus {
            status: r.status.clone(),
            watched: r.next_check.is_some(),
            error: r.error.clone(),
            updated_at: r.updated_at,
        });
        Box::pin(async move { Ok(status) })
    }

    fn claim(&self, owner: String, now: i64, lease_until: i64, limit: usize) -> Fut<'_, Vec<RawRow>> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let due: Vec<(i64, String)> = state.due.iter().take_while(|(t, _)| *t <= now).take(limit).cloned().collect();
        let mut claimed = Vec::with_capacity(due.len());
        for (at, key) in due {
            state.due.remove(&(at, key.clone()));
            state.due.insert((lease_until, key.clone()));
            if let Some(row) = state.rows.get_mut(&key) {
                row.next_check = Some(lease_until);
                row.owner = Some(owner.clone());
                claimed.push(RawRow {
                    key,
                    sealed: row.sealed.clone(),
                    status: row.status.clone(),
                    version: row.version,
                    incarnation: row.incarnation.clone(),
                    failing_since: row.failing_since,
                });
            }
        }
        Box::pin(async move { Ok(claimed) })
    }

    fn release(&self, owner: String, update: Update) -> Fut<'_, bool> {
        let mut guard = self.lock();
        let state = &mut *guard;
        let released = match state.rows.get_mut(&update.key) {
            Some(row) if row.owner.as_deref() == Some(owner.as_str()) => {
                if let Some(at) = row.next_check {
                    state.due.remove(&(at, update.key.clone()));
                }
                if let Some(at) = update.next_check {
                    state.due.insert((at, update.key.clone()));
                }
                row.status = update.status;
                row.version = update.version;
                row.next_check = update.next_check;
                row.owner = None;
                row.failing_since = update.failing_since;
                row.error = update.error;
                row.updated_at = update.now;
                true
            }
            _ => false,
        };
        if released && let Some(event) = update.event {
            let seq = state.next_seq;
            state.next_seq += 1;
            state.events.push_back((seq, event));
            while state.events.len() > RETAINED_EVENTS {
                state.events.pop_front();
            }
            self.published.notify_waiters();
        }
        Box::pin(async move { Ok(released) })
    }

    fn park(&self, key: String, reason: String, now: i64) -> Fut<'_, ()> {
        let mut guard = self.lock();
        let state = &mut *guard;
        if let Some(row) = state.rows.get_mut(&key) {
            if let Some(at) = row.next_check {
                state.due.remove(&(at, key.clone()));
            }
            row.next_check = None;
            row.owner = None;
            row.error = Some(reason);
            row.updated_at = now;
        }
        Box::pin(async move { Ok(()) })
    }

    fn events(&self) -> Fut<'_, Box<dyn EventSource>> {
        let next = self.lock().next_seq;
        let source = MemorySource { state: self.state.clone(), published: self.published.clone(), next };
        Box::pin(async move { Ok(Box::new(source) as Box<dyn EventSource>) })
    }
}

struct MemorySource {
    state: Arc<Mutex<State>>,
    published: Arc<Notify>,
    next: u64,
}

impl MemorySource {
    fn take(&mut self) -> Vec<StoreResult<String>> {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        if let Some(&(first, _)) = state.events.front()
            && first > self.next
        {
            out.push(Err(StoreError::new(
                StoreErrorKind::Lagged,
                format!("{} events were dropped before they were read", first - self.next),
            )));
            self.next = first;
        }
        let from = self.next;
        for (seq, payload) in state.events.iter().filter(|(seq, _)| *seq >= from) {
            out.push(Ok(payload.clone()));
            self.next = seq + 1;
        }
        out
    }
}

impl EventSource for MemorySource {
    fn next(&mut self, wait: Duration) -> Fut<'_, Vec<StoreResult<String>>> {
        Box::pin(async move {
            let published = self.published.clone();
            let notified = published.notified();
            let ready = self.take();
            if !ready.is_empty() {
                return Ok(ready);
            }
            let _ = tokio::time::timeout(wait, notified).await;
            Ok(self.take())
        })
    }
}
