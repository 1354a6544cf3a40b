//! A sign-in session: polling its status, waiting, watching, and logging out.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{self, BoxStream, Fuse, FusedStream};
use futures_util::{Stream, StreamExt};
use reqwest::Method as HttpMethod;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use super::wait::{Next, PollSchedule};
use super::wire::{AuthEnvelope, Outcome};
use super::{Client, Status, WaitOptions};
use crate::{Error, Result, Secret};

/// Everything needed to resume a session later, e.g. in the next web request.
///
/// It serializes with the session secret in plain text: store it server side (a
/// database, a server-side session store), never in a cookie or a log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionData {
    /// The user id the session belongs to.
    pub user: String,
    /// Identifies the session; signs status and logout calls together with the secret.
    pub session_token: String,
    /// The session's signing secret.
    pub session_secret: Secret,
    /// Where the session's status is polled.
    pub status_url: Url,
    /// Where the session is ended.
    pub logout_url: Url,
    /// The last status seen.
    pub status: Status,
}

/// A sign-in session of one user. Cheap to clone: clones share state, so a status seen
/// through one is seen through all.
#[derive(Clone)]
pub struct Session {
    client: Client,
    data: Arc<Mutex<SessionData>>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let data = self.lock();
        f.debug_struct("Session").field("user", &data.user).field("status", &data.status).finish()
    }
}

impl Session {
    pub(crate) fn new(client: Client, data: SessionData) -> Self {
        Session { client, data: Arc::new(Mutex::new(data)) }
    }

    /// The client this session polls with.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The last status seen (no request).
    pub fn status(&self) -> Status {
        self.lock().status.clone()
    }

    /// The user the session belongs to.
    pub fn user(&self) -> String {
        self.lock().user.clone()
    }

    /// The session's state, to store and [`Client::resume`] later.
    pub fn data(&self) -> SessionData {
        self.lock().clone()
    }

    /// Polls the status once. An ended session is not polled again: its status is final.
    /// Concurrent polls of the same session, through any [`Session`] of the same
    /// [`Client`], share one request.
    pub async fn refresh(&self) -> Result<Status> {
        let data = self.data();
        if data.status.is_ended() {
            return Ok(data.status);
        }
        let client = self.client.clone();
        let token = data.session_token.clone();
        let status = self.client.status_flights().run(&token, move || fetch_status(client, data)).await?;
        self.lock().status = status.clone();
        Ok(status)
    }

    /// Polls every `options.interval` until the session is no longer in progress and
    /// returns that status (`active`, or how it ended). Passing `options.deadline` is
    /// [`Error::Timeout`]. Transient failures of single polls are retried until the
    /// deadline; other errors end the wait. Dropping the future stops the polling.
    pub async fn wait(&self, options: &WaitOptions) -> Result<Status> {
        options.validate()?;
        let schedule = PollSchedule::new(options);
        let started = Instant::now();
        let mut last_error = None;
        loop {
            let remaining = schedule.remaining(started.elapsed());
            let status = match tokio::time::timeout(remaining.max(Duration::from_millis(1)), self.refresh()).await {
                Ok(Ok(status)) => status,
                Ok(Err(error)) if error.is_transient() => {
                    last_error = Some(error);
                    self.status()
                }
                Ok(Err(error)) => return Err(error),
                Err(_) => self.status(),
            };
            match schedule.after_poll(status.is_in_progress(), started.elapsed()) {
                Next::Finish => return Ok(status),
                Next::Sleep(delay) => tokio::time::sleep(delay).await,
                Next::GiveUp => {
                    let why = last_error.map(|e| format!("; last error: {e}")).unwrap_or_default();
                    return Err(Error::Timeout(format!(
                        "the session was still {status} after {} ms{why}",
                        options.deadline.as_millis()
                    )));
                }
            }
        }
    }

    /// A stream of status changes, polled every `interval`, for as long as the user stays
    /// signed in: it reports `identifying`, `active`, `walkaway`, back to `active`, ...
    /// and ends after yielding an ended status (`closed`, `timeout`, ...). A failed poll
    /// is yielded as an error; the stream goes on after transient failures and ends after
    /// others. Dropping the stream stops the polling.
    pub fn watch(&self, interval: Duration) -> StatusStream {
        struct Watch {
            session: Session,
            last: Status,
            first: bool,
            done: bool,
        }
        if interval.is_zero() {
            let error = Error::invalid("watch interval must be greater than zero");
            return StatusStream(stream::once(async move { Err(error) }).boxed().fuse());
        }
        let start = Watch { session: self.clone(), last: self.status(), first: true, done: false };
        StatusStream(
            stream::unfold(start, move |mut watch| async move {
                loop {
                    if watch.done || watch.last.is_ended() {
                        return None;
                    }
                    if !std::mem::take(&mut watch.first) {
                        tokio::time::sleep(interval).await;
                    }
                    match watch.session.refresh().await {
                        Ok(status) if status == watch.last => continue,
                        Ok(status) => {
                            watch.last = status.clone();
                            return Some((Ok(status), watch));
                        }
                        Err(error) => {
                            watch.done = !error.is_transient();
                            return Some((Err(error), watch));
                        }
                    }
                }
            })
            .boxed()
            .fuse(),
        )
    }

    /// Ends the session at the service. `true` when the service closed it; `false` when
    /// it was already over.
    pub async fn logout(&self) -> Result<bool> {
        let data = self.data();
        let reply = self.client.send_as_session(HttpMethod::POST, data.logout_url.clone(), &data).await?;
        if !reply.is_success() {
            return Err(reply.status_error());
        }
        let closed = reply
            .json::<Outcome>("logout")?
            .status
            .ok_or_else(|| Error::protocol("logout: the answer has no `status`"))?;
        if closed {
            self.lock().status = Status::Closed;
        }
        Ok(closed)
    }

    fn lock(&self) -> MutexGuard<'_, SessionData> {
        // A panic elsewhere cannot leave SessionData half-written: every write is one assignment.
        self.data.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One status request, signed with the session's credentials.
async fn fetch_status(client: Client, data: SessionData) -> Result<Status> {
    let reply = client.send_as_session(HttpMethod::GET, data.status_url.clone(), &data).await?;
    if !reply.is_success() {
        return Err(reply.status_error());
    }
    let body = reply.json::<AuthEnvelope>("session status")?.into_inner();
    let raw =
        body.session_status.ok_or_else(|| Error::protocol("session status: the answer has no `session_status`"))?;
    Ok(Status::from_wire(&raw))
}

/// The stream returned by [`Session::watch`]. Fused: once it has ended it keeps
/// answering `None`.
pub struct StatusStream(Fuse<BoxStream<'static, Result<Status>>>);

impl Stream for StatusStream {
    type Item = Result<Status>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx)
    }
}

impl FusedStream for StatusStream {
    fn is_terminated(&self) -> bool {
        self.0.is_terminated()
    }
}

impl std::fmt::Debug for StatusStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusStream")
    }
}
