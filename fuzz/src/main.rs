//! `deviceauth-fuzz`: runs every target for a fixed time on mutated inputs and reports
//! executions and crashes (a panic, or a broken property). Crashing inputs are saved.
//!
//! ```text
//! cargo run --release -p deviceauth-fuzz -- --seconds 30
//! ```
//!
//! cargo fuzz needs a nightly toolchain, which this project does not assume; this is a
//! small mutation fuzzer over seed corpora instead, with the same targets.

mod mutate;
mod targets;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

/// Fuzz deviceauth for a fixed budget per target.
#[derive(Parser)]
struct Args {
    /// Seconds per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Run only the targets whose name contains this.
    #[arg(long)]
    only: Option<String>,
    /// Where crashing inputs are written.
    #[arg(long, default_value = "target/fuzz-crashes")]
    crashes: PathBuf,
}

fn main() -> ExitCode {
    let args = Args::parse();
    // Panics are counted, not printed: the default hook would flood the terminal.
    std::panic::set_hook(Box::new(|_| {}));
    let mut total_crashes = 0;
    println!("{:<24} {:>12} {:>10} {:>8}", "target", "executions", "per second", "crashes");
    for target in targets::all().into_iter().filter(|t| args.only.as_ref().is_none_or(|o| t.name.contains(o.as_str())))
    {
        let budget = Duration::from_secs(args.seconds);
        let started = Instant::now();
        let mut rng = rand::rng();
        let (mut executions, mut crashes) = (0u64, 0u64);
        while started.elapsed() < budget {
            for _ in 0..64 {
                let input = mutate::input(&mut rng, target.seeds);
                let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(&input)));
                executions += 1;
                if !matches!(outcome, Ok(Ok(()))) {
                    crashes += 1;
                    save(&args.crashes, target.name, crashes, &input);
                }
            }
        }
        let rate = executions as f64 / started.elapsed().as_secs_f64();
        println!("{:<24} {:>12} {:>10.0} {:>8}", target.name, executions, rate, crashes);
        total_crashes += crashes;
    }
    if total_crashes > 0 {
        println!("{total_crashes} crashing inputs written to {}", args.crashes.display());
        ExitCode::FAILURE
    } else {
        println!("no crashes");
        ExitCode::SUCCESS
    }
}

fn save(folder: &std::path::Path, target: &str, index: u64, input: &[u8]) {
    if index <= 20 && std::fs::create_dir_all(folder).is_ok() {
        let _ = std::fs::write(folder.join(format!("{target}-{index}.bin")), input);
    }
}
