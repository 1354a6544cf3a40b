"""The Express example (deviceauth/express) in headless Chromium, used as a person would:
a "computer" browser for the app and a "phone" browser for the emulator's phone page.
Two server processes share the monitor store, the seal key and the user table: on the
default SQLite store in DATA_DIR, and on Redis (REDIS_URL, from DEVICEAUTH_TEST_REDIS_URL;
`source tests/store/servers.sh`; skipped when unset, failed when
DEVICEAUTH_TEST_STORES_REQUIRED=1)."""

from __future__ import annotations

import os
import re
import secrets
import stat
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect

from conftest import APP_ID, APP_SECRET, REPO, Emulator, Shots, app_env, free_port, on_phone, wait_until_up

REDIS_URL = os.environ.get("DEVICEAUTH_TEST_REDIS_URL")
STORES_REQUIRED = os.environ.get("DEVICEAUTH_TEST_STORES_REQUIRED") == "1"
EXAMPLE = REPO / "examples" / "express-server"


@dataclass
class Express:
    """Two processes of the Express example on one store."""

    urls: list[str]
    store: str


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def express(request: pytest.FixtureRequest, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Express]:
    data = tmp_path_factory.mktemp(f"express-browser-{request.param}")
    extra = {
        "DATA_DIR": str(data),
        # The contract's names (conftest's app_env also sets the older DEVICEAUTH_APP_ID/SECRET).
        "DEVICEAUTH_APPLICATION_ID": APP_ID,
        "DEVICEAUTH_APPLICATION_SECRET": APP_SECRET,
    }
    secrets_shown = [APP_SECRET]
    if request.param == "redis":
        if not REDIS_URL:
            if STORES_REQUIRED:
                pytest.fail("DEVICEAUTH_TEST_STORES_REQUIRED=1 but DEVICEAUTH_TEST_REDIS_URL is not set")
            pytest.skip("DEVICEAUTH_TEST_REDIS_URL is not set (source tests/store/servers.sh)")
        extra["REDIS_URL"] = f"{REDIS_URL}?namespace=e2e_{secrets.token_hex(4)}"
        extra["DEVICEAUTH_SEAL_KEY"] = secrets.token_hex(32)
        secrets_shown += [urllib.parse.urlsplit(REDIS_URL).password or "", extra["DEVICEAUTH_SEAL_KEY"]]
    procs, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            proc = subprocess.Popen(
                ["node", "server.js"],
                cwd=EXAMPLE,
                env=app_env(emulator, PORT=str(port), **extra),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
            wait_until_up(urls[-1] + "/", proc)
        if request.param == "sqlite":
            key = data / "seal.key"
            assert stat.S_IMODE(key.stat().st_mode) == 0o600, "the seal key file is private"
            secrets_shown.append(key.read_text().strip())
        yield Express(urls, request.param)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            output, _ = proc.communicate(timeout=20)
            assert proc.returncode == 0, f"the server did not stop cleanly: {output}"
            for secret in filter(None, secrets_shown):
                assert secret not in output, "a secret reached the server log"
            assert f"sessions watched in a {request.param} store" in output


def reload_until_flash(computer: Page, url: str, text: str, seconds: float = 15) -> None:
    """Loads `url` until it shows a flash with `text` (a monitor notices a change within
    about one check interval plus its idle wait)."""
    deadline = time.monotonic() + seconds
    while True:
        computer.goto(url)
        flash = computer.get_by_test_id("flash")
        if flash.count() and text in flash.first.inner_text():
            return
        assert time.monotonic() < deadline, f"no flash with {text!r}"
        time.sleep(0.3)


def sign_in(computer: Page, phone: Page, url: str, name: str, link: str) -> None:
    computer.goto(url + "/")
    computer.get_by_test_id("nav-sign-in").click()
    computer.fill("#username", name)
    computer.get_by_test_id("sign-in").click()
    expect(computer.get_by_test_id("waiting")).to_be_visible()
    # The script writes each progress (SSE) into the page; the emulated phone soon moves
    # from pending to identifying by itself.
    expect(computer.locator("#deviceauth-wait [data-deviceauth-message]")).to_have_text(
        re.compile(r"^(Check your phone: approve the sign-in request\.|Your phone is confirming it is you\.\.\.)$")
    )
    phone.goto(link)
    on_phone(phone, "approve")
    # The waiting page hears it (SSE) and finishes the sign-in by itself.
    expect(computer.get_by_test_id("home-title")).to_have_text(f"Hi, {name}!", timeout=15_000)


def test_express_example_in_a_browser(express: Express, emulator: Emulator, computer: Page, phone: Page, screenshots: Path):
    shot = Shots(screenshots, f"express-{express.store}")
    first, second = express.urls
    name = f"erin{secrets.token_hex(3)}"

    # Sign up: the next page is the phone registration page with its QR code.
    computer.goto(first + "/")
    computer.get_by_test_id("nav-sign-up").click()
    computer.fill("#username", name)
    computer.get_by_test_id("sign-up").click()
    expect(computer.get_by_test_id("registration-qr").locator("svg")).to_be_visible()
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "no")
    link = computer.get_by_test_id("registration-link").get_attribute("href")
    assert link
    shot(computer, "register")

    # The phone opens the link and registers; the page notices by itself.
    phone.goto(link)
    phone.get_by_test_id("register").click()
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "yes", timeout=10_000)
    shot(computer, "registered")

    # Sign in, approve on the phone.
    sign_in(computer, phone, first, name, link)
    expect(computer.get_by_test_id("signed-in-as")).to_contain_text(name)
    shot(computer, "signed-in")
    (cookie,) = [c for c in computer.context.cookies() if c["name"] == "deviceauth"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
    assert cookie["value"].startswith("v1.") and name not in cookie["value"]

    # The other process (same store, same key, same users) knows the user too.
    computer.goto(second + "/")
    expect(computer.get_by_test_id("home-title")).to_have_text(f"Hi, {name}!")

    # Remote logout on the phone: noticed through the store, here on the second process.
    phone.goto(link)
    on_phone(phone, "remote-logout")
    reload_until_flash(computer, second + "/", "You were signed out: your session was ended elsewhere.")
    expect(computer.get_by_test_id("nav-sign-in")).to_be_visible()
    shot(computer, "remote-logout")
    computer.goto(first + "/")
    expect(computer.get_by_test_id("home-title")).to_have_count(0)

    # Sign in again (on the second process), then sign out.
    sign_in(computer, phone, second, name, link)
    computer.get_by_test_id("sign-out").click()
    expect(computer.get_by_test_id("flash")).to_have_text("You are signed out.")
    expect(computer.get_by_test_id("nav-sign-in")).to_be_visible()
    shot(computer, "signed-out")
    sessions = emulator.sessions()
    assert not any(s["status"] in ("active", "walkaway") for s in sessions), "sign-out logged the phone session out"


def test_express_refused_sign_in_is_explained(express: Express, emulator: Emulator, computer: Page, phone: Page):
    first = express.urls[0]
    name = f"fred{secrets.token_hex(3)}"
    computer.goto(first + "/signup")
    computer.fill("#username", name)
    computer.get_by_test_id("sign-up").click()
    link = computer.get_by_test_id("registration-link").get_attribute("href")
    assert link
    phone.goto(link)
    phone.get_by_test_id("register").click()
    computer.goto(first + "/signin")
    computer.fill("#username", name)
    computer.get_by_test_id("sign-in").click()
    expect(computer.get_by_test_id("waiting")).to_be_visible()
    phone.goto(link)
    on_phone(phone, "deny")
    expect(computer.get_by_test_id("sign-in-ended")).to_have_attribute("data-state", "refused", timeout=15_000)
    expect(computer.get_by_test_id("ended-message")).to_have_text("The sign-in was refused on your phone.")


def test_express_unknown_user_and_no_phone(express: Express, computer: Page):
    first = express.urls[0]
    computer.goto(first + "/signin")
    computer.fill("#username", "nobody-" + secrets.token_hex(3))
    computer.get_by_test_id("sign-in").click()
    expect(computer.get_by_test_id("flash")).to_have_text("There is no account with that name.")
    name = f"gail{secrets.token_hex(3)}"
    computer.goto(first + "/signup")
    computer.fill("#username", name)
    computer.get_by_test_id("sign-up").click()
    computer.goto(first + "/signin")
    computer.fill("#username", name)
    computer.get_by_test_id("sign-in").click()
    expect(computer.get_by_test_id("problem")).to_have_attribute("data-status", "409")
    expect(computer.get_by_test_id("problem-message")).to_have_text(
        "This account has no registered phone yet. Register your phone first."
    )
