//! Activeconnect sessions: statuses, lazy time-based transitions and user actions.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::Approval;

/// Status of an authentication session, as the service names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Pending,
    Identifying,
    Active,
    Walkaway,
    Timeout,
    Failed,
    Cancelled,
    Closed,
}

impl Status {
    /// The wire name.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Identifying => "identifying",
            Status::Active => "active",
            Status::Walkaway => "walkaway",
            Status::Timeout => "timeout",
            Status::Failed => "failed",
            Status::Cancelled => "cancelled",
            Status::Closed => "closed",
        }
    }

    /// Waiting for the phone.
    pub(crate) fn is_in_progress(self) -> bool {
        matches!(self, Status::Pending | Status::Identifying)
    }

    /// The user counts as signed in.
    pub(crate) fn is_authenticated(self) -> bool {
        matches!(self, Status::Active | Status::Walkaway)
    }
}

/// What the phone (or the control API) can do to a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Approve,
    Deny,
    Cancel,
    Walkaway,
    Return,
    RemoteLogout,
    Expire,
}

impl Action {
    /// Parses the URL name of an action.
    pub(crate) fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "approve" => Action::Approve,
            "deny" => Action::Deny,
            "cancel" => Action::Cancel,
            "walkaway" => Action::Walkaway,
            "return" => Action::Return,
            "remote-logout" => Action::RemoteLogout,
            "expire" => Action::Expire,
            _ => return None,
        })
    }

    /// The URL name of the action.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Deny => "deny",
            Action::Cancel => "cancel",
            Action::Walkaway => "walkaway",
            Action::Return => "return",
            Action::RemoteLogout => "remote-logout",
            Action::Expire => "expire",
        }
    }
}

/// The settings that drive time-based transitions.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub approval: Approval,
    pub pending_timeout: Duration,
}

/// One authentication session.
#[derive(Debug)]
pub(crate) struct Session {
    pub token: String,
    pub secret: String,
    pub app: String,
    pub user: String,
    /// Creation order, to list sessions in a stable order.
    pub seq: u64,
    pub status: Status,
    pub created: Instant,
    /// When it was created, on the emulator's wall clock (shown by the control API).
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When the session became active (its lifetime counts from there).
    pub activated_at: Option<Instant>,
    /// `duration_seconds` of the request.
    pub duration: Duration,
}

fn reached(now: Instant, at: Option<Instant>) -> bool {
    at.is_some_and(|at| now >= at)
}

fn before(a: Option<Instant>, b: Option<Instant>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        (None, _) => false,
    }
}

impl Session {
    /// Applies every time-based transition due by `now`, in the order they fell due.
    pub(crate) fn advance(&mut self, now: Instant, policy: &Policy) {
        loop {
            match self.status {
                Status::Pending | Status::Identifying => {
                    let timeout_at = self.created.checked_add(policy.pending_timeout);
                    if let Approval::ApproveAfter(delay) = policy.approval {
                        let identify_at = self.created.checked_add(delay / 2);
                        let approve_at = self.created.checked_add(delay);
                        if self.status == Status::Pending
                            && reached(now, identify_at)
                            && before(identify_at, timeout_at)
                        {
                            self.status = Status::Identifying;
                            continue;
                        }
                        if reached(now, approve_at) && before(approve_at, timeout_at) {
                            self.status = Status::Active;
                            self.activated_at = approve_at;
                            continue;
                        }
                    }
                    if reached(now, timeout_at) {
                        self.status = Status::Timeout;
                    }
                    return;
                }
                Status::Active | Status::Walkaway => {
                    let ends_at = self.activated_at.and_then(|at| at.checked_add(self.duration));
                    if reached(now, ends_at) {
                        self.status = Status::Closed;
                    }
                    return;
                }
                _ => return,
            }
        }
    }

    /// Applies an action (after [`Session::advance`]); the error explains a refused transition.
    pub(crate) fn apply(&mut self, action: Action, now: Instant) -> Result<Status, String> {
        use Status::*;
        let next = match (action, self.status) {
            (Action::Approve, Pending | Identifying) => Active,
            (Action::Deny, Pending | Identifying) => Failed,
            (Action::Cancel, Pending | Identifying) => Cancelled,
            (Action::Walkaway, Active) => Walkaway,
            (Action::Return, Walkaway) => Active,
            (Action::RemoteLogout, Active | Walkaway) => Closed,
            (Action::Expire, Pending | Identifying) => Timeout,
            (Action::Expire, Active | Walkaway) => Closed,
            (action, status) => {
                return Err(format!("cannot {} a session that is {}", action.as_str(), status.as_str()));
            }
        };
        if next == Active && self.activated_at.is_none() {
            self.activated_at = Some(now);
        }
        self.status = next;
        Ok(next)
    }

    /// The phone shows the request: a pending session becomes identifying.
    pub(crate) fn seen_by_phone(&mut self) {
        if self.status == Status::Pending {
            self.status = Status::Identifying;
        }
    }

    /// Ends the session on a logout call; `false` when it had already ended.
    pub(crate) fn logout(&mut self) -> bool {
        if self.status.is_in_progress() || self.status.is_authenticated() {
            self.status = Status::Closed;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(now: Instant) -> Session {
        Session {
            token: "t".into(),
            secret: "s".into(),
            app: "a".into(),
            user: "u".into(),
            seq: 0,
            status: Status::Pending,
            created: now,
            created_at: chrono::Utc::now(),
            activated_at: None,
            duration: Duration::from_secs(60),
        }
    }

    fn policy(approval: Approval) -> Policy {
        Policy { approval, pending_timeout: Duration::from_secs(120) }
    }

    #[test]
    fn approve_after_goes_through_identifying_then_expires() {
        let t0 = Instant::now();
        let p = policy(Approval::ApproveAfter(Duration::from_secs(10)));
        let mut s = session(t0);
        s.advance(t0 + Duration::from_secs(4), &p);
        assert_eq!(s.status, Status::Pending);
        s.advance(t0 + Duration::from_secs(5), &p);
        assert_eq!(s.status, Status::Identifying);
        s.advance(t0 + Duration::from_secs(10), &p);
        assert_eq!(s.status, Status::Active);
        s.advance(t0 + Duration::from_secs(69), &p);
        assert_eq!(s.status, Status::Active);
        s.advance(t0 + Duration::from_secs(70), &p);
        assert_eq!(s.status, Status::Closed);
    }

    #[test]
    fn a_late_read_replays_events_in_order() {
        let t0 = Instant::now();
        let p = policy(Approval::ApproveAfter(Duration::from_secs(10)));
        let mut s = session(t0);
        s.advance(t0 + Duration::from_secs(1000), &p);
        assert_eq!(s.status, Status::Closed, "approved at 10 s, closed at 70 s");
    }

    #[test]
    fn timeout_wins_over_a_slower_approval() {
        let t0 = Instant::now();
        let p = policy(Approval::ApproveAfter(Duration::from_secs(500)));
        let mut s = session(t0);
        s.advance(t0 + Duration::from_secs(600), &p);
        assert_eq!(s.status, Status::Timeout);
    }

    #[test]
    fn manual_sessions_time_out() {
        let t0 = Instant::now();
        let p = policy(Approval::Manual);
        let mut s = session(t0);
        s.advance(t0 + Duration::from_secs(119), &p);
        assert_eq!(s.status, Status::Pending);
        s.seen_by_phone();
        assert_eq!(s.status, Status::Identifying);
        s.advance(t0 + Duration::from_secs(120), &p);
        assert_eq!(s.status, Status::Timeout);
    }

    #[test]
    fn actions() {
        let t0 = Instant::now();
        let mut s = session(t0);
        assert!(s.apply(Action::Walkaway, t0).is_err());
        assert_eq!(s.apply(Action::Approve, t0), Ok(Status::Active));
        assert_eq!(s.apply(Action::Walkaway, t0), Ok(Status::Walkaway));
        assert_eq!(s.apply(Action::Return, t0), Ok(Status::Active));
        assert_eq!(s.apply(Action::RemoteLogout, t0), Ok(Status::Closed));
        let err = s.apply(Action::Approve, t0).expect_err("closed");
        assert_eq!(err, "cannot approve a session that is closed");
        assert!(!s.logout());
        let mut s = session(t0);
        assert_eq!(s.apply(Action::Expire, t0), Ok(Status::Timeout));
        for name in ["approve", "deny", "cancel", "walkaway", "return", "remote-logout", "expire"] {
            assert_eq!(Action::parse(name).map(Action::as_str), Some(name));
        }
        assert_eq!(Action::parse("APPROVE"), None);
    }
}
