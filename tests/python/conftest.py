"""Shared fixtures: one emulator process for the whole run, a fresh application per test.

The emulator binary is `$DEVICEAUTH_EMULATOR`, else `debug/deviceauth-emulator` in cargo's
target directory (`$CARGO_TARGET_DIR`, else `target/` at the repository root), as built by
`cargo build -p deviceauth-emulator` (tests/python/run.sh does it).
Its JSON control API (under /_emulator/) plays the user's side: registering phones,
approving sign-ins, reading activation codes, injecting faults, listing requests.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from deviceauth import activeconnect, projectinsight

REPO_ROOT = Path(__file__).resolve().parents[2]

# The library and urllib both honour proxy variables; the emulator is on loopback.
os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1", "localhost"]))
os.environ["no_proxy"] = os.environ["NO_PROXY"]

# Requests never go through a proxy in these tests, whatever the environment says.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def quote(segment: str) -> str:
    """One URL path segment, everything but unreserved characters escaped."""
    return urllib.parse.quote(segment, safe="")


class Emulator:
    """A running emulator and its control API."""

    def __init__(self, process: subprocess.Popen[bytes], url: str, app_id: str, app_secret: str) -> None:
        self.process = process
        self.url = url
        self.pi_url = url + "/api"
        self.demo_app = (app_id, app_secret)

    # -- plumbing --------------------------------------------------------------------
    def call(self, method: str, path: str, body: Optional[Dict[str, Any]] = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with _OPENER.open(request, timeout=10) as response:
                text = response.read()
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{method} {path}: HTTP {error.code}: {error.read()!r}") from None
        return json.loads(text) if text.strip() else None

    # -- the user's side ---------------------------------------------------------------
    def new_app(self) -> "App":
        created = self.call("POST", "/_emulator/apps", {})
        return App(self, created["application_id"], created["application_secret"])

    def session_action(self, session_token: str, action: str) -> str:
        return str(self.call("POST", f"/_emulator/sessions/{quote(session_token)}/{action}")["status"])

    def activation_code(self, activation_id: str) -> str:
        return str(self.call("GET", f"/_emulator/activations/{quote(activation_id)}")["code"])

    def expire_activation(self, activation_id: str) -> None:
        self.call("POST", f"/_emulator/activations/{quote(activation_id)}/expire")

    def fault(self, path: str, **effect: Any) -> None:
        self.call("POST", "/_emulator/faults", {"path": path, **effect})

    def requests(self, path: str) -> List[Dict[str, Any]]:
        return list(self.call("GET", "/_emulator/requests?path=" + urllib.parse.quote(path, safe="/")))


@dataclass
class App:
    """One emulated application, fresh for each test."""

    emulator: Emulator
    id: str
    secret: str

    def register_device(self, user: str) -> None:
        self.emulator.call("POST", f"/_emulator/apps/{quote(self.id)}/users/{quote(user)}/device")

    def sessions(self) -> List[Dict[str, Any]]:
        return list(self.emulator.call("GET", f"/_emulator/apps/{quote(self.id)}/sessions"))

    def session_token(self, user: str) -> str:
        """The token of the user's newest session."""
        tokens = [s["session_token"] for s in self.sessions() if s["user"] == user]
        assert tokens, f"no session for {user!r}"
        return str(tokens[-1])

    def sms(self) -> List[Dict[str, Any]]:
        return list(self.emulator.call("GET", f"/_emulator/apps/{quote(self.id)}/sms"))

    def path(self, call: str, user: Optional[str] = None) -> str:
        """The request path of a management or authentication call, as the emulator logs it."""
        group = "authentication" if call == "authenticate_user" else "management"
        path = f"/{group}/{call}/{quote(self.id)}"
        return path if user is None else f"{path}/{quote(user)}"


def _emulator_binary() -> Path:
    configured = os.environ.get("DEVICEAUTH_EMULATOR")
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target")
    binary = Path(configured) if configured else (REPO_ROOT / target) / "debug" / "deviceauth-emulator"
    if sys.platform == "win32" and not binary.suffix:
        binary = binary.with_suffix(".exe")
    if not binary.exists():
        pytest.exit(f"emulator binary {binary} not found: run `cargo build -p deviceauth-emulator`", returncode=2)
    return binary


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    process = subprocess.Popen(
        [str(_emulator_binary()), "--listen", "127.0.0.1:0", "--quiet"],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline().decode()
        listening = re.match(r"deviceauth-emulator listening on (http://\S+)", first)
        assert listening, f"unexpected first line from the emulator: {first!r}"
        second = process.stdout.readline().decode()
        app = re.match(r"application_id=(\S+) application_secret=(\S+)", second)
        assert app, f"unexpected application line from the emulator: {second!r}"
        yield Emulator(process, listening.group(1).rstrip("/"), app.group(1), app.group(2))
    finally:
        process.kill()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def app(emulator: Emulator) -> App:
    return emulator.new_app()


@pytest.fixture
def client(emulator: Emulator, app: App) -> activeconnect.Client:
    return activeconnect.Client(app.id, app.secret, base_url=emulator.url, timeout=5.0)


@pytest.fixture
def aclient(emulator: Emulator, app: App) -> activeconnect.AsyncClient:
    return activeconnect.AsyncClient(app.id, app.secret, base_url=emulator.url, timeout=5.0)


@pytest.fixture
def pi(emulator: Emulator) -> projectinsight.Client:
    return projectinsight.Client(emulator.pi_url, timeout=5.0)


@pytest.fixture
def api(emulator: Emulator) -> projectinsight.AsyncClient:
    return projectinsight.AsyncClient(emulator.pi_url, timeout=5.0)


@pytest.fixture
def user() -> str:
    """A fresh user id."""
    return "user-" + uuid.uuid4().hex[:12]


@pytest.fixture
def phone_user(client: activeconnect.Client, app: App, user: str) -> str:
    """A fresh user with a registered phone."""
    client.add_user(user)
    app.register_device(user)
    return user


def wait_until(predicate: Any, timeout: float = 5.0) -> None:
    """Polls `predicate` until it is true (for effects seen through the emulator)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def _no_leftover_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """Faults are global to the emulator: none outlives the test that set it."""
    yield
    if "emulator" in request.fixturenames:
        emulator: Emulator = request.getfixturevalue("emulator")
        emulator.call("DELETE", "/_emulator/faults")


def store_server_url(kind: str) -> str:
    """A URL of the test's ``kind`` server (``postgres``, ``redis``) with a namespace of its
    own, so tests sharing the server see only their rows; a skip when the server is not
    set (``source tests/store/servers.sh``), a failure when DEVICEAUTH_TEST_STORES_REQUIRED=1."""
    url = os.environ.get(f"DEVICEAUTH_TEST_{kind.upper()}_URL", "")
    if not url:
        message = f"DEVICEAUTH_TEST_{kind.upper()}_URL is not set (source tests/store/servers.sh)"
        if os.environ.get("DEVICEAUTH_TEST_STORES_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return url + ("&" if "?" in url else "?") + "namespace=t_" + uuid.uuid4().hex[:12]
