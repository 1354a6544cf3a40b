"""End-to-end fixtures: the emulator, the Flask app under gunicorn (several workers),
the Express server, and headless Chromium (Debian's, driven by Playwright)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import Error as PlaywrightError

REPO = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
EMULATOR = Path(os.environ.get("DEVICEAUTH_EMULATOR", TARGET / "debug" / "deviceauth-emulator"))
CLI = Path(os.environ.get("DEVICEAUTH_CLI", TARGET / "debug" / "deviceauth-cli"))
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
APP_ID, APP_SECRET = "e2e-app", "e2e-secret-do-not-show"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@dataclass
class Emulator:
    url: str

    def control(self, method: str, path: str) -> object:
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read() or b"null")

    def sessions(self) -> list[dict]:
        return self.control("GET", f"/_emulator/apps/{APP_ID}/sessions")  # type: ignore[return-value]


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    proc = subprocess.Popen(
        [str(EMULATOR), "--listen", "127.0.0.1:0", "--app", f"{APP_ID}:{APP_SECRET}", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    match = re.search(r"listening on (\S+)", proc.stdout.readline())
    assert match, "emulator did not start"
    yield Emulator(match.group(1))
    proc.terminate()
    proc.wait(10)


def app_env(emulator: Emulator, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DEVICEAUTH_APP_ID": APP_ID,
        "DEVICEAUTH_APP_SECRET": APP_SECRET,
        "ACTIVE_CONNECT_SERVER": emulator.url,
        "DEVICEAUTH_MONITOR_INTERVAL": "1",
        **extra,
    }


@contextlib.contextmanager
def flask_server(env: Dict[str, str]) -> Iterator[Tuple[str, List[str]]]:
    """The Flask example under gunicorn (3 workers) with `env`: its URL, and a list that
    holds its stderr once the block is left."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "3", "-b", f"127.0.0.1:{port}", "app:create_app()"],
        cwd=REPO / "examples" / "flask-app",
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    log: List[str] = []
    wait_until_up(url + "/", proc)
    try:
        yield url, log
    finally:
        proc.terminate()
        log.append(proc.communicate(timeout=20)[1])


@pytest.fixture(scope="session")
def flask_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = tmp_path_factory.mktemp("flask") / "microblog.db"
    with flask_server(app_env(emulator, DATABASE_URL=f"sqlite:///{db}", SECRET_KEY="e2e-cookie-key")) as (url, log):
        yield url
    assert APP_SECRET not in log[0], "the application secret reached the server log"


@pytest.fixture(scope="session")
def screenshots() -> Path:
    folder = Path(os.environ.get("E2E_SCREENSHOTS") or tempfile.mkdtemp(prefix="deviceauth-e2e-"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    print(f"\nscreenshots: {folder}", file=sys.stderr)
    return folder


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


# -- the browser tests' pages ---------------------------------------------------------


class Shots:
    """Numbered screenshots of each step, in the folder the suite printed."""

    def __init__(self, folder: Path, prefix: str) -> None:
        self.folder, self.prefix, self.count = folder, prefix, 0

    def __call__(self, page: Page, step: str) -> None:
        self.count += 1
        page.screenshot(path=str(self.folder / f"{self.prefix}-{self.count:02d}-{step}.png"), full_page=True)


@pytest.fixture
def computer(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1000, "height": 720})
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 400, "height": 760})
    yield context.new_page()
    context.close()


def on_phone(phone: Page, action: str) -> None:
    """Presses a button on the phone page. The page reloads itself when what it shows
    changes (a new request, a new status), so wait for the button rather than reload, and
    try again when a click lands in the middle of such a reload."""
    for attempt in range(3):
        try:
            phone.get_by_test_id(action).first.click(timeout=10_000)
            return
        except PlaywrightError:
            if attempt == 2:
                raise
