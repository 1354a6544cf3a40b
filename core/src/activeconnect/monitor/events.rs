//! The events of a monitor, readable from several threads at once.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use tokio::sync::{Mutex, mpsc};

use super::MonitorEvent;

/// The events of a [`super::Monitor`], in the order they happened. Nothing is dropped:
/// read it. `Send + Sync`: its methods take `&self`, so several tasks or threads may read
/// (each event goes to one reader).
pub struct MonitorEvents {
    receiver: Mutex<mpsc::UnboundedReceiver<MonitorEvent>>,
    /// Set once a read found the monitor stopped and every event read.
    finished: AtomicBool,
}

impl MonitorEvents {
    pub(super) fn new(receiver: mpsc::UnboundedReceiver<MonitorEvent>) -> Self {
        MonitorEvents { receiver: Mutex::new(receiver), finished: AtomicBool::new(false) }
    }

    /// The next event; `None` once the monitor has stopped and every event was read.
    pub async fn recv(&self) -> Option<MonitorEvent> {
        let event = self.receiver.lock().await.recv().await;
        self.note(&event);
        event
    }

    /// An event if one is ready, without waiting (`None` too while another reader holds
    /// the stream).
    pub fn try_recv(&self) -> Option<MonitorEvent> {
        let mut receiver = self.receiver.try_lock().ok()?;
        match receiver.try_recv() {
            Ok(event) => Some(event),
            Err(mpsc::error::TryRecvError::Disconnected) => {
                self.finished.store(true, Ordering::SeqCst);
                None
            }
            Err(mpsc::error::TryRecvError::Empty) => None,
        }
    }

    /// Waits up to `wait` for a first event, then takes up to `max` events in all that
    /// are ready. Empty when `wait` passed with none, or when the monitor has stopped
    /// and every event was read ([`MonitorEvents::is_finished`] tells the two apart).
    pub async fn recv_batch(&self, max: usize, wait: Duration) -> Vec<MonitorEvent> {
        let mut batch = Vec::new();
        if max == 0 {
            return batch;
        }
        // `timeout` bounds any `wait` itself (a far deadline means "no time-out").
        let Ok(mut receiver) = tokio::time::timeout(wait, self.receiver.lock()).await else { return batch };
        let first = match tokio::time::timeout(wait, receiver.recv()).await {
            Ok(event) => event,
            Err(_) => return batch,
        };
        self.note(&first);
        batch.extend(first);
        while batch.len() < max {
            match receiver.try_recv() {
                Ok(event) => batch.push(event),
                Err(_) => break,
            }
        }
        batch
    }

    /// Whether the monitor has stopped and every event was read: reads now return
    /// nothing, at once.
    pub fn is_finished(&self) -> bool {
        if self.finished.load(Ordering::SeqCst) {
            return true;
        }
        let done = self.receiver.try_lock().is_ok_and(|r| r.is_closed() && r.is_empty());
        if done {
            self.finished.store(true, Ordering::SeqCst);
        }
        done
    }

    fn note(&self, event: &Option<MonitorEvent>) {
        if event.is_none() {
            self.finished.store(true, Ordering::SeqCst);
        }
    }
}

impl Stream for MonitorEvents {
    type Item = MonitorEvent;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<MonitorEvent>> {
        let this = self.get_mut();
        let polled = this.receiver.get_mut().poll_recv(cx);
        if let Poll::Ready(None) = polled {
            this.finished.store(true, Ordering::SeqCst);
        }
        polled
    }
}

impl std::fmt::Debug for MonitorEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MonitorEvents")
    }
}
