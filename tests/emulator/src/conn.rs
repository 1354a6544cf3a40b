//! Per-connection bookkeeping for the time-outs: an I/O wrapper that notes when bytes
//! move, a guard counting requests in progress, and the watchdog that says when a
//! connection has been idle or half-sent for too long.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

const NONE: u64 = u64::MAX;

/// Time-outs of one connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// From the first byte of a request's head to the whole head.
    pub header: Duration,
    /// With no request in progress, from the last byte received or sent.
    pub idle: Duration,
}

/// Why the watchdog ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expired {
    /// A request's head started but did not complete in time.
    HalfSent,
    /// Nothing happened for the idle time-out.
    Idle,
}

/// What the watchdog reads; written by [`Tracked`] and [`RequestGuard`].
#[derive(Debug)]
pub(crate) struct ConnState {
    start: Instant,
    last_io_ms: AtomicU64,
    head_started_ms: AtomicU64,
    in_flight: AtomicUsize,
    h2: AtomicBool,
    /// Wakes the watchdog when a head starts (its deadline gets shorter).
    head_start: Notify,
}

impl ConnState {
    /// State of a connection accepted now.
    pub(crate) fn new() -> Arc<ConnState> {
        Arc::new(ConnState {
            start: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            head_started_ms: AtomicU64::new(NONE),
            in_flight: AtomicUsize::new(0),
            h2: AtomicBool::new(false),
            head_start: Notify::new(),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    fn on_read(&self) {
        let now = self.now_ms();
        self.last_io_ms.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Acquire) == 0
            && self.head_started_ms.compare_exchange(NONE, now, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            self.head_start.notify_one();
        }
    }

    fn on_write(&self) {
        self.last_io_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// A request reached the service; the returned guard ends it when dropped.
    pub(crate) fn begin_request(self: &Arc<Self>, http2: bool) -> RequestGuard {
        if http2 {
            self.h2.store(true, Ordering::Relaxed);
        }
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.head_started_ms.store(NONE, Ordering::Release);
        self.on_write();
        RequestGuard(self.clone())
    }

    /// The connection carries HTTP/2 (graceful shutdown then, and no head time-out).
    pub(crate) fn is_h2(&self) -> bool {
        self.h2.load(Ordering::Relaxed)
    }

    /// Completes when the connection is half-sent or idle past `limits`; never while a
    /// request is in progress (a handler may be slow on purpose, e.g. an emulated delay).
    pub(crate) async fn watchdog(&self, limits: Limits) -> Expired {
        let header = u64::try_from(limits.header.as_millis()).unwrap_or(NONE / 4);
        let idle = u64::try_from(limits.idle.as_millis()).unwrap_or(NONE / 4);
        loop {
            let now = self.now_ms();
            let (deadline, reason) = if self.in_flight.load(Ordering::Acquire) > 0 {
                (now.saturating_add(header.min(idle)), None)
            } else {
                match self.head_started_ms.load(Ordering::Acquire) {
                    started if started != NONE && !self.is_h2() => {
                        (started.saturating_add(header), Some(Expired::HalfSent))
                    }
                    _ => (self.last_io_ms.load(Ordering::Relaxed).saturating_add(idle), Some(Expired::Idle)),
                }
            };
            if let Some(reason) = reason
                && now >= deadline
            {
                return reason;
            }
            let wait = Duration::from_millis(deadline.saturating_sub(now).max(1));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.head_start.notified() => {}
            }
        }
    }
}

/// Counts a request as in progress until dropped.
#[derive(Debug)]
pub(crate) struct RequestGuard(Arc<ConnState>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.on_write();
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An I/O stream that reports every byte moved to its [`ConnState`].
pub(crate) struct Tracked<I> {
    inner: I,
    state: Arc<ConnState>,
}

impl<I> Tracked<I> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: I, state: Arc<ConnState>) -> Tracked<I> {
        Tracked { inner, state }
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Tracked<I> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.state.on_read();
        }
        result
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Tracked<I> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, data);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.state.on_write();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.state.on_write();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
