#!/usr/bin/env bash
# Builds the emulator and the Python package, then type-checks and tests the package.
#
#   tests/python/run.sh [pytest args...]      (from any directory; safe to run again)
#
# Uses the virtual environment at <repo>/.venv (made if missing, from $PYTHON or python3).
# The extension is built in cargo's dev profile for speed (DEVICEAUTH_PROFILE=release builds
# it as `pip install ./bindings-python` does by default), unless DEVICEAUTH_WHEEL names a
# built wheel to install instead.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$root/.venv"
python="${PYTHON:-python3}"
profile="${DEVICEAUTH_PROFILE:-dev}"

step() { printf '\n== %s\n' "$*"; }

if [ ! -x "$venv/bin/python" ]; then
    step "creating $venv"
    "$python" -m venv "$venv"
fi
py="$venv/bin/python"

step "test tools"
"$py" -m pip install --quiet --disable-pip-version-check "pytest>=8,<10" "pytest-asyncio>=0.24,<2" "mypy>=1.11,<3" "hypothesis>=6.100,<7" \
    "opentelemetry-api>=1.27,<2" "opentelemetry-sdk>=1.27,<2"
step "the web adapters' frameworks (the extras deviceauth[flask], [django], [fastapi]) and their test tools"
"$py" -m pip install --quiet --disable-pip-version-check "flask>=3,<4" "flask-login>=0.6.3,<0.7" "sqlalchemy>=2,<3" "flask-sqlalchemy>=3.1,<4" \
    "django>=5,<7" "fastapi>=0.110" "itsdangerous>=2.1" "python-multipart>=0.0.9" "httpx>=0.27" "uvicorn>=0.30"

step "cargo build -p deviceauth-emulator"
(cd "$root" && cargo build -p deviceauth-emulator)

bash "$here/install_package.sh" "$py" "$profile"

step "mypy --strict typing_usage.py"
(cd "$here" && "$py" -m mypy --strict typing_usage.py)

step "pytest tests/python"
cd "$root"
exec "$py" -m pytest tests/python "$@"
