#!/usr/bin/env bash
# End-to-end tests: the Flask, Django, FastAPI and Express examples in headless Chromium,
# and the CLI in a pseudo-terminal, all against the emulator.
#
#   tests/e2e/run.sh [pytest args...]      (from any directory; safe to run again)
#
# Installs what it needs: Debian's chromium (apt, when missing), the Python packages of
# the Flask example and of the tests into <repo>/.venv, the Python and Node packages.
# Screenshots of each step go to $E2E_SCREENSHOTS (default: a new temporary folder,
# printed at the start).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv"
step() { printf '\n== %s\n' "$*"; }

if ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1; then
    step "apt-get install chromium"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
py="$venv/bin/python"
step "Python packages (the Flask, Django and FastAPI examples, test tools)"
requirements=()
for file in "$root"/examples/*/requirements.txt; do requirements+=(-r "$file"); done
"$py" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" \
    "pytest>=8,<10" "playwright>=1.45,<2" "pexpect>=4.9,<5"

step "cargo build -p deviceauth-emulator -p deviceauth-cli"
(cd "$root" && cargo build -p deviceauth-emulator -p deviceauth-cli)

bash "$root/tests/python/install_package.sh" "$py"

# The Node package from its folder: the addon is there when tests/node/run.sh ran first.
step "npm install (Node package, Express example)"
(cd "$root/bindings-node" && npm install --no-audit --no-fund --loglevel=error)
if ! ls "$root"/bindings-node/deviceauth.*.node >/dev/null 2>&1; then
    (cd "$root/bindings-node" && npm run build)
fi
(cd "$root/examples/express-server" && npm install --no-audit --no-fund --loglevel=error)

step "pytest tests/e2e"
cd "$here"
# Playwright drives the system Chromium; it never downloads a browser of its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
exec "$py" -m pytest -p no:cacheprovider -p no:asyncio "$here" "$@"
