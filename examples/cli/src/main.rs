//! `deviceauth-cli`: device sign-in from a terminal.
//!
//! - `activate`: Project Insight device activation; stores the API token in a file only
//!   the user can read.
//! - `projects`: lists active projects with the stored token.
//! - `register USER`: prints an Activeconnect device-registration link as a QR code.
//! - `login USER`: an Activeconnect push sign-in with a live status line.

mod activate;
mod failure;
mod login;
mod register;
mod token_store;

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
    /// Activate this device with Project Insight and store the API token.
    Activate {
        /// The workspace API base URL, e.g. https://acme.projectinsight.net/api
        #[arg(long, env = "PROJECTINSIGHT_BASE_URL")]
        base_url: String,
        /// Where to store the token (default: ~/.config/deviceauth/projectinsight.json)
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Lifetime of the token in minutes (default: one year)
        #[arg(long)]
        timeout_minutes: Option<u32>,
    },
    /// List active Project Insight projects with the stored token.
    Projects {
        /// The token file written by `activate`
        #[arg(long)]
        token_file: Option<PathBuf>,
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
        Command::Activate { base_url, token_file, timeout_minutes } => {
            activate::run(&base_url, token_store::path_or_default(token_file), timeout_minutes).await
        }
        Command::Projects { token_file } => activate::projects(token_store::path_or_default(token_file)).await,
        Command::Register { user, app, wait } => register::run(&app, &user, wait).await,
        Command::Login { user, app, timeout } => login::run(&app, &user, timeout).await,
    };
    match outcome {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}
