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

# `npm install` brings the dev tools (napi CLI, TypeScript, fast-check); the package has no
# install script. Not `npm ci`: npm 11 writes a lock file without the other platforms'
# optional packages of @napi-rs/cli's dependencies, and `npm ci` then refuses it as out of
# sync (npm/cli#8320). The addon then comes from the tarballs `./run-dist` packed
# (DEVICEAUTH_NPM_DIST=<dir with them>, as ./run-tests does: built once, tested as shipped),
# else from `npm run build` (napi build --platform --release; also writes native.js/.d.ts).
step "npm install in bindings-node, then the addon"
cd "$repo/bindings-node"
npm install --no-audit --no-fund
if [ -n "${DEVICEAUTH_NPM_DIST:-}" ]; then
    main=$(ls "$DEVICEAUTH_NPM_DIST"/deviceauth-[0-9]*.tgz)
    platform=$(ls "$DEVICEAUTH_NPM_DIST"/deviceauth-linux-x64-gnu-*.tgz)
    tar -xzf "$main" --strip-components=1 package/native.js package/native.d.ts
    tar -xzf "$platform" --strip-components=1 package/deviceauth.linux-x64-gnu.node
    echo "addon and native.js from $main and $platform"
else
    npm run build
fi
ls deviceauth.*.node >/dev/null

# Two configurations: the project's own (paths to index.d.ts, no skipLibCheck) and exactly
# what `tsc --init` writes (verbatimModuleSyntax, isolatedModules, exactOptionalPropertyTypes,
# no @types/node), resolving `deviceauth` through node_modules as an installed package.
step "tsc --noEmit --strict tests/node/typing (own tsconfig and tsc --init's)"
mkdir -p "$here/typing/node_modules"
ln -sfn "$repo/bindings-node" "$here/typing/node_modules/deviceauth"
"$repo/bindings-node/node_modules/.bin/tsc" -p "$here/typing/tsconfig.json" --noEmit --strict
"$repo/bindings-node/node_modules/.bin/tsc" -p "$here/typing/tsconfig.init.json" --noEmit --strict

step "node --test tests/node"
cd "$here"
node --test ./*.test.mjs

step "done"
