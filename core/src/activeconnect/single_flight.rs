//! Single flight for status polls: concurrent polls of one session (through clones, or
//! through separately resumed [`super::Session`]s of one web worker) share one request.
//! A panic inside a poll is caught and becomes [`crate::Error::Internal`] for its
//! callers, and a poll whose callers all went away is forgotten: whatever happens to one
//! poll, the next caller sends a request of its own.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

use super::Status;
use crate::Result;

type Flight = Shared<BoxFuture<'static, Result<Status>>>;

/// The status polls in flight, by session token.
#[derive(Default)]
pub(crate) struct StatusFlights {
    flights: Mutex<HashMap<String, Flight>>,
}

impl StatusFlights {
    /// The result of the poll of `session_token` already in flight, or of `start()`
    /// when there is none. The entry is removed once the poll has finished, so the next
    /// call polls again.
    pub async fn run<F>(&self, session_token: &str, start: impl FnOnce() -> F) -> Result<Status>
    where
        F: Future<Output = Result<Status>> + Send + 'static,
    {
        let flight = {
            let mut flights = self.lock();
            match flights.get(session_token) {
                Some(flight) => flight.clone(),
                None => {
                    let flight = crate::ffi::guard(start()).boxed().shared();
                    flights.insert(session_token.to_owned(), flight.clone());
                    flight
                }
            }
        };
        // Removes the entry when this caller is done, even if it is cancelled.
        let _done = Landing { flights: self, session_token, flight: flight.clone() };
        flight.await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Flight>> {
        // Every critical section is a single map operation: a poisoned map is still whole.
        self.flights.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Forgets a finished (or abandoned) flight, unless a newer one replaced it.
struct Landing<'a> {
    flights: &'a StatusFlights,
    session_token: &'a str,
    flight: Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut flights = self.flights.lock();
        if flights.get(self.session_token).is_some_and(|current| current.ptr_eq(&self.flight)) {
            flights.remove(self.session_token);
        }
    }
}
