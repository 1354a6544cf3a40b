//! The report both load modes end with: latency percentiles, the `--json` file, the
//! flip failures on stderr.

use std::path::PathBuf;

use serde_json::{Value, json};

/// The `p` quantile (0..=1) of sorted values; 0 when there are none.
pub(crate) fn pct(sorted: &[u64], p: f64) -> u64 {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied().unwrap_or(0)
}

/// `{"p50", "p99", "max"}` of sorted latencies.
pub(crate) fn latency_json(sorted: &[u64]) -> Value {
    json!({ "p50": pct(sorted, 0.5), "p99": pct(sorted, 0.99), "max": sorted.last().copied().unwrap_or(0) })
}

/// `p50 / p99 / max` of sorted latencies, for the printed table.
pub(crate) fn latency_text(sorted: &[u64]) -> String {
    format!("{} / {} / {}", pct(sorted, 0.5), pct(sorted, 0.99), sorted.last().copied().unwrap_or(0))
}

/// Logs the first five flip failures, if any; writes the report to `--json PATH`, if given.
pub(crate) fn finish(flip_failures: &[String], json_path: Option<&PathBuf>, report: &Value) {
    if !flip_failures.is_empty() {
        eprintln!("flip failures (first 5): {:?}", &flip_failures[..flip_failures.len().min(5)]);
    }
    if let Some(path) = json_path {
        std::fs::write(path, serde_json::to_vec_pretty(report).expect("json")).expect("write --json");
    }
}
