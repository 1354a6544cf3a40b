//! The whole `deviceauth-emulator` command line as a library call, so that a Python or
//! Node native module can ship the emulator: [`run`] parses the same flags, prints the
//! same lines, serves on its own tokio runtime and returns an exit code. It never calls
//! `std::process::exit` and installs no process-wide logger.

use std::ffi::OsString;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::{Approval, Emulator, EmulatorConfig, StatusShape};

/// Exit code when the emulator cannot start (address in use, CA file not writable, ...).
pub const EXIT_START_FAILED: i32 = 1;
/// Exit code of a defect caught inside [`run`] (a panic); the host process survives it.
pub const EXIT_INTERNAL: i32 = 70;

/// Local stand-in for the Activeconnect (IAMPASS) and Project Insight device sign-in services.
#[derive(Parser, Debug)]
#[command(name = "deviceauth-emulator", version, about)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8790")]
    listen: SocketAddr,
    /// An application to serve, as ID:SECRET (repeatable); none creates one demo application.
    #[arg(long = "app", value_name = "ID:SECRET", value_parser = parse_app)]
    apps: Vec<(String, String)>,
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
    /// Lifetime in seconds of every Project Insight API token issued, whatever
    /// timeoutMinutes asks (default: as asked).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    token_ttl: Option<f64>,
    /// Base URL for the links handed out (default: http(s)://<listen address>).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Serve HTTPS with a certificate signed by a CA generated at start.
    #[arg(long)]
    tls: bool,
    /// Write the PEM of the generated CA here (with --tls), before the first line is printed.
    #[arg(long, value_name = "PATH", requires = "tls")]
    ca_file: Option<PathBuf>,
    /// Seconds a client has to send a request's head after its first byte (and its body
    /// after the head, and a TLS handshake); slower connections are closed.
    #[arg(long, value_name = "SECS", default_value_t = 10.0, value_parser = parse_secs)]
    header_timeout: f64,
    /// Seconds a connection may stay idle (no request in progress, nothing received)
    /// before it is closed.
    #[arg(long, value_name = "SECS", default_value_t = 120.0, value_parser = parse_secs)]
    idle_timeout: f64,
    /// Do not log requests to stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Shape {
    Nested,
    Flat,
}

fn parse_app(value: &str) -> Result<(String, String), String> {
    match value.split_once(':') {
        Some((id, secret)) if !id.is_empty() && !secret.is_empty() => Ok((id.into(), secret.into())),
        _ => Err("expected ID:SECRET".into()),
    }
}

fn parse_secs(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => Ok(secs),
        _ => Err("expected a number of seconds above 0 and at most 86400".into()),
    }
}

impl Args {
    fn config(&self) -> EmulatorConfig {
        EmulatorConfig {
            listen: self.listen,
            apps: self.apps.clone(),
            approval: match self.approve_after {
                Some(ms) => Approval::ApproveAfter(Duration::from_millis(ms)),
                None => Approval::Manual,
            },
            status_shape: match self.status_shape {
                Shape::Nested => StatusShape::Nested,
                Shape::Flat => StatusShape::Flat,
            },
            clock_offset: self.clock_offset,
            pending_timeout: Duration::from_secs(self.pending_timeout),
            activation_ttl: Duration::from_secs(self.activation_ttl),
            token_ttl: self.token_ttl.map(Duration::from_secs_f64),
            public_url: self.public_url.clone(),
            tls: self.tls,
            header_timeout: Duration::from_secs_f64(self.header_timeout),
            idle_timeout: Duration::from_secs_f64(self.idle_timeout),
        }
    }
}

/// Runs the emulator exactly as the `deviceauth-emulator` binary does and returns its exit
/// code: `0` after SIGINT (Ctrl-C) or SIGTERM, or after `--help`/`--version`; `2` for bad
/// flags (the message is printed to stderr, help to stdout); [`EXIT_START_FAILED`] when it
/// cannot start; [`EXIT_INTERNAL`] for a caught panic.
///
/// `args[0]` is the program name, as in `std::env::args_os()`. The start lines go to
/// stdout (flushed): `deviceauth-emulator listening on URL`, one
/// `application_id=ID application_secret=SECRET` per application, then
/// `project insight base url: URL/api`, then hint lines.
///
/// It builds its own tokio runtime (on a new thread when called from inside a runtime)
/// and raises the soft `RLIMIT_NOFILE` limit to the hard limit. The signal handlers it
/// registers chain to the host's previous handlers (a Python host still sees its
/// `KeyboardInterrupt` once this returns).
pub fn run(args: Vec<OsString>) -> i32 {
    run_inner(args, None)
}

/// Like [`run`] but registers no signal handler: it stops when `stop` completes (for a
/// host that runs the emulator in a thread and stops it itself).
pub fn run_until(args: Vec<OsString>, stop: impl Future<Output = ()> + Send + 'static) -> i32 {
    run_inner(args, Some(Box::pin(stop)))
}

type Stop = std::pin::Pin<Box<dyn Future<Output = ()> + Send>>;

fn run_inner(args: Vec<OsString>, stop: Option<Stop>) -> i32 {
    let args = match Args::try_parse_from(args) {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    if tokio::runtime::Handle::try_current().is_ok() {
        // block_on panics inside a runtime: serve from a thread of our own.
        return std::thread::scope(|scope| match scope.spawn(|| guarded(args, stop)).join() {
            Ok(code) => code,
            Err(_) => EXIT_INTERNAL,
        });
    }
    guarded(args, stop)
}

fn guarded(args: Args, stop: Option<Stop>) -> i32 {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| serve_blocking(args, stop))).unwrap_or_else(|_| {
        eprintln!("deviceauth-emulator: internal error (panic); stopping");
        EXIT_INTERNAL
    })
}

fn serve_blocking(args: Args, stop: Option<Stop>) -> i32 {
    let _ = crate::raise_fd_limit();
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("deviceauth-emulator").build() {
            Ok(runtime) => runtime,
            Err(e) => {
                eprintln!("deviceauth-emulator: cannot start the tokio runtime: {e}");
                return EXIT_START_FAILED;
            }
        };
    let code = runtime.block_on(serve(args, stop));
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}

async fn serve(args: Args, stop: Option<Stop>) -> i32 {
    let config = args.config();
    let started =
        if args.quiet { Emulator::start(config).await } else { Emulator::start_with_stderr_log(config).await };
    let emulator = match started {
        Ok(emulator) => emulator,
        Err(e) => {
            eprintln!("deviceauth-emulator: cannot start on {}: {e}", args.listen);
            return EXIT_START_FAILED;
        }
    };
    if let (Some(path), Some(pem)) = (&args.ca_file, emulator.ca_pem())
        && let Err(e) = std::fs::write(path, pem)
    {
        eprintln!("deviceauth-emulator: cannot write the CA file {}: {e}", path.display());
        return EXIT_START_FAILED;
    }
    // Registered before the lines are printed, so a signal right after them is not missed.
    let stop = stop.unwrap_or_else(|| Box::pin(shutdown_signal()));
    print_start_lines(&emulator, args.ca_file.as_deref());
    stop.await;
    drop(emulator);
    0
}

fn print_start_lines(emulator: &Emulator, ca_file: Option<&std::path::Path>) {
    let base = emulator.base_url();
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "deviceauth-emulator listening on {base}");
    for (id, secret) in emulator.apps() {
        let _ = writeln!(out, "application_id={id} application_secret={secret}");
    }
    let _ = writeln!(out, "project insight base url: {base}/api");
    if let Some(path) = ca_file {
        let _ = writeln!(out, "tls: the server certificate is signed by the CA written to {}", path.display());
    } else if emulator.ca_pem().is_some() {
        let _ = writeln!(out, "tls: the server certificate is signed by a CA generated at start (see --ca-file)");
    }
    let _ = writeln!(
        out,
        "open {base}/ in a browser: it lists each user's registration link, the page that plays their phone"
    );
    let _ = writeln!(out, "press Ctrl-C to stop");
    let _ = out.flush();
}

/// Registers the Ctrl-C (and, on Unix, SIGTERM) handlers now; the future ends on the first one.
fn shutdown_signal() -> impl Future<Output = ()> + Send {
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
