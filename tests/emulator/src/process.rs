//! The emulator binary in a child process, for tools that load it from outside (the load
//! test, the benchmarks): its CPU and memory are then its own.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A running `deviceauth-emulator` process; dropping it kills the process.
#[derive(Debug)]
pub struct EmulatorProcess {
    child: Child,
    url: String,
}

impl EmulatorProcess {
    /// Starts `binary --listen 127.0.0.1:0 --quiet ARGS...` and waits until it prints the
    /// URL it listens on.
    pub fn spawn(binary: &Path, args: &[&str]) -> std::io::Result<EmulatorProcess> {
        let mut child = Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--quiet"])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let first = lines.next().transpose()?.unwrap_or_default();
        let Some(url) = first.strip_prefix("deviceauth-emulator listening on ") else {
            let _ = child.kill();
            return Err(std::io::Error::other(format!("unexpected first line from the emulator: {first:?}")));
        };
        let url = url.trim().to_owned();
        // Keep reading so that the emulator never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(EmulatorProcess { child, url })
    }

    /// Where the emulator binary is: `given`, else `$DEVICEAUTH_EMULATOR`, else the
    /// `deviceauth-emulator` beside the running program (cargo builds them into one
    /// folder), else `target/release/deviceauth-emulator`.
    pub fn locate(given: Option<PathBuf>) -> PathBuf {
        if let Some(path) = given.or_else(|| std::env::var_os("DEVICEAUTH_EMULATOR").map(PathBuf::from)) {
            return path;
        }
        std::env::current_exe()
            .ok()
            .and_then(|exe| Some(exe.parent()?.join("deviceauth-emulator")))
            .filter(|beside| beside.exists())
            .unwrap_or_else(|| PathBuf::from("target/release/deviceauth-emulator"))
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The process id (to read its CPU time and memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
