"""The Express example over HTTP, as a browser without JavaScript would use it; the phone
is played through the emulator's phone page forms."""

from __future__ import annotations

import http.cookiejar
import json
import re
import secrets
import time
import urllib.parse
import urllib.request

from conftest import Emulator


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


def test_express_sign_up_sign_in_walk_away_and_sign_out(express_app: str, emulator: Emulator):
    computer, phone = Browser(express_app), Browser(emulator.url)
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

    phone_action(phone, link, "walkaway")
    time.sleep(1.2)
    _, page = computer.get("/")
    assert "no longer near this computer" in page and 'data-testid="nav-sign-in"' in page

    computer.post("/signin", username=name)
    phone_action(phone, link, "approve")
    wait_for(computer, "signed-in")
    _, page = computer.post("/signout")
    assert "You are signed out." in page
    assert not any(s["status"] in ("active", "walkaway") for s in emulator.sessions())


def test_express_denied_sign_in_is_explained(express_app: str, emulator: Emulator):
    computer, phone = Browser(express_app), Browser(emulator.url)
    name = f"fred{secrets.token_hex(3)}"
    _, page = computer.post("/signup", username=name)
    link = re.search(r'data-testid="registration-link">([^<]+)<', page).group(1)
    phone.post(link + "/register")
    computer.post("/signin", username=name)
    phone_action(phone, link, "deny")
    answer = wait_for(computer, "ended")
    _, page = computer.get(answer["redirect"])
    assert "refused on your phone" in page
