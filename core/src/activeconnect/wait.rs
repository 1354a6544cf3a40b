//! The polling state machine behind [`super::Session::wait`], free of I/O and clocks so
//! that it can be tested step by step.

use std::time::Duration;

use super::WaitOptions;

/// What to do after a poll.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Next {
    /// The session left the in-progress states: return its status.
    Finish,
    /// Still in progress: sleep this long, then poll again.
    Sleep(Duration),
    /// Still in progress and the deadline has passed.
    GiveUp,
}

/// Decides, from the elapsed time and whether the session is still in progress, what
/// the wait does next. The last sleep is cut short so that one final poll happens right
/// at the deadline.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollSchedule {
    interval: Duration,
    deadline: Duration,
}

impl PollSchedule {
    pub fn new(options: &WaitOptions) -> Self {
        PollSchedule { interval: options.interval, deadline: options.deadline }
    }

    pub fn after_poll(&self, in_progress: bool, elapsed: Duration) -> Next {
        if !in_progress {
            Next::Finish
        } else if elapsed >= self.deadline {
            Next::GiveUp
        } else {
            Next::Sleep(self.interval.min(self.deadline - elapsed))
        }
    }

    /// Time left before the deadline.
    pub fn remaining(&self, elapsed: Duration) -> Duration {
        self.deadline.saturating_sub(elapsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_every_interval_then_once_at_the_deadline() {
        let schedule =
            PollSchedule::new(&WaitOptions { interval: Duration::from_secs(2), deadline: Duration::from_secs(5) });
        let mut elapsed = Duration::ZERO;
        let mut polls = vec![];
        loop {
            polls.push(elapsed.as_secs());
            match schedule.after_poll(true, elapsed) {
                Next::Sleep(d) => elapsed += d,
                Next::GiveUp => break,
                Next::Finish => unreachable!(),
            }
        }
        assert_eq!(polls, [0, 2, 4, 5]);
    }

    #[test]
    fn finishes_as_soon_as_the_session_leaves_progress() {
        let schedule = PollSchedule::new(&WaitOptions::default());
        assert_eq!(schedule.after_poll(false, Duration::from_secs(500)), Next::Finish);
        assert_eq!(schedule.remaining(Duration::from_secs(500)), Duration::ZERO);
    }
}
