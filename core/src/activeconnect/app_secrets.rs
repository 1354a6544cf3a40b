//! The application's secret and, during a change of secrets, the next one.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::Secret;

/// The secrets an application's calls are signed with: the current one and, while the
/// secret is being changed, the next one, with which of the two the service accepted last.
pub(crate) struct AppSecrets {
    current: Secret,
    next: Option<Secret>,
    /// Whether the service accepted `next` last, so that calls sign with it first.
    next_first: AtomicBool,
}

/// The secret to sign a call with first, and the other one to try once when the service
/// refuses the first.
pub(crate) struct SecretOrder<'a> {
    pub first: &'a Secret,
    pub second: Option<&'a Secret>,
    /// Whether `second` is the next secret.
    pub second_is_next: bool,
}

impl AppSecrets {
    /// The current secret and, during a change, the next one.
    pub fn new(current: Secret, next: Option<Secret>) -> Self {
        AppSecrets { current, next, next_first: AtomicBool::new(false) }
    }

    /// The order in which to try the secrets for the next call.
    pub fn order(&self) -> SecretOrder<'_> {
        match &self.next {
            Some(next) if self.next_first.load(Ordering::Relaxed) => {
                SecretOrder { first: next, second: Some(&self.current), second_is_next: false }
            }
            next => SecretOrder { first: &self.current, second: next.as_ref(), second_is_next: true },
        }
    }

    /// Records that the service accepted the second secret of an [`SecretOrder`], so later
    /// calls sign with it first.
    pub fn accepted_second(&self, order: &SecretOrder<'_>) {
        self.next_first.store(order.second_is_next, Ordering::Relaxed);
    }

    /// Every secret, to scrub from the service's text.
    pub fn all(&self) -> Vec<&str> {
        std::iter::once(&self.current).chain(&self.next).map(Secret::expose_secret).collect()
    }
}

impl std::fmt::Debug for AppSecrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppSecrets").field("current", &self.current).field("next", &self.next).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_accepted_last_is_tried_first() {
        let secrets = AppSecrets::new(Secret::from("old-secret-x"), Some(Secret::from("new-secret-y")));
        let order = secrets.order();
        assert_eq!(
            (order.first.expose_secret(), order.second.map(Secret::expose_secret)),
            ("old-secret-x", Some("new-secret-y"))
        );
        secrets.accepted_second(&order);
        let order = secrets.order();
        assert_eq!(
            (order.first.expose_secret(), order.second.map(Secret::expose_secret)),
            ("new-secret-y", Some("old-secret-x"))
        );
        secrets.accepted_second(&order);
        assert_eq!(secrets.order().first.expose_secret(), "old-secret-x");
        let single = AppSecrets::new(Secret::from("only"), None);
        assert!(single.order().second.is_none());
        assert_eq!(single.all(), ["only"]);
        assert!(!format!("{secrets:?}").contains("secret-"));
    }
}
