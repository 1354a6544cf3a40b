"""The Express example over HTTP, as a browser without JavaScript would use it; the phone
is played through the emulator's phone page forms. Twice: on its default SQLite store and
on Redis (REDIS_URL, from DEVICEAUTH_TEST_REDIS_URL; `source tests/store/servers.sh`),
each time with two server processes sharing the store and the cookie key."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import stat
import subprocess
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Iterator

import pytest

from conftest import APP_SECRET, REPO, Emulator, app_env, free_port, wait_until_up

REDIS_URL = os.environ.get("DEVICEAUTH_TEST_REDIS_URL")
STORES_REQUIRED = os.environ.get("DEVICEAUTH_TEST_STORES_REQUIRED") == "1"


@dataclass
class Express:
    """Two processes of the Express example on one store."""

    urls: list[str]
    store: str


@pytest.fixture(scope="module", params=["sqlite", "redis"])
def express(request: pytest.FixtureRequest, emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Express]:
    data = tmp_path_factory.mktemp(f"express-{request.param}")
    secrets_shown = [APP_SECRET]
    extra = {"DATA_DIR": str(data), "SEAL_KEY": secrets.token_hex(32)}
    secrets_shown.append(extra["SEAL_KEY"])
    if request.param == "redis":
        if not REDIS_URL:
            if STORES_REQUIRED:
                pytest.fail("DEVICEAUTH_TEST_STORES_REQUIRED=1 but DEVICEAUTH_TEST_REDIS_URL is not set")
            pytest.skip("DEVICEAUTH_TEST_REDIS_URL is not set (source tests/store/servers.sh)")
        extra["REDIS_URL"] = f"{REDIS_URL}?namespace=e2e_{secrets.token_hex(4)}"
        extra["STORE_SEAL_KEY"] = secrets.token_hex(32)
        secrets_shown += [urllib.parse.urlsplit(REDIS_URL).password or "", extra["STORE_SEAL_KEY"]]
    procs, urls = [], []
    try:
        for _ in range(2):
            port = free_port()
            proc = subprocess.Popen(
                ["node", "server.js"],
                cwd=REPO / "examples" / "express-server",
                env=app_env(emulator, PORT=str(port), **extra),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            procs.append(proc)
            urls.append(f"http://127.0.0.1:{port}")
            wait_until_up(urls[-1] + "/", proc)
        if request.param == "sqlite":
            key = data / "store-seal.key"
            assert stat.S_IMODE(key.stat().st_mode) == 0o600, "the store seal key file is private"
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


class Browser:
    """Cookies kept, redirects followed, like a browser."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(self._url(path)))

    def post(self, path: str, **form: str) -> tuple[int, str]:
        data = urllib.parse.urlencode(form).encode()
        return self._open(urllib.request.Request(self._url(path), data=data, method="POST"))

    def _url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


def phone_action(phone: Browser, link: str, action: str) -> None:
    _, page = phone.get(link)
    actions = re.findall(r'action="([^"]+/' + re.escape(action) + ')"', page)
    assert actions, f"no {action} button on the phone page"
    phone.post(urllib.parse.urljoin(link, actions[0]))


def wait_for(browser: Browser, state: str) -> dict:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, body = browser.get("/signin/status")
        answer = json.loads(body)
        if answer["state"] == state:
            return answer
        time.sleep(0.2)
    raise AssertionError(f"sign-in never reached {state}")


def wait_for_page(browser: Browser, path: str, text: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        _, page = browser.get(path)
        if text in page:
            return page
        time.sleep(0.2)
    raise AssertionError(f"{path} never showed {text!r}")


def registered(express: Express, emulator: Emulator, prefix: str) -> tuple[Browser, Browser, str, str]:
    """A new user signed up on the first process with the phone registered:
    (computer, phone, name, registration link)."""
    computer, phone = Browser(express.urls[0]), Browser(emulator.url)
    name = f"{prefix}{secrets.token_hex(3)}"
    _, page = computer.post("/signup", username=name)
    link = re.search(r'data-testid="registration-link">([^<]+)<', page).group(1)
    phone.post(link + "/register")
    return computer, phone, name, link


def signed_in(express: Express, emulator: Emulator, prefix: str) -> tuple[Browser, str, str]:
    """A new user signed in on the first process: (browser, name, session token)."""
    computer, phone, name, link = registered(express, emulator, prefix)
    computer.post("/signin", username=name)
    phone_action(phone, link, "approve")
    wait_for(computer, "signed-in")
    token = [s for s in emulator.sessions() if s["status"] == "active"][-1]["session_token"]
    return computer, name, token


def test_express_sign_up_sign_in_walk_away_and_sign_out(express: Express, emulator: Emulator):
    computer, phone = Browser(express.urls[0]), Browser(emulator.url)
    name = f"erin{secrets.token_hex(3)}"
    status, page = computer.post("/signup", username=name)
    assert status == 200 and "<svg" in page, status
    link = re.search(r'data-testid="registration-link">([^<]+)<', page).group(1)

    status, page = computer.post("/signin", username=name)
    assert status == 409 and 'data-testid="no-device"' in page

    phone.post(link + "/register")
    _, page = computer.get(f"/register/{name}")
    assert 'data-registered="yes"' in page

    status, page = computer.post("/signin", username=name)
    assert status == 200 and 'data-testid="waiting-status"' in page
    cookies = {c.name: c.value for c in computer.jar}
    assert cookies["das"].startswith("das1."), "the session travels sealed in the cookie"
    assert name not in cookies["das"] and "session_secret" not in cookies["das"]
    phone_action(phone, link, "approve")
    assert wait_for(computer, "signed-in")["redirect"] == "/"
    _, page = computer.get("/")
    assert f"Hi, {name}!" in page

    # A monitor (of either process) notices it within about one interval plus one claim.
    phone_action(phone, link, "walkaway")
    page = wait_for_page(computer, "/", "no longer near this computer")
    assert 'data-testid="nav-sign-in"' in page

    computer.post("/signin", username=name)
    phone_action(phone, link, "approve")
    wait_for(computer, "signed-in")
    _, page = computer.post("/signout")
    assert "You are signed out." in page
    assert not any(s["status"] in ("active", "walkaway") for s in emulator.sessions())


def test_express_denied_sign_in_is_explained(express: Express, emulator: Emulator):
    computer, phone, name, link = registered(express, emulator, "fred")
    computer.post("/signin", username=name)
    phone_action(phone, link, "deny")
    answer = wait_for(computer, "ended")
    _, page = computer.get(answer["redirect"])
    assert "refused on your phone" in page


def test_express_remote_logout_is_noticed_through_the_store(express: Express, emulator: Emulator):
    computer, name, token = signed_in(express, emulator, "gail")
    status_path = f"/authentication/session_status/{token}"
    polls = lambda: len(emulator.control("GET", f"/_emulator/requests?path={urllib.parse.quote(status_path)}"))  # noqa: E731
    before = polls()
    for _ in range(10):
        _, page = computer.get("/")
        assert f"Hi, {name}!" in page
    assert polls() - before <= 4, "page loads read the store; only the monitors poll the service"

    emulator.control("POST", f"/_emulator/sessions/{token}/remote-logout")
    # The second process never saw this sign-in: it learns of the logout from the store.
    other = Browser(express.urls[1])
    other.opener = computer.opener
    page = wait_for_page(other, "/", "your session was ended (remote logout or expiry)")
    assert 'data-testid="nav-sign-in"' in page
    _, page = computer.get("/")
    assert f"Hi, {name}!" not in page
