"""The Flask microblog (built on deviceauth.flask and Flask-Login) in headless Chromium,
used as a person would: a "computer" browser for the app and a "phone" browser for the
emulator's phone page. Each test runs against the app on SQLite (its default) and on
Postgres (DATABASE_URL, from DEVICEAUTH_TEST_POSTGRES_URL: skipped when unset, failed when
DEVICEAUTH_TEST_STORES_REQUIRED=1), where the sign-in sessions' store is the same database."""

from __future__ import annotations

import base64
import json
import os
import re
import secrets
import time
import urllib.parse
import urllib.request
import zlib
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect

from conftest import APP_SECRET, Emulator, Shots, app_env, flask_server, on_phone

STATUS_PATH = "/authentication/session_status/"
SIGN_IN = "/deviceauth/signin"


@pytest.fixture(scope="session")
def flask_app_postgres(emulator: Emulator) -> Iterator[str]:
    """The app under gunicorn on a fresh Postgres database of the test server."""
    server = os.environ.get("DEVICEAUTH_TEST_POSTGRES_URL", "")
    if not server:
        message = "DEVICEAUTH_TEST_POSTGRES_URL is not set (source tests/store/servers.sh)"
        if os.environ.get("DEVICEAUTH_TEST_STORES_REQUIRED") == "1":
            pytest.fail(message)
        pytest.skip(message)
    import psycopg

    name = "microblog_" + secrets.token_hex(4)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    database = urllib.parse.urlsplit(server)._replace(path="/" + name).geturl()
    seal_key = secrets.token_hex(32)
    env = app_env(emulator, DATABASE_URL=database, SECRET_KEY="e2e-cookie-key", DEVICEAUTH_SEAL_KEY=seal_key)
    with flask_server(env) as (url, log):
        yield url
    secrets_shown = (seal_key, urllib.parse.urlsplit(server).password, APP_SECRET)
    shown = [s for s in secrets_shown if s and s in log[0]]
    assert not shown, "a secret reached the server log"


@pytest.fixture(params=["sqlite", "postgres"])
def microblog(request: pytest.FixtureRequest) -> str:
    """The app's URL, on SQLite (the `flask_app` of conftest.py) or on Postgres."""
    return request.getfixturevalue("flask_app" if request.param == "sqlite" else "flask_app_postgres")


def emulator_call(emulator: Emulator, method: str, path: str, body: object = None) -> object:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(emulator.url + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read() or b"null")


def status_calls(emulator: Emulator) -> int:
    """Status requests the service received so far."""
    return len(emulator_call(emulator, "GET", "/_emulator/requests?path=" + STATUS_PATH))  # type: ignore[arg-type]


def reload_until_flash(computer: Page, app: str, text: str, seconds: float = 15) -> None:
    """Loads the home page until it shows a flash with `text` (the app's monitors notice
    a change within about one check interval plus their idle wait)."""
    deadline = time.monotonic() + seconds
    while True:
        computer.goto(app + "/")
        flash = computer.get_by_test_id("flash")
        if flash.count() and text in flash.first.inner_text():
            return
        assert time.monotonic() < deadline, f"no flash with {text!r}"
        time.sleep(0.3)


def sign_up(computer: Page, app: str, name: str) -> str:
    computer.goto(app + "/")
    computer.get_by_test_id("nav-sign-up").click()
    computer.fill("#username", name)
    computer.get_by_test_id("sign-up").click()
    expect(computer.get_by_test_id("registration-qr").locator("svg")).to_be_visible()
    link = computer.get_by_test_id("registration-link").get_attribute("href")
    assert link
    return link


def register_phone(computer: Page, phone: Page, link: str) -> None:
    phone.goto(link)
    phone.get_by_test_id("register").click()
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "yes", timeout=10_000)


def request_sign_in(computer: Page, app: str, name: str) -> None:
    computer.goto(app + SIGN_IN)
    computer.fill("#username", name)
    computer.get_by_test_id("sign-in").click()


def cookie_payload(computer: Page) -> dict:
    """The Flask session cookie, decoded (it is signed, not encrypted)."""
    (cookie,) = [c for c in computer.context.cookies() if c["name"] == "session"]
    payload = cookie["value"]
    compressed = payload.startswith(".")
    data = payload.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def session_tokens(emulator: Emulator) -> list[str]:
    return [s["session_token"] for s in emulator.sessions()]


def assert_nothing_secret_in_cookie(computer: Page, emulator: Emulator) -> None:
    """The cookie holds the sign-in session sealed: no token or secret shows in it."""
    text = json.dumps(cookie_payload(computer))
    assert APP_SECRET not in text
    shown = [t for t in session_tokens(emulator) if t in text]
    assert not shown, "a session token is readable in the cookie"


def wait_for_statuses_to_end(emulator: Emulator, seconds: float = 10) -> None:
    """Sign-out logs the service session out in the background: wait for it."""
    deadline = time.monotonic() + seconds
    while True:
        statuses = [s["status"] for s in emulator.sessions()]
        if "active" not in statuses and "walkaway" not in statuses:
            return
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)


def test_sign_up_register_sign_in_walk_away_and_sign_out(microblog, emulator: Emulator, computer, phone, screenshots):
    shot = Shots(screenshots, "flask")
    name = f"alice{secrets.token_hex(3)}"
    link = sign_up(computer, microblog, name)
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "no")
    shot(computer, "sign-up-shows-registration-qr")

    phone.goto(link)
    shot(phone, "phone-page-before-registering")
    phone.get_by_test_id("register").click()
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "yes", timeout=10_000)
    shot(computer, "app-sees-the-phone")

    request_sign_in(computer, microblog, name)
    # The waiting page follows the sign-in (the phone page may already be showing it).
    expect(computer.locator("#deviceauth-wait [data-deviceauth-message]")).to_have_text(
        re.compile(r"^(Check your phone: approve the sign-in request\.|Your phone is confirming it is you\.\.\.)$")
    )
    shot(computer, "waiting-for-the-phone")
    assert_nothing_secret_in_cookie(computer, emulator)
    expect(phone.get_by_test_id("approve").first).to_be_visible(timeout=10_000)
    shot(phone, "phone-shows-the-request")
    on_phone(phone, "approve")
    expect(computer.get_by_test_id("home-title")).to_have_text(f"Hi, {name}!", timeout=10_000)
    shot(computer, "signed-in")
    assert_nothing_secret_in_cookie(computer, emulator)

    computer.fill("#post", "Signed in without a password")
    computer.get_by_test_id("submit-post").click()
    expect(computer.get_by_test_id("posts")).to_contain_text("Signed in without a password")

    on_phone(phone, "walkaway")
    reload_until_flash(computer, microblog, "no longer near this computer")
    expect(computer.get_by_test_id("nav-sign-in")).to_be_visible()
    shot(computer, "signed-out-after-walkaway")

    request_sign_in(computer, microblog, name)
    on_phone(phone, "approve")
    expect(computer.get_by_test_id("home-title")).to_be_visible(timeout=10_000)
    computer.get_by_test_id("sign-out").click()
    expect(computer.get_by_test_id("flash")).to_have_text("You are signed out.")
    shot(computer, "signed-out")
    wait_for_statuses_to_end(emulator)


def test_remote_logout_signs_the_user_out(microblog, emulator: Emulator, computer, phone, screenshots):
    name = f"dora{secrets.token_hex(3)}"
    register_phone(computer, phone, sign_up(computer, microblog, name))
    request_sign_in(computer, microblog, name)
    on_phone(phone, "approve")
    expect(computer.get_by_test_id("home-title")).to_be_visible(timeout=10_000)

    # Each page load reads the status from the monitors' store, never from the service:
    # with every status call to the service slowed to 4 s, pages stay fast while the
    # monitors (in the background) still make their calls.
    before = status_calls(emulator)
    emulator_call(emulator, "POST", "/_emulator/faults", {"path": STATUS_PATH, "delay_ms": 4000, "count": 1000})
    try:
        deadline = time.monotonic() + 15  # a few monitor intervals
        loads = 0
        while loads < 4 or (status_calls(emulator) <= before and time.monotonic() < deadline):
            started = time.monotonic()
            computer.goto(microblog + "/")
            expect(computer.get_by_test_id("home-title")).to_be_visible()
            assert time.monotonic() - started < 3.0, "a page load waited for a status call"
            loads += 1
            time.sleep(1.1)
    finally:
        emulator_call(emulator, "DELETE", "/_emulator/faults")
    assert status_calls(emulator) > before, "the monitors kept checking the session"

    on_phone(phone, "remote-logout")
    reload_until_flash(computer, microblog, "ended")
    Shots(screenshots, "flask-remote-logout")(computer, "signed-out")


def test_denied_sign_in_is_explained(microblog, computer, phone, screenshots):
    name = f"bob{secrets.token_hex(3)}"
    register_phone(computer, phone, sign_up(computer, microblog, name))
    request_sign_in(computer, microblog, name)
    on_phone(phone, "deny")
    expect(computer.get_by_test_id("sign-in-ended")).to_have_attribute("data-state", "refused", timeout=10_000)
    expect(computer.locator("main")).to_contain_text("refused on your phone")
    Shots(screenshots, "flask-denied")(computer, "explained")


def test_user_without_a_phone_is_sent_to_register(microblog, computer, browser, screenshots):
    name = f"carol{secrets.token_hex(3)}"
    sign_up(computer, microblog, name)
    request_sign_in(computer, microblog, name)
    expect(computer.get_by_test_id("sign-in-problem")).to_have_attribute("data-status", "409")
    expect(computer.get_by_test_id("problem-message")).to_contain_text("no registered phone")
    Shots(screenshots, "flask-no-device")(computer, "explained")
    computer.get_by_test_id("register-now").click()  # the browser that signed up may register
    expect(computer.get_by_test_id("registration-qr")).to_be_visible()

    # Anyone else who types the name gets no registration link.
    stranger = browser.new_context().new_page()
    try:
        request_sign_in(stranger, microblog, name)
        expect(stranger.get_by_test_id("sign-in-problem")).to_have_attribute("data-status", "409")
        stranger.get_by_test_id("register-now").click()
        expect(stranger.get_by_test_id("sign-in-problem")).to_have_attribute("data-status", "403")
        expect(stranger.get_by_test_id("registration-qr")).to_have_count(0)
    finally:
        stranger.context.close()


def test_unknown_account_is_explained(microblog, computer):
    request_sign_in(computer, microblog, f"nobody{secrets.token_hex(3)}")
    expect(computer.get_by_test_id("sign-in-problem")).to_have_attribute("data-status", "404")
    expect(computer.get_by_test_id("problem-message")).to_contain_text("There is no account named")
