//! `watch --store URL --webhook URL`: the logout bridge. Runs a monitor on the store
//! (unless `--no-monitor`) and POSTs every status change published on the store to the
//! app's webhook as JSON signed with HMAC-SHA256, retrying what fails and recording what
//! kept failing.

mod config;
mod deliver;
mod dispatch;
mod failed_log;
mod forward;
mod log;
mod payload;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use deviceauth::activeconnect::store::{SessionStore, StoreMonitor, StoreMonitorOptions};
use hmac::{Hmac, KeyInit};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::AppArgs;
use crate::failure::Failure;

/// Events the store subscription holds before reading pauses (back-pressure).
const SUBSCRIPTION_CAPACITY: usize = 100;

/// The options of `watch`.
#[derive(Args)]
pub struct WatchArgs {
    /// The store the app's Monitor uses: sqlite:///path/to/file, postgresql://user:password@host/db,
    /// redis://:password@host:port (prefer the environment variable when it holds a password)
    #[arg(long, env = "DEVICEAUTH_STORE", hide_env_values = true)]
    store: String,
    /// Where to POST each event: an https:// URL, or http:// to a loopback address
    #[arg(long, env = "DEVICEAUTH_WEBHOOK", hide_env_values = true)]
    webhook: String,
    /// A file holding the webhook secret (16 bytes or more); else DEVICEAUTH_WEBHOOK_SECRET. Required
    #[arg(long)]
    webhook_secret_file: Option<PathBuf>,
    /// A file holding the seal key the app's Monitor uses (64 hex digits); else DEVICEAUTH_SEAL_KEY
    #[arg(long)]
    seal_key_file: Option<PathBuf>,
    /// Allow a plain-http webhook on a host other than loopback (events then travel unencrypted)
    #[arg(long)]
    allow_insecure_http: bool,
    /// Forward events only: run no monitor (other processes poll the sessions); no app needed
    #[arg(long)]
    no_monitor: bool,
    #[command(flatten)]
    app: AppOptions,
    #[command(flatten)]
    monitor: MonitorArgs,
    #[command(flatten)]
    delivery: DeliveryArgs,
}

/// The application the monitor acts for (as for `login`), not needed with `--no-monitor`.
#[derive(Args)]
struct AppOptions {
    /// Application id (needed unless --no-monitor)
    #[arg(long, env = "DEVICEAUTH_APP_ID")]
    app_id: Option<String>,
    /// Application secret (needed unless --no-monitor; prefer the environment variable:
    /// arguments are visible to other users)
    #[arg(long, env = "DEVICEAUTH_APP_SECRET", hide_env_values = true)]
    app_secret: Option<String>,
    /// Service base URL (default: ACTIVE_CONNECT_SERVER, else production)
    #[arg(long)]
    base_url: Option<String>,
}

impl AppOptions {
    /// The client, when the id and secret are both given.
    fn client(&self) -> Option<deviceauth::Result<deviceauth::activeconnect::Client>> {
        let (app_id, app_secret) = (self.app_id.clone()?, self.app_secret.clone()?);
        Some(AppArgs { app_id, app_secret, base_url: self.base_url.clone() }.client())
    }
}

/// How the monitor polls; unset options take the library's defaults.
#[derive(Args)]
#[command(next_help_heading = "Monitor")]
struct MonitorArgs {
    /// Time between two polls of one session, e.g. 5s (default 5s)
    #[arg(long, value_parser = config::duration)]
    interval: Option<Duration>,
    /// How long a claim lasts: a monitor that dies holds its sessions this long at most (default 60s)
    #[arg(long, value_parser = config::duration)]
    lease: Option<Duration>,
    /// The most sessions claimed at once (default 100)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    batch: Option<u32>,
    /// The most polls in flight at once (default 100)
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    max_in_flight: Option<u32>,
    /// A session whose polls keep failing this long is reported unreachable (default 60s)
    #[arg(long, value_parser = config::duration)]
    unreachable_after: Option<Duration>,
}

impl MonitorArgs {
    fn options(&self) -> deviceauth::Result<StoreMonitorOptions> {
        let mut options = StoreMonitorOptions::default();
        options.poll.interval = self.interval.unwrap_or(options.poll.interval);
        options.poll.max_in_flight = self.max_in_flight.map_or(options.poll.max_in_flight, |n| n as usize);
        options.poll.unreachable_after = self.unreachable_after.unwrap_or(options.poll.unreachable_after);
        options.lease = self.lease.unwrap_or(options.lease);
        options.batch = self.batch.map_or(options.batch, |n| n as usize);
        options.validate()?;
        Ok(options)
    }
}

/// How events are delivered.
#[derive(Args)]
#[command(next_help_heading = "Delivery")]
struct DeliveryArgs {
    /// The most POSTs of one event (5xx, 429 and network errors are retried; other 4xx are not)
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    max_attempts: u32,
    /// No retry later than this after an event's first POST
    #[arg(long, default_value = "10m", value_parser = config::duration)]
    max_age: Duration,
    /// The wait before the first retry, doubled for each further one, with jitter
    #[arg(long, default_value = "1s", value_parser = config::duration)]
    backoff: Duration,
    /// The longest wait between two attempts (a Retry-After header may ask for more)
    #[arg(long, default_value = "1m", value_parser = config::duration)]
    max_backoff: Duration,
    /// How long one POST may take
    #[arg(long, default_value = "10s", value_parser = config::duration)]
    timeout: Duration,
    /// Deliveries under way at once (never two for one session key: a key's events arrive in order)
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: u32,
    /// Events waiting for delivery at most; when full, reading pauses and the store keeps the rest
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    queue: u32,
    /// Where deliveries that kept failing are recorded, one JSON line each
    #[arg(long, default_value = "deviceauth-failed-deliveries.jsonl")]
    failed_log: PathBuf,
    /// After SIGINT or SIGTERM, how long the remaining deliveries may take (a second signal: none)
    #[arg(long, default_value = "10s", value_parser = config::duration)]
    shutdown_grace: Duration,
}

/// Checks the settings, opens the store, starts the monitor and forwards events until
/// SIGINT or SIGTERM.
pub async fn run(args: WatchArgs) -> Result<ExitCode, Failure> {
    let mut stop = forward::Stop::new().map_err(|e| Failure::Local(format!("signal handlers: {e}")))?;
    let url = config::webhook_url(&args.webhook, args.allow_insecure_http).map_err(Failure::Usage)?;
    let secret = config::webhook_secret(args.webhook_secret_file.as_deref()).map_err(Failure::Usage)?;
    let mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret)
        .map_err(|_| Failure::Usage("the webhook secret cannot key HMAC-SHA256".into()))?;
    drop(secret);
    let seal_key = match config::seal_key(args.seal_key_file.as_deref()).map_err(Failure::Usage)? {
        Some(key) => key,
        None if args.store == "memory" => Zeroizing::new(rand::random::<[u8; 32]>().to_vec()),
        None => {
            return Err(Failure::Usage(format!(
                "a seal key is required (the one the app's Monitor uses): set {} or pass --seal-key-file",
                config::SEAL_KEY_ENV
            )));
        }
    };
    let client = match (args.app.client(), args.no_monitor) {
        (_, true) => None,
        (Some(client), false) => Some(client?),
        (None, false) => {
            return Err(Failure::Usage(
                "the monitor acts for the application: give --app-id (or DEVICEAUTH_APP_ID) and \
                 DEVICEAUTH_APP_SECRET, or pass --no-monitor"
                    .into(),
            ));
        }
    };
    let options = args.monitor.options()?;
    let delivery = &args.delivery;
    let failed = failed_log::FailedLog::open(&delivery.failed_log).map_err(Failure::Usage)?;
    let policy = deliver::Policy {
        max_attempts: delivery.max_attempts,
        max_age: delivery.max_age,
        backoff: delivery.backoff,
        max_backoff: delivery.max_backoff,
        timeout: delivery.timeout,
    };
    let webhook = deliver::Webhook::new(url.clone(), mac, policy).map_err(Failure::Local)?;

    let store = SessionStore::open(&args.store, &seal_key).await.map_err(deviceauth::Error::from)?;
    drop(seal_key);
    let events = store.subscribe(SUBSCRIPTION_CAPACITY).await.map_err(deviceauth::Error::from)?;
    let monitor = match &client {
        Some(client) => Some(StoreMonitor::start(client, &store, options)?),
        None => None,
    };
    log::info(format!(
        "watching the {} store ({}); events go to {}; failed deliveries are recorded in {}",
        store.kind(),
        if monitor.is_some() { "with a monitor" } else { "forwarding only, no monitor" },
        config::origin(&url),
        failed.path().display()
    ));
    let limits = forward::Limits {
        concurrency: delivery.concurrency as usize,
        queue: delivery.queue as usize,
        grace: delivery.shutdown_grace,
    };
    forward::run(events, monitor, webhook, failed, limits, &mut stop).await?;
    log::info("stopped");
    Ok(ExitCode::SUCCESS)
}
