"""The Django example (examples/django-app, deviceauth.django) in headless Chromium under
gunicorn (2 workers, threads for the event streams), used as a person would: a "computer"
browser for the site and a "phone" browser for the emulator's phone page."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Page, expect

from conftest import APP_SECRET, REPO, Emulator, Shots, app_env, free_port, on_phone, wait_until_up

EXAMPLE = REPO / "examples" / "django-app"
DJANGO_KEY = "e2e-django-secret-key"


@pytest.fixture(scope="module")
def django_app(emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The example: `manage.py migrate` on a fresh SQLite file, then gunicorn."""
    pytest.importorskip("django")
    folder = tmp_path_factory.mktemp("django")
    env = app_env(emulator, DJANGO_DB=str(folder / "db.sqlite3"), DJANGO_SECRET_KEY=DJANGO_KEY, DJANGO_DEBUG="0")
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"], cwd=EXAMPLE, env=env, capture_output=True, text=True
    )
    assert migrate.returncode == 0, migrate.stderr
    log_path = folder / "server.log"
    port = free_port()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "--threads", "8", "--graceful-timeout", "5", "-b", f"127.0.0.1:{port}", "mysite.wsgi"],
            cwd=EXAMPLE,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/", proc)
        yield url
    finally:
        proc.terminate()  # open event streams end within the graceful timeout
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
    text = log_path.read_text()
    for secret in (APP_SECRET, DJANGO_KEY):
        assert secret not in text, "a secret reached the server log"
    assert "Traceback" not in text and " 500 " not in text, text[-3000:]
    assert (folder / "deviceauth-sessions.sqlite3").exists(), "the store is not next to the database"


def sign_up_and_register(computer: Page, phone: Page, app: str, name: str, shot: Shots) -> None:
    computer.goto(app + "/")
    computer.get_by_test_id("nav-sign-up").click()
    computer.fill("#username", name)
    computer.get_by_test_id("sign-up").click()
    expect(computer.get_by_test_id("registration-qr").locator("svg")).to_be_visible()
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "no")
    shot(computer, "sign-up-shows-registration-qr")
    link = computer.get_by_test_id("registration-link").get_attribute("href")
    assert link
    phone.goto(link)
    phone.get_by_test_id("register").click()
    expect(computer.get_by_test_id("device-state")).to_have_attribute("data-registered", "yes", timeout=10_000)
    shot(computer, "site-sees-the-phone")


def request_sign_in(computer: Page, app: str, name: str) -> None:
    computer.goto(app + "/")
    computer.get_by_test_id("nav-sign-in").click()
    computer.fill("#username", name)
    computer.get_by_test_id("sign-in").click()
    expect(computer.get_by_test_id("waiting")).to_be_visible()


def reload_until_flash(computer: Page, app: str, text: str, seconds: float = 25) -> None:
    """Loads the home page until it shows a message with `text` (the site's monitors
    notice a change within their polling interval)."""
    deadline = time.monotonic() + seconds
    while True:
        computer.goto(app + "/")
        flash = computer.get_by_test_id("flash")
        if flash.count() and text in flash.first.inner_text():
            return
        assert time.monotonic() < deadline, f"no message with {text!r}"
        time.sleep(0.5)


def test_sign_up_register_sign_in_remote_logout_and_sign_out(
    django_app: str, emulator: Emulator, computer: Page, phone: Page, screenshots: Path
) -> None:
    shot = Shots(screenshots, "django")
    name = f"ada{secrets.token_hex(3)}"
    sign_up_and_register(computer, phone, django_app, name, shot)

    request_sign_in(computer, django_app, name)
    # pending, then identifying once the phone page shows the request
    expect(computer.locator("#deviceauth-wait")).to_have_attribute(
        "data-state", re.compile("^(pending|identifying)$"), timeout=10_000
    )
    expect(computer.locator("[data-deviceauth-message]")).to_have_text(
        re.compile(r"^(Check your phone: approve the sign-in request\.|Your phone is confirming it is you\.\.\.)$")
    )
    shot(computer, "waiting-for-the-phone")
    cookies = {c["name"] for c in computer.context.cookies()}
    assert cookies <= {"sessionid", "csrftoken", "messages"}, cookies
    expect(phone.get_by_test_id("approve").first).to_be_visible(timeout=10_000)
    shot(phone, "phone-shows-the-request")
    on_phone(phone, "approve")
    expect(computer.get_by_test_id("home-title")).to_have_text(f"Hi, {name}!", timeout=10_000)
    shot(computer, "signed-in")

    on_phone(phone, "remote-logout")
    reload_until_flash(computer, django_app, "ended elsewhere")
    expect(computer.get_by_test_id("nav-sign-in")).to_be_visible()
    shot(computer, "signed-out-after-remote-logout")

    request_sign_in(computer, django_app, name)
    on_phone(phone, "approve")
    expect(computer.get_by_test_id("home-title")).to_have_text(f"Hi, {name}!", timeout=10_000)
    shot(computer, "signed-in-again")
    computer.get_by_test_id("sign-out").click()
    expect(computer.get_by_test_id("flash")).to_have_text("You are signed out.")
    expect(computer.get_by_test_id("nav-sign-in")).to_be_visible()
    shot(computer, "signed-out")
    deadline = time.monotonic() + 10
    while True:
        statuses = [s["status"] for s in emulator.sessions()]
        if "active" not in statuses and "walkaway" not in statuses:
            break
        assert time.monotonic() < deadline, statuses
        time.sleep(0.2)


def test_walkaway_signs_out_and_a_refusal_is_explained(
    django_app: str, computer: Page, phone: Page, screenshots: Path
) -> None:
    shot = Shots(screenshots, "django-walkaway")
    name = f"bea{secrets.token_hex(3)}"
    sign_up_and_register(computer, phone, django_app, name, shot)
    request_sign_in(computer, django_app, name)
    on_phone(phone, "approve")
    expect(computer.get_by_test_id("home-title")).to_be_visible(timeout=10_000)
    on_phone(phone, "walkaway")
    reload_until_flash(computer, django_app, "no longer near this computer")
    shot(computer, "signed-out-after-walkaway")

    request_sign_in(computer, django_app, name)
    on_phone(phone, "deny")
    expect(computer.get_by_test_id("sign-in-ended")).to_have_attribute("data-state", "refused", timeout=10_000)
    expect(computer.locator("main")).to_contain_text("The sign-in was refused on your phone.")
    shot(computer, "refusal-explained")


def test_unknown_user_gets_a_clear_page(django_app: str, computer: Page) -> None:
    computer.goto(django_app + "/auth/signin/")
    computer.fill("#username", "nobody" + secrets.token_hex(3))
    computer.get_by_test_id("sign-in").click()
    expect(computer.get_by_test_id("problem")).to_contain_text("There is no account named")
