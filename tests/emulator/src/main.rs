//! `deviceauth-emulator`: runs the emulator until Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use deviceauth_emulator::{Approval, Emulator, EmulatorConfig, StatusShape};

/// Local stand-in for the Activeconnect (IAMPASS) and Project Insight device sign-in services.
#[derive(Parser, Debug)]
#[command(name = "deviceauth-emulator", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8790")]
    listen: SocketAddr,
    /// An application to serve, as ID:SECRET (repeatable); none creates one demo application.
    #[arg(long = "app", value_name = "ID:SECRET", value_parser = parse_app)]
    apps: Vec<AppArg>,
    /// Approve every sign-in request after this many milliseconds.
    #[arg(long, value_name = "MS", conflicts_with = "manual")]
    approve_after: Option<u64>,
    /// Nothing is approved until the control API or the phone page acts (the default).
    #[arg(long)]
    manual: bool,
    /// Shape of the session status response.
    #[arg(long, value_enum, default_value_t = Shape::Nested)]
    status_shape: Shape,
    /// Seconds added to the emulator's clock (simulates server clock skew).
    #[arg(long, value_name = "SECS", default_value_t = 0, allow_negative_numbers = true)]
    clock_offset: i64,
    /// Seconds after which an unanswered sign-in request becomes "timeout".
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pending_timeout: u64,
    /// Lifetime in seconds of a Project Insight activation request.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    activation_ttl: u64,
    /// Base URL for the links handed out (default: http://<listen address>).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Do not log requests to stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Debug)]
struct AppArg(String, String);

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Shape {
    Nested,
    Flat,
}

fn parse_app(value: &str) -> Result<AppArg, String> {
    match value.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok(AppArg(id.into(), secret.into())),
        _ => Err("expected ID:SECRET".into()),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let config = EmulatorConfig {
        listen: args.listen,
        apps: args.apps.into_iter().map(|AppArg(id, secret)| (id, secret)).collect(),
        approval: match args.approve_after {
            Some(ms) => Approval::ApproveAfter(Duration::from_millis(ms)),
            None => Approval::Manual,
        },
        status_shape: match args.status_shape {
            Shape::Nested => StatusShape::Nested,
            Shape::Flat => StatusShape::Flat,
        },
        clock_offset: args.clock_offset,
        pending_timeout: Duration::from_secs(args.pending_timeout),
        activation_ttl: Duration::from_secs(args.activation_ttl),
        public_url: args.public_url,
    };
    let started =
        if args.quiet { Emulator::start(config).await } else { Emulator::start_with_stderr_log(config).await };
    let emulator = match started {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("deviceauth-emulator: cannot listen on {}: {e}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let stop = shutdown_signal();
    let base = emulator.base_url();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "deviceauth-emulator listening on {base}");
    for (id, secret) in emulator.apps() {
        let _ = writeln!(out, "application_id={id} application_secret={secret}");
    }
    let _ = writeln!(out, "project insight base url: {base}/api");
    let _ = writeln!(
        out,
        "open {base}/ in a browser: it lists each user's registration link, the page that plays their phone"
    );
    let _ = writeln!(out, "press Ctrl-C to stop");
    let _ = out.flush();
    drop(out);
    stop.await;
    drop(emulator);
    ExitCode::SUCCESS
}

/// Registers the Ctrl-C (and, on Unix, SIGTERM) handlers now, so a signal that arrives
/// right after the start lines are printed is not missed; the future ends on the first one.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            match (interrupt, terminate) {
                (Ok(mut interrupt), Ok(mut terminate)) => {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = terminate.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
