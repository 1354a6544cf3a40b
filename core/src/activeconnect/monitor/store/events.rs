//! The subscriber side: events read from the store into a bounded channel.

use std::time::Duration;

use tokio::sync::{Mutex, mpsc};

use super::{EventSource, StoreError, StoreEvent, StoreResult};

/// How long one read of the store waits for new events.
const READ_WAIT: Duration = Duration::from_millis(500);

/// Status-change events from every monitor on a store, in publication order, through a
/// bounded channel.
///
/// **When the reader falls behind**: once the channel is full the subscriber stops
/// reading the store (back-pressure), and goes on where it stopped when there is room;
/// nothing is dropped while the store still holds the events (memory: the last 10,000;
/// SQLite and Postgres: one hour; Redis: about the last 100,000). A reader that falls
/// further behind gets one `Err` of kind [`super::StoreErrorKind::Lagged`] and then the
/// events still held. Delivery is at least once: drop repeats by [`StoreEvent::id`]. A
/// row that cannot be read yields an `Err` of kind `Corrupt` and is skipped.
pub struct StoreEvents {
    receiver: Mutex<mpsc::Receiver<StoreResult<StoreEvent>>>,
    task: tokio::task::JoinHandle<()>,
}

impl StoreEvents {
    pub(super) fn start(mut source: Box<dyn EventSource>, capacity: usize) -> StoreEvents {
        let (sender, receiver) = mpsc::channel(capacity);
        let task = tokio::spawn(async move {
            loop {
                let batch = match source.next(READ_WAIT).await {
                    Ok(batch) => batch,
                    Err(error) => {
                        // The store is unreachable for now: say so, wait, read again.
                        if sender.send(Err(error)).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(READ_WAIT).await;
                        continue;
                    }
                };
                for item in batch {
                    let item = item.and_then(|payload| {
                        serde_json::from_str::<StoreEvent>(&payload)
                            .map_err(|e| StoreError::corrupt("(event)", format!("unreadable event: {e}")))
                    });
                    if sender.send(item).await.is_err() {
                        return;
                    }
                }
            }
        });
        StoreEvents { receiver: Mutex::new(receiver), task }
    }

    /// The next event (or store problem); waits for one.
    pub async fn recv(&self) -> Option<StoreResult<StoreEvent>> {
        self.receiver.lock().await.recv().await
    }

    /// An event if one is ready, without waiting.
    pub fn try_recv(&self) -> Option<StoreResult<StoreEvent>> {
        self.receiver.try_lock().ok()?.try_recv().ok()
    }

    /// Waits up to `wait` for a first event, then takes up to `max` in all that are ready.
    pub async fn recv_batch(&self, max: usize, wait: Duration) -> Vec<StoreResult<StoreEvent>> {
        let mut batch = Vec::new();
        let Ok(mut receiver) = tokio::time::timeout(wait, self.receiver.lock()).await else { return batch };
        if let Ok(Some(first)) = tokio::time::timeout(wait, receiver.recv()).await {
            batch.push(first);
            while batch.len() < max {
                match receiver.try_recv() {
                    Ok(item) => batch.push(item),
                    Err(_) => break,
                }
            }
        }
        batch
    }
}

impl Drop for StoreEvents {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl std::fmt::Debug for StoreEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreEvents")
    }
}
