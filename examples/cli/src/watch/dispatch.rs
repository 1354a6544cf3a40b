//! The queue between the store's events and the deliveries: one delivery at a time per
//! session key (so a key's events arrive in order), repeats dropped by event id, and a
//! count the caller bounds.

use std::collections::{HashMap, HashSet, VecDeque};

use deviceauth::activeconnect::store::StoreEvent;

/// How many recent event ids are remembered to drop repeats.
pub const REMEMBERED_IDS: usize = 10_000;

/// Events waiting or being delivered, grouped by key.
#[derive(Default)]
pub struct Dispatch {
    waiting: HashMap<String, VecDeque<StoreEvent>>,
    busy: HashSet<String>,
    ready: VecDeque<String>,
    queued: usize,
    seen: HashSet<String>,
    seen_order: VecDeque<String>,
}

impl Dispatch {
    /// Queues `event`; `false` (and nothing queued) when its id was seen recently.
    pub fn push(&mut self, event: StoreEvent) -> bool {
        if !self.seen.insert(event.id.clone()) {
            return false;
        }
        self.seen_order.push_back(event.id.clone());
        if self.seen_order.len() > REMEMBERED_IDS
            && let Some(old) = self.seen_order.pop_front()
        {
            self.seen.remove(&old);
        }
        let queue = self.waiting.entry(event.key.clone()).or_default();
        if queue.is_empty() && !self.busy.contains(&event.key) {
            self.ready.push_back(event.key.clone());
        }
        queue.push_back(event);
        self.queued += 1;
        true
    }

    /// The next event whose key has no delivery under way; its key is then busy until
    /// [`Dispatch::done`].
    pub fn next(&mut self) -> Option<StoreEvent> {
        let key = self.ready.pop_front()?;
        let queue = self.waiting.get_mut(&key)?;
        let event = queue.pop_front()?;
        if queue.is_empty() {
            self.waiting.remove(&key);
        }
        self.queued -= 1;
        self.busy.insert(key);
        Some(event)
    }

    /// The delivery for `key` ended: its next event may go.
    pub fn done(&mut self, key: &str) {
        self.busy.remove(key);
        if self.waiting.contains_key(key) {
            self.ready.push_back(key.to_owned());
        }
    }

    /// Events waiting (not counting deliveries under way).
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Takes every waiting event (at shutdown), in order per key.
    pub fn take_waiting(&mut self) -> Vec<StoreEvent> {
        self.ready.clear();
        self.queued = 0;
        self.waiting.drain().flat_map(|(_, queue)| queue).collect()
    }
}

#[cfg(test)]
mod tests {
    use deviceauth::activeconnect::Status;

    use super::*;

    fn event(id: &str, key: &str) -> StoreEvent {
        StoreEvent {
            id: id.into(),
            kind: "changed".into(),
            key: key.into(),
            user: "u".into(),
            session_token: "t".into(),
            previous: Status::Active,
            status: Status::Walkaway,
            error: None,
            at_ms: 0,
        }
    }

    #[test]
    fn one_delivery_per_key_in_order_and_repeats_dropped() {
        let mut d = Dispatch::default();
        assert!(d.push(event("a1", "a")) && d.push(event("a2", "a")) && d.push(event("b1", "b")));
        assert!(!d.push(event("a1", "a")), "a repeat is dropped");
        assert_eq!(d.queued(), 3);
        assert_eq!(d.next().unwrap().id, "a1");
        assert_eq!(d.next().unwrap().id, "b1");
        assert!(d.next().is_none(), "a2 waits for a1");
        d.done("b");
        assert!(d.next().is_none());
        d.done("a");
        assert_eq!(d.next().unwrap().id, "a2");
        d.done("a");
        assert_eq!(d.queued(), 0);
        assert!(d.next().is_none() && d.waiting.is_empty() && d.busy.is_empty());
    }

    #[test]
    fn ids_are_remembered_up_to_a_bound() {
        let mut d = Dispatch::default();
        for i in 0..=REMEMBERED_IDS {
            d.push(event(&i.to_string(), "k"));
        }
        assert_eq!(d.seen.len(), REMEMBERED_IDS);
        assert!(d.push(event("0", "k")), "the oldest id was forgotten");
        assert_eq!(d.take_waiting().len(), REMEMBERED_IDS + 2);
        assert_eq!(d.queued(), 0);
    }
}
