//! The emulator's shared state. Every map sits behind its own `parking_lot` lock,
//! which is never held across an `.await` and never together with another one.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::config::{EmulatorConfig, StatusShape};
use crate::faults::Faults;
use crate::projectinsight::PiStore;
use crate::random;
use crate::requestlog::RequestLog;
use crate::session::{Policy, Session};
use crate::verify::NonceCache;

/// Most SMS kept per application (oldest dropped first).
const SMS_OUTBOX_LIMIT: usize = 10_000;

/// A user of one application.
#[derive(Debug)]
pub(crate) struct User {
    pub display_name: Option<String>,
    /// The token in the user's registration link (`/_emulator/phone/{token}`).
    pub registration_token: String,
    pub device_registered: bool,
}

/// A registration SMS the service would have sent.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Sms {
    pub user: String,
    pub phone_number: String,
    pub display_name: Option<String>,
    pub message: String,
    pub register_url: String,
}

/// One client application.
#[derive(Debug)]
pub(crate) struct App {
    pub secret: String,
    pub users: BTreeMap<String, User>,
    pub sms: VecDeque<Sms>,
}

impl App {
    /// Records an SMS, keeping the outbox bounded.
    pub(crate) fn push_sms(&mut self, sms: Sms) {
        if self.sms.len() >= SMS_OUTBOX_LIMIT {
            self.sms.pop_front();
        }
        self.sms.push_back(sms);
    }
}

/// Applications, their users and the registration links.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    pub apps: HashMap<String, App>,
    /// Application ids in creation order.
    pub app_order: Vec<String>,
    /// Registration token -> (application id, user id).
    pub registrations: HashMap<String, (String, String)>,
}

/// Outcome of [`Directory::add_app`].
pub(crate) enum AddApp {
    Created,
    AlreadyThere,
    Conflict,
}

impl Directory {
    /// Adds an application; an existing id keeps its secret.
    pub(crate) fn add_app(&mut self, id: &str, secret: &str) -> AddApp {
        if let Some(app) = self.apps.get(id) {
            return if app.secret == secret { AddApp::AlreadyThere } else { AddApp::Conflict };
        }
        self.apps
            .insert(id.to_owned(), App { secret: secret.to_owned(), users: BTreeMap::new(), sms: VecDeque::new() });
        self.app_order.push(id.to_owned());
        AddApp::Created
    }

    /// Adds a user with a fresh registration token; `false` if it already existed.
    pub(crate) fn add_user(&mut self, app: &str, user: &str) -> bool {
        let Some(a) = self.apps.get_mut(app) else {
            return false;
        };
        if a.users.contains_key(user) {
            return false;
        }
        let token = random::hex(16);
        a.users.insert(
            user.to_owned(),
            User { display_name: None, registration_token: token.clone(), device_registered: false },
        );
        self.registrations.insert(token, (app.to_owned(), user.to_owned()));
        true
    }

    /// Removes a user and its registration link; `false` if unknown.
    pub(crate) fn remove_user(&mut self, app: &str, user: &str) -> bool {
        let Some(a) = self.apps.get_mut(app) else {
            return false;
        };
        match a.users.remove(user) {
            Some(u) => {
                self.registrations.remove(&u.registration_token);
                true
            }
            None => false,
        }
    }

    /// Disables the user's device and issues a new registration token; returns it.
    pub(crate) fn reissue_registration(&mut self, app: &str, user: &str) -> Option<String> {
        let u = self.apps.get_mut(app)?.users.get_mut(user)?;
        let old = std::mem::replace(&mut u.registration_token, random::hex(16));
        u.device_registered = false;
        let token = u.registration_token.clone();
        self.registrations.remove(&old);
        self.registrations.insert(token.clone(), (app.to_owned(), user.to_owned()));
        Some(token)
    }
}

/// Everything the handlers share.
pub(crate) struct Shared {
    pub clock: Clock,
    pub policy: Policy,
    pub status_shape: StatusShape,
    pub activation_ttl: std::time::Duration,
    /// Lifetime of every API token issued, if fixed.
    pub token_ttl: Option<std::time::Duration>,
    /// Base of the links handed out, without a trailing slash.
    pub public_url: String,
    pub directory: Mutex<Directory>,
    pub sessions: Mutex<HashMap<String, Session>>,
    next_seq: AtomicU64,
    pub nonces: NonceCache,
    pub pi: Mutex<PiStore>,
    pub faults: Mutex<Faults>,
    pub requests: Mutex<RequestLog>,
    /// Requests received outside `/_emulator/` since start (`GET /_emulator/stats`).
    pub requests_total: AtomicU64,
    /// When the emulator started (`GET /_emulator/stats`).
    pub started: std::time::Instant,
    /// TCP connections open now (`GET /_emulator/stats`).
    pub connections: AtomicU64,
}

impl Shared {
    /// State for `config`, serving links under `public_url`.
    pub(crate) fn new(config: &EmulatorConfig, public_url: String) -> Shared {
        let mut directory = Directory::default();
        for (id, secret) in &config.apps {
            directory.add_app(id, secret);
        }
        if directory.apps.is_empty() {
            let (id, secret) = new_app_credentials();
            directory.add_app(&id, &secret);
        }
        Shared {
            clock: Clock::new(config.clock_offset),
            policy: Policy { approval: config.approval, pending_timeout: config.pending_timeout },
            status_shape: config.status_shape,
            activation_ttl: config.activation_ttl,
            token_ttl: config.token_ttl,
            public_url: public_url.trim_end_matches('/').to_owned(),
            directory: Mutex::new(directory),
            sessions: Mutex::new(HashMap::new()),
            next_seq: AtomicU64::new(0),
            nonces: NonceCache::new(),
            pi: Mutex::new(PiStore::default()),
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(RequestLog::default()),
            requests_total: AtomicU64::new(0),
            started: std::time::Instant::now(),
            connections: AtomicU64::new(0),
        }
    }

    /// The next session sequence number.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq.fetch_add(1, Ordering::Relaxed)
    }

    /// The user's registration link (phone page).
    pub(crate) fn register_url(&self, registration_token: &str) -> String {
        format!("{}/_emulator/phone/{}", self.public_url, registration_token)
    }

    /// The secret of an application, if it exists.
    pub(crate) fn app_secret(&self, app: &str) -> Option<String> {
        self.directory.lock().apps.get(app).map(|a| a.secret.clone())
    }

    /// `(application_id, application_secret)` pairs in creation order.
    pub(crate) fn app_credentials(&self) -> Vec<(String, String)> {
        let dir = self.directory.lock();
        dir.app_order.iter().filter_map(|id| dir.apps.get(id).map(|a| (id.clone(), a.secret.clone()))).collect()
    }

    /// Current status of every session of a user, applying due transitions first;
    /// `mark_seen` makes pending ones identifying (the phone shows them).
    pub(crate) fn user_sessions(&self, app: &str, user: &str, mark_seen: bool) -> Vec<(String, &'static str, u64)> {
        let now = Instant::now();
        let mut sessions = self.sessions.lock();
        let mut out: Vec<(String, &'static str, u64)> = sessions
            .values_mut()
            .filter(|s| s.app == app && s.user == user)
            .map(|s| {
                s.advance(now, &self.policy);
                if mark_seen {
                    s.seen_by_phone();
                }
                (s.token.clone(), s.status.as_str(), s.seq)
            })
            .collect();
        out.sort_by_key(|row| std::cmp::Reverse(row.2));
        out
    }
}

/// A new random `(application_id, application_secret)` pair: a 20-character id and
/// the text form (base64) of a 24-byte secret, like the service's console shows.
pub(crate) fn new_app_credentials() -> (String, String) {
    use base64::Engine;
    let mut secret = [0u8; 24];
    rand::fill(&mut secret[..]);
    (random::upper_alnum(20), base64::engine::general_purpose::STANDARD.encode(secret))
}
