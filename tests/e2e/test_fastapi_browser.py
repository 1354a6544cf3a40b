"""The FastAPI example (examples/fastapi-app, deviceauth.fastapi) in headless Chromium under
uvicorn: a "computer" browser for the app and a "phone" browser for the emulator's phone
page. Skipped when FastAPI or uvicorn is not installed in this interpreter."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import subprocess
import sys
import time
from typing import Iterator, List

import pytest

pytest.importorskip("fastapi", reason="the FastAPI example needs fastapi (pip install -r examples/fastapi-app/requirements.txt)")
pytest.importorskip("uvicorn", reason="the FastAPI example runs under uvicorn")
pytest.importorskip("multipart", reason="the FastAPI example's forms need python-multipart")
pytest.importorskip("itsdangerous", reason="SessionMiddleware needs itsdangerous")

from playwright.sync_api import Page, expect  # noqa: E402

from conftest import APP_ID, APP_SECRET, REPO, Emulator, Shots, free_port, on_phone, wait_until_up  # noqa: E402

EXAMPLE = REPO / "examples" / "fastapi-app"
SECRET_KEY = "e2e-fastapi-" + secrets.token_hex(16)


@contextlib.contextmanager
def uvicorn_server(env: dict) -> Iterator[tuple]:
    """The example under uvicorn (one process: the users live in memory): its URL, and a
    list holding its output once the block is left."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--host", "127.0.0.1", "--port", str(port)],
        cwd=EXAMPLE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    log: List[str] = []
    try:
        wait_until_up(url + "/", proc)
        yield url, log
    finally:
        proc.terminate()
        try:
            log.append(proc.communicate(timeout=20)[0])
        except subprocess.TimeoutExpired:
            proc.kill()
            log.append(proc.communicate()[0])


@pytest.fixture(scope="module")
def fastapi_app(emulator: Emulator) -> Iterator[str]:
    env = {
        **os.environ,  # the deviceauth package as the tests see it (installed, or on PYTHONPATH)
        "DEVICEAUTH_APPLICATION_ID": APP_ID,
        "DEVICEAUTH_APPLICATION_SECRET": APP_SECRET,
        "DEVICEAUTH_BASE_URL": emulator.url,
        "SECRET_KEY": SECRET_KEY,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    with uvicorn_server(env) as (url, log):
        yield url
    output = log[0] if log else ""
    assert APP_SECRET not in output and SECRET_KEY not in output, "a secret reached the server log"
    assert "Traceback" not in output and " 500 " not in output, output[-3000:]


def sign_up(computer: Page, app: str, name: str) -> str:
    computer.goto(app + "/")
    computer.get_by_test_id("nav-sign-up").click()
    computer.fill("#username", name)
    computer.get_by_test_id("sign-up").click()
    expect(computer.get_by_test_id("registration-qr").locator("svg")).to_be_visible()
    link = computer.get_by_test_id("registration-link").get_attribute("href")
    assert link
    return link


def request_sign_in(computer: Page, app: str, name: str) -> None:
    computer.goto(app + "/")
    computer.get_by_test_id("nav-sign-in").click()
    computer.fill("#username", name)
    computer.get_by_test_id("sign-in").click()


def reload_until_flash(computer: Page, app: str, text: str, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        computer.goto(app + "/")
        flash = computer.get_by_test_id("flash")
        if flash.count() and text in flash.first.inner_text():
            return
        assert time.monotonic() < deadline, f"no flash with {text!r}"
        time.sleep(0.5)


def test_sign_up_register_sign_in_remote_logout_and_sign_out(fastapi_app, emulator, computer, phone, screenshots):
    shot = Shots(screenshots, "fastapi")
    app = fastapi_app
    name = f"erin{secrets.token_hex(3)}"
    before = {s["session_token"] for s in emulator.sessions()}

    link = sign_up(computer, app, name)
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "no")
    shot(computer, "sign-up-shows-registration-qr")
    phone.goto(link)
    phone.get_by_test_id("register").click()
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "yes", timeout=10_000)
    shot(computer, "app-sees-the-phone")

    request_sign_in(computer, app, name)
    expect(computer.locator("#deviceauth-wait")).to_be_visible()
    # pending, or identifying once the phone page (open since the registration) shows it
    expect(computer.locator("[data-deviceauth-message]")).to_have_text(
        re.compile("approve the sign-in request|confirming it is you")
    )
    shot(computer, "waiting-for-the-phone")
    cookies = {c["name"]: c["value"] for c in computer.context.cookies()}
    assert set(cookies) == {"session"}, cookies
    assert APP_SECRET not in computer.content()
    on_phone(phone, "approve")
    expect(computer.get_by_test_id("home-title")).to_have_text(f"Hi, {name}!", timeout=10_000)
    shot(computer, "signed-in")

    computer.fill("#note", "Signed in without a password")
    computer.get_by_test_id("add-note").click()
    expect(computer.get_by_test_id("notes")).to_contain_text("Signed in without a password")

    on_phone(phone, "remote-logout")
    reload_until_flash(computer, app, "ended elsewhere")
    expect(computer.get_by_test_id("home-title")).to_have_count(0)
    shot(computer, "signed-out-after-remote-logout")

    request_sign_in(computer, app, name)
    on_phone(phone, "approve")
    expect(computer.get_by_test_id("home-title")).to_be_visible(timeout=10_000)
    computer.get_by_test_id("sign-out").click()
    expect(computer.get_by_test_id("flash")).to_have_text("You are signed out.")
    shot(computer, "signed-out")
    time.sleep(1.0)  # the service session is logged out in the background
    statuses = [s["status"] for s in emulator.sessions() if s["session_token"] not in before]
    assert len(statuses) == 2, statuses
    assert "active" not in statuses and "walkaway" not in statuses, statuses


def test_denied_sign_in_is_explained(fastapi_app, computer, phone, screenshots):
    name = f"finn{secrets.token_hex(3)}"
    link = sign_up(computer, fastapi_app, name)
    phone.goto(link)
    phone.get_by_test_id("register").click()
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "yes", timeout=10_000)
    request_sign_in(computer, fastapi_app, name)
    on_phone(phone, "deny")
    expect(computer.get_by_test_id("sign-in-ended")).to_have_attribute("data-state", "refused", timeout=10_000)
    expect(computer.locator("main")).to_contain_text("refused on your phone")
    Shots(screenshots, "fastapi-denied")(computer, "explained")


def test_protected_page_sends_a_browser_to_sign_in(fastapi_app, computer):
    response = computer.request.post(fastapi_app + "/notes", form={"note": "x"}, max_redirects=0,
                                     headers={"Accept": "text/html"})
    assert response.status == 303
    assert response.headers["location"] == "/auth/signin", "no next= to a page that only takes POST"
