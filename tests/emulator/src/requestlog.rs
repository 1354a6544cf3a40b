//! The log of requests received (outside `/_emulator/`), so tests can count retries.

use std::collections::VecDeque;

use serde::Serialize;

/// Most entries kept (oldest dropped first).
const LIMIT: usize = 100_000;

/// One request: method, path without query, response status (0 while unanswered, and
/// for ever when the connection was dropped or the client went away first).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Entry {
    pub method: String,
    pub path: String,
    pub status: u16,
}

/// Bounded log of received requests, recorded on arrival so that a request whose client
/// gave up waiting still counts.
#[derive(Debug, Default)]
pub(crate) struct RequestLog {
    entries: VecDeque<Entry>,
    /// Sequence number of the entry at the front.
    first: u64,
}

/// Identifies a logged request, to record its status once answered.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

impl RequestLog {
    /// Records a request that has just arrived.
    pub(crate) fn arrived(&mut self, method: &str, path: &str) -> Ticket {
        if self.entries.len() >= LIMIT {
            self.entries.pop_front();
            self.first += 1;
        }
        self.entries.push_back(Entry { method: method.to_owned(), path: path.to_owned(), status: 0 });
        Ticket(self.first + self.entries.len() as u64 - 1)
    }

    /// Records the status a request was answered with (if it is still in the log).
    pub(crate) fn answered(&mut self, ticket: Ticket, status: u16) {
        let index = ticket.0.checked_sub(self.first).and_then(|i| usize::try_from(i).ok());
        if let Some(entry) = index.and_then(|i| self.entries.get_mut(i)) {
            entry.status = status;
        }
    }

    /// Entries whose path starts with `prefix`, oldest first.
    pub(crate) fn matching(&self, prefix: &str) -> Vec<Entry> {
        self.entries.iter().filter(|e| e.path.starts_with(prefix)).cloned().collect()
    }

    /// Forgets everything.
    pub(crate) fn clear(&mut self) {
        self.first += self.entries.len() as u64;
        self.entries.clear();
    }
}
