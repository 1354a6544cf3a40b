#!/usr/bin/env bash
# Every benchmark side by side in one run, then one table (also written to BENCHMARKS.md):
#   1. Rust core: signed has_registered_mobile_device vs a bare unsigned reqwest GET
#      (sequential p50/p99, 100 in flight) and emulator status-poll requests/s with
#      1, 10, 100 clients (bench/rust, `deviceauth-bench`);
#   2. Python: bindings-python/bench/bench.sh (vs the official activeconnect client; the
#      release wheel DEVICEAUTH_WHEEL when set, e.g. the one ./run-dist built);
#   3. Node: bindings-node/bench/calls.mjs (vs plain fetch), after `npm install`;
#   4. the bindings against the core, interleaved: bench/interleave.py drives one cell
#      process per language (bench/rust `bench-cell`, bench/cells/) round after round, so
#      background load hits every column alike (the issue-11 ratios).
#
#   bench/run.sh [--seconds 5]
#
# Raw outputs go to ${BENCH_OUT:-target/bench}/. Release builds throughout.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"
seconds=5
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        *) echo "unknown argument $1" >&2; exit 2 ;;
    esac
done
target="${CARGO_TARGET_DIR:-target}"
case "$target" in /*) ;; *) target="$root/$target" ;; esac
out="${BENCH_OUT:-$target/bench}"
mkdir -p "$out"
export DEVICEAUTH_EMULATOR="$target/release/deviceauth-emulator"

# one package at a time: built together, Cargo would unify features and rebuild the emulator
echo "== cargo build --release -p deviceauth-emulator; cargo build --release -p deviceauth-bench"
cargo build --release -p deviceauth-emulator || exit 1
cargo build --release -p deviceauth-bench || exit 1

echo "== 1. Rust core (deviceauth-bench --seconds $seconds)"
"$target/release/deviceauth-bench" --seconds "$seconds" --json "$out/rust.json" | tee "$out/rust.txt"

echo "== 2. Python (bindings-python/bench/bench.sh --seconds $seconds)"
bash bindings-python/bench/bench.sh --seconds "$seconds" | tee "$out/python.txt"

echo "== 3. Node (npm install in bindings-node and the release addon, then bench/calls.mjs $seconds)"
if (cd bindings-node && npm install --no-audit --no-fund && { ls deviceauth.*.node || npm run build; }) >"$out/npm-install.log" 2>&1; then
    node bindings-node/bench/calls.mjs "$seconds" | tee "$out/node.txt"
else
    echo "npm install failed: see $out/npm-install.log" | tee "$out/node.txt"
fi

echo "== report"
python3 "$here/report.py" "$out" "$root/BENCHMARKS.md"

echo "== 4. bindings vs core, interleaved (bench/interleave.py)"
"$root/.venv/bin/python" "$here/interleave.py" --emulator "$target/release/deviceauth-emulator" \
    --rust-cell "$target/release/bench-cell" --python "$root/.venv/bin/python" \
    --seconds "$(python3 -c "print(max(1.0, $seconds / 2))")" --rounds 5 \
    --out "$out" --markdown "$root/BENCHMARKS.md" | tee "$out/interleaved.txt"
