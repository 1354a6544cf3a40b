//! The one poll decision behind [`super::Session::wait`], [`super::Session::watch`] and
//! the [`super::Monitor`]: given what a status poll returned, stop, or poll again at an
//! instant, and say what to report. It does no I/O and reads no clock, so every rule is
//! tested step by step here (the model is oauth2-rs's device-flow `process_response`).

use std::time::Duration;

use tokio::time::Instant;

use super::Status;
use crate::limits::later;
use crate::{Error, Result};

/// The state polling goes on until.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Until {
    /// The session left the in-progress states (`wait`).
    Settled,
    /// The session ended (`watch`, the Monitor).
    Ended,
}

/// How one poller polls.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rules {
    pub until: Until,
    pub interval: Duration,
    /// When polling gives up, and the wait's length for the message (`wait`).
    pub deadline: Option<(Instant, Duration)>,
    /// How long failures that may pass are borne silently before they end the polling
    /// (the Monitor). `None`: each one is reported and polling goes on (`watch`, `wait`).
    pub tolerate: Option<Duration>,
}

/// What a poller remembers between polls.
#[derive(Clone, Debug)]
pub(crate) struct PollState {
    /// The last status seen.
    pub last: Status,
    /// Since when polls have failed, if the last one did.
    pub failing_since: Option<Instant>,
    /// The last failure, for a time-out's message.
    pub last_error: Option<Error>,
}

impl PollState {
    /// The state of a session last seen with `status`.
    pub fn new(status: Status) -> Self {
        PollState { last: status, failing_since: None, last_error: None }
    }
}

/// Something a poll found that the poller's user is told.
#[derive(Clone, Debug)]
pub(crate) enum Report {
    /// The status changed.
    Changed { previous: Status, status: Status },
    /// The poll failed (for a stop: why polling ended).
    Failed(Error),
}

/// What to do after a poll.
#[derive(Clone, Debug)]
pub(crate) enum Step {
    /// Report `report`, if any, then poll again at `at`.
    Again { at: Instant, report: Option<Report> },
    /// Report `report`, if any, and poll no more.
    Stop(Option<Report>),
}

/// Whether polling again later may give another answer: transient failures, and a
/// defect caught in one poll (the next poll sends its request normally).
fn may_pass(error: &Error) -> bool {
    error.is_transient() || matches!(error, Error::Internal(_))
}

/// The decision after a poll that returned `outcome` at `now`.
pub(crate) fn decide(rules: &Rules, state: &mut PollState, outcome: Result<Status>, now: Instant) -> Step {
    let report = match outcome {
        Ok(status) => {
            state.failing_since = None;
            let previous = std::mem::replace(&mut state.last, status.clone());
            let done = match rules.until {
                Until::Settled => !status.is_in_progress(),
                Until::Ended => status.is_ended(),
            };
            let report = (previous != status).then_some(Report::Changed { previous, status });
            if done {
                return Step::Stop(report);
            }
            report
        }
        Err(error) if may_pass(&error) => {
            let since = *state.failing_since.get_or_insert(now);
            state.last_error = Some(error.clone());
            match rules.tolerate {
                Some(limit) if now.saturating_duration_since(since) >= limit => {
                    return Step::Stop(Some(Report::Failed(error)));
                }
                Some(_) => None,
                None => Some(Report::Failed(error)),
            }
        }
        Err(error) => return Step::Stop(Some(Report::Failed(error))),
    };
    let mut at = later(now, rules.interval);
    if let Some((deadline, length)) = rules.deadline {
        if now >= deadline {
            let why = state.last_error.as_ref().map(|e| format!("; last error: {e}")).unwrap_or_default();
            return Step::Stop(Some(Report::Failed(Error::Timeout(format!(
                "the session was still {} after {} ms{why}",
                state.last,
                length.as_millis()
            )))));
        }
        // The last sleep is cut short so that one final poll happens at the deadline.
        at = at.min(deadline);
    }
    Step::Again { at, report }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(until: Until) -> Rules {
        Rules { until, interval: Duration::from_secs(2), deadline: None, tolerate: None }
    }

    fn unreachable() -> Error {
        Error::Transport("could not connect to http://127.0.0.1:1".into())
    }

    #[test]
    fn wait_polls_every_interval_then_once_at_the_deadline() {
        let start = Instant::now();
        let rules =
            Rules { deadline: Some((start + Duration::from_secs(5), Duration::from_secs(5))), ..rules(Until::Settled) };
        let mut state = PollState::new(Status::Pending);
        let (mut now, mut polls) = (start, vec![]);
        loop {
            polls.push((now - start).as_secs());
            match decide(&rules, &mut state, Ok(Status::Pending), now) {
                Step::Again { at, report: None } => now = at,
                Step::Stop(Some(Report::Failed(Error::Timeout(m)))) => {
                    assert!(m.contains("still pending after 5000 ms"), "{m}");
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(polls, [0, 2, 4, 5]);
    }

    #[test]
    fn wait_stops_when_settled_watch_when_ended() {
        let now = Instant::now();
        let mut state = PollState::new(Status::Pending);
        let step = decide(&rules(Until::Settled), &mut state, Ok(Status::Active), now);
        assert!(matches!(step, Step::Stop(Some(Report::Changed { status: Status::Active, .. }))), "{step:?}");
        let mut state = PollState::new(Status::Pending);
        let step = decide(&rules(Until::Ended), &mut state, Ok(Status::Active), now);
        assert!(matches!(step, Step::Again { report: Some(Report::Changed { .. }), .. }), "{step:?}");
        let step = decide(&rules(Until::Ended), &mut state, Ok(Status::Active), now);
        assert!(matches!(step, Step::Again { report: None, .. }), "no change, no report: {step:?}");
        let step = decide(&rules(Until::Ended), &mut state, Ok(Status::Closed), now);
        assert!(matches!(step, Step::Stop(Some(Report::Changed { status: Status::Closed, .. }))), "{step:?}");
    }

    #[test]
    fn failures_that_may_pass_are_reported_and_polled_again_others_stop() {
        let now = Instant::now();
        let mut state = PollState::new(Status::Active);
        for error in
            [unreachable(), Error::Internal("a panic".into()), Error::Http { status: 503, message: String::new() }]
        {
            let step = decide(&rules(Until::Ended), &mut state, Err(error), now);
            assert!(matches!(step, Step::Again { report: Some(Report::Failed(_)), .. }), "{step:?}");
        }
        let gone = Error::NotFound { status: 404, message: String::new() };
        assert!(matches!(
            decide(&rules(Until::Ended), &mut state, Err(gone), now),
            Step::Stop(Some(Report::Failed(_)))
        ));
    }

    #[test]
    fn the_monitor_bears_failures_for_a_while_then_reports_them() {
        let start = Instant::now();
        let rules = Rules { tolerate: Some(Duration::from_secs(60)), ..rules(Until::Ended) };
        let mut state = PollState::new(Status::Active);
        assert!(matches!(decide(&rules, &mut state, Err(unreachable()), start), Step::Again { report: None, .. }));
        let at_59 = start + Duration::from_secs(59);
        assert!(matches!(decide(&rules, &mut state, Err(unreachable()), at_59), Step::Again { report: None, .. }));
        let at_60 = start + Duration::from_secs(60);
        assert!(matches!(decide(&rules, &mut state, Err(unreachable()), at_60), Step::Stop(Some(Report::Failed(_)))));
        // A success in between starts the count again.
        let mut state = PollState::new(Status::Active);
        decide(&rules, &mut state, Err(unreachable()), start);
        decide(&rules, &mut state, Ok(Status::Active), at_59);
        assert!(matches!(decide(&rules, &mut state, Err(unreachable()), at_60), Step::Again { .. }));
    }

    #[test]
    fn huge_intervals_never_overflow() {
        let now = Instant::now();
        let rules = Rules { interval: Duration::MAX, ..rules(Until::Ended) };
        let step = decide(&rules, &mut PollState::new(Status::Active), Ok(Status::Active), now);
        assert!(matches!(step, Step::Again { at, .. } if at == now + crate::MAX_DURATION), "{step:?}");
    }
}
