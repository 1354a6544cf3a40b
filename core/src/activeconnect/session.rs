//! A sign-in session: polling its status, waiting, watching, and logging out.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::stream::{self, BoxStream, Fuse, FusedStream};
use futures_util::{Stream, StreamExt};
use reqwest::Method as HttpMethod;
use tokio::time::Instant;

use super::client::{LOGOUT, STATUS};
use super::poll::{PollState, Report, Rules, Step, Until, decide};
use super::wire::{AuthEnvelope, Outcome};
use super::{Client, SessionData, Status, WaitOptions, WatchOptions};
use crate::limits::{check_positive, later};
use crate::transport::Reply;
use crate::{Error, Result};

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

    /// The session's token (not a secret: it names the session, e.g. in the emulator's
    /// control API or a Monitor event).
    pub fn session_token(&self) -> String {
        self.lock().session_token.clone()
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

    /// One status check that gives up after `budget`, whatever the client's retry policy
    /// and request timeout: [`Session::refresh`], or [`Error::Timeout`] ("no status within
    /// N ms") once `budget` has passed, with the session's status unchanged. Meant for a
    /// check inside a web request ([`super::DEFAULT_CHECK_BUDGET`]). A budget of zero or
    /// above [`crate::MAX_DURATION`] is `INVALID_ARGUMENT`.
    pub async fn refresh_within(&self, budget: Duration) -> Result<Status> {
        check_positive("refresh timeout", budget)?;
        match tokio::time::timeout(budget, self.refresh()).await {
            Ok(outcome) => outcome,
            Err(_) => Err(Error::Timeout(format!("no status within {} ms", budget.as_millis()))),
        }
    }

    /// Polls every `options.interval` until the session is no longer in progress and
    /// returns that status (`active`, or how it ended). Passing `options.deadline` is
    /// [`Error::Timeout`]. Transient failures of single polls are retried until the
    /// deadline; other errors end the wait. Dropping the future stops the polling.
    pub async fn wait(&self, options: &WaitOptions) -> Result<Status> {
        options.validate()?;
        let started = Instant::now();
        let deadline = later(started, options.deadline);
        let rules = Rules {
            until: Until::Settled,
            interval: options.interval,
            deadline: Some((deadline, options.deadline)),
            tolerate: None,
        };
        let mut state = PollState::new(self.status());
        loop {
            let outcome = match tokio::time::timeout_at(deadline, self.refresh()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(Error::Timeout("the last status poll did not finish before the deadline".into())),
            };
            match decide(&rules, &mut state, outcome, Instant::now()) {
                Step::Again { at, .. } => tokio::time::sleep_until(at).await,
                Step::Stop(Some(Report::Failed(error))) => return Err(error),
                Step::Stop(_) => return Ok(state.last),
            }
        }
    }

    /// A stream of status changes, polled every `interval`, for as long as the user stays
    /// signed in: it reports `identifying`, `active`, `walkaway`, back to `active`, ...
    /// and ends after yielding an ended status (`closed`, `timeout`, ...). A failed poll
    /// is yielded as an error; the stream goes on after transient failures and ends after
    /// others. Dropping the stream stops the polling.
    pub fn watch(&self, interval: Duration) -> StatusStream {
        self.watch_with(&WatchOptions { interval })
    }

    /// [`Session::watch`] with its options (an invalid one is the stream's only item).
    pub fn watch_with(&self, options: &WatchOptions) -> StatusStream {
        if let Err(error) = options.validate() {
            return StatusStream(stream::once(async move { Err(error) }).boxed().fuse());
        }
        let rules = Rules { until: Until::Ended, interval: options.interval, deadline: None, tolerate: None };
        let start = (self.clone(), PollState::new(self.status()), Some(Instant::now()));
        StatusStream(
            stream::unfold(start, move |(session, mut state, mut next)| async move {
                while let Some(at) = next {
                    if state.last.is_ended() {
                        return None;
                    }
                    tokio::time::sleep_until(at).await;
                    let (report, then) = match decide(&rules, &mut state, session.refresh().await, Instant::now()) {
                        Step::Again { at, report } => (report, Some(at)),
                        Step::Stop(report) => (report, None),
                    };
                    next = then;
                    match report {
                        Some(Report::Changed { status, .. }) => return Some((Ok(status), (session, state, next))),
                        Some(Report::Failed(error)) => return Some((Err(error), (session, state, next))),
                        None => {}
                    }
                }
                None
            })
            .boxed()
            .fuse(),
        )
    }

    /// Ends the session at the service. `true` when the service closed it; `false` when
    /// it was already over.
    pub async fn logout(&self) -> Result<bool> {
        let data = self.data();
        let reply = self.client.send_as_session(LOGOUT, HttpMethod::POST, data.logout_url.clone(), &data).await?;
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
    let reply = client.send_as_session(STATUS, HttpMethod::GET, data.status_url.clone(), &data).await?;
    if !reply.is_success() {
        return Err(reply.status_error());
    }
    let body = reply.json::<AuthEnvelope>("session status")?.into_inner();
    let raw =
        body.session_status.ok_or_else(|| Error::protocol("session status: the answer has no `session_status`"))?;
    Ok(wire_status(&reply, &raw))
}

/// A status from the service; one this library does not know is kept, made safe to show.
pub(crate) fn wire_status(reply: &Reply, raw: &str) -> Status {
    match Status::from_wire(raw) {
        Status::Unknown(_) => Status::Unknown(reply.quote(raw)),
        known => known,
    }
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
