#!/usr/bin/env bash
# Builds the emulator and the Node package, type-checks the TypeScript usage file
# against the shipped index.d.ts, and runs the Node test suites (node --test).
# Runnable from any directory; safe to run again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
started=$SECONDS
step() { printf '\n==> [%ss] %s\n' "$((SECONDS - started))" "$*"; }

step "cargo build -p deviceauth-emulator"
(cd "$repo" && cargo build -p deviceauth-emulator)
export DEVICEAUTH_EMULATOR="${DEVICEAUTH_EMULATOR:-${CARGO_TARGET_DIR:-$repo/target}/debug/deviceauth-emulator}"

# `npm install` runs the package's own `install` script, which builds the addon
# (napi build --platform --release) and regenerates index.js and index.d.ts. It keeps
# to package-lock.json. Not `npm ci`: npm 11 writes a lock file without the other
# platforms' optional packages of @napi-rs/cli's dependencies, and `npm ci` then
# refuses it as out of sync (npm/cli#8320).
step "npm install in bindings-node (builds the addon)"
cd "$repo/bindings-node"
npm install --no-audit --no-fund
ls deviceauth.*.node >/dev/null

step "tsc --noEmit --strict tests/node/typing (against index.d.ts)"
"$repo/bindings-node/node_modules/.bin/tsc" -p "$here/typing" --noEmit --strict

step "node --test tests/node"
cd "$here"
node --test ./*.test.mjs

step "done"
