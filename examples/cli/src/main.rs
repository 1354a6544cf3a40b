//! `deviceauth-cli`: device sign-in from a terminal.
//!
//! - `activate`: Project Insight device activation; stores the API token (the OS keyring
//!   with the `keyring` feature, else a file only the user can read).
//! - `projects`: lists active projects with the stored token (refused once it expired).
//! - `logout` (or `forget`): deletes the stored token.
//! - `register USER`: prints an Activeconnect device-registration link as a QR code.
//! - `login USER`: an Activeconnect push sign-in with a live status line.
//! - `watch --store URL --webhook URL`: the logout bridge; polls the sessions in a
//!   monitor store and POSTs each status change to the app as signed JSON.

mod activate;
mod failure;
mod login;
mod register;
mod watch;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Sign in through your phone or another device, from a terminal.
#[derive(Parser)]
#[command(name = "deviceauth-cli", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Activate this device with Project Insight and store the API token (again: replace it).
    Activate {
        #[command(flatten)]
        token: TokenArgs,
        /// Lifetime of the token in minutes (default: one year)
        #[arg(long)]
        timeout_minutes: Option<u32>,
    },
    /// List active Project Insight projects with the stored token.
    Projects {
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Delete the stored Project Insight API token.
    #[command(visible_alias = "forget")]
    Logout {
        #[command(flatten)]
        token: TokenArgs,
    },
    /// Print the device-registration link of USER as a QR code to scan with the phone.
    Register {
        /// The user id registered with Activeconnect
        user: String,
        #[command(flatten)]
        app: AppArgs,
        /// Wait until the phone is registered
        #[arg(long)]
        wait: bool,
    },
    /// Sign USER in with a push to the phone, showing the status as it changes.
    Login {
        /// The user id registered with Activeconnect
        user: String,
        #[command(flatten)]
        app: AppArgs,
        /// Seconds to wait for the phone
        #[arg(long, default_value_t = 120)]
        timeout: u64,
    },
    /// Watch the sessions in a monitor store and POST each status change to a webhook.
    #[command(long_about = WATCH_ABOUT)]
    Watch(Box<watch::WatchArgs>),
}

/// The long help of `watch`.
const WATCH_ABOUT: &str = "\
Watch the sessions in a monitor store and POST each status change to a webhook.

The logout bridge: the app adds each signed-in session to the store (the Monitor's `store`
option); `watch` polls them (with any number of other monitors on the same store) and POSTs
every change (remote logout, walkaway, ...) to the webhook as JSON:

  {\"id\", \"kind\", \"key\", \"user\", \"session_hash\", \"previous\", \"status\", \"error\", \"at\"}

`session_hash` is the first 16 hex digits of SHA-256(session token); the token itself is
never sent. Each POST carries `DeviceAuth-Event-Id: <id>` and
`DeviceAuth-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<body>\")>`.
The receiver recomputes the HMAC over the raw body, compares in constant time, refuses a t
more than 5 minutes from its clock, and drops repeats by the event id (delivery is at least
once).

2xx is delivered; 5xx, 429 and network errors are retried with backoff (Retry-After is
honoured); other answers are not retried. Events that could not be delivered are appended
to --failed-log and watch goes on. SIGINT/SIGTERM: stop claiming, release the claims,
finish the deliveries under way (--shutdown-grace), exit 0.

Give secrets through the environment or files, not arguments (other users can see those):
DEVICEAUTH_WEBHOOK_SECRET (or --webhook-secret-file), DEVICEAUTH_SEAL_KEY (or
--seal-key-file), DEVICEAUTH_APP_SECRET; DEVICEAUTH_STORE for a store URL with a password.";

/// Which Project Insight token: the API, the account, the store.
#[derive(Args)]
struct TokenArgs {
    /// The workspace API base URL, e.g. https://acme.projectinsight.net/api
    #[arg(long, env = "PROJECTINSIGHT_BASE_URL")]
    base_url: String,
    /// Your name for whose token it is (several people or profiles can keep one each)
    #[arg(long, env = "DEVICEAUTH_ACCOUNT", default_value = "default")]
    account: String,
    /// Keep the token in this file (default: the OS keyring if this build has one and it
    /// answers, else $XDG_CONFIG_HOME/deviceauth/projectinsight-tokens.json)
    #[arg(long)]
    token_file: Option<PathBuf>,
}

impl TokenArgs {
    /// The store the token lives in.
    fn store(&self) -> deviceauth::Result<deviceauth::projectinsight::TokenStore> {
        match &self.token_file {
            Some(path) => Ok(deviceauth::projectinsight::TokenStore::file(path)),
            None => deviceauth::projectinsight::TokenStore::open_default(),
        }
    }
}

/// The Activeconnect application to act for.
#[derive(Args)]
struct AppArgs {
    /// Application id
    #[arg(long, env = "DEVICEAUTH_APP_ID")]
    app_id: String,
    /// Application secret (prefer the environment variable: arguments are visible to other users)
    #[arg(long, env = "DEVICEAUTH_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    /// Service base URL (default: ACTIVE_CONNECT_SERVER, else production)
    #[arg(long)]
    base_url: Option<String>,
}

impl AppArgs {
    fn client(&self) -> deviceauth::Result<deviceauth::activeconnect::Client> {
        let mut builder = deviceauth::activeconnect::Client::builder(&self.app_id, self.app_secret.as_str());
        if let Some(url) = &self.base_url {
            builder = builder.base_url(url);
        }
        builder.build()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Activate { token, timeout_minutes } => activate::run(&token, timeout_minutes).await,
        Command::Projects { token } => activate::projects(&token).await,
        Command::Logout { token } => activate::logout(&token),
        Command::Register { user, app, wait } => register::run(&app, &user, wait).await,
        Command::Login { user, app, timeout } => login::run(&app, &user, timeout).await,
        Command::Watch(args) => watch::run(*args).await,
    };
    match outcome {
        Ok(code) => code,
        Err(failure @ failure::Failure::Usage(_)) => {
            eprintln!("error: {failure}");
            ExitCode::from(2)
        }
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}
