"""deviceauth.fastapi against the emulator: a real FastAPI app under uvicorn (in a thread),
driven over HTTP with httpx. Skipped when fastapi, uvicorn, httpx, itsdangerous or
python-multipart is missing (`pip install "deviceauth[fastapi]" uvicorn httpx`)."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
import uuid
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

for _module in ("fastapi", "uvicorn", "httpx", "itsdangerous", "multipart"):
    pytest.importorskip(_module, reason=f"deviceauth.fastapi tests need {_module}")

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import Depends, FastAPI, Request  # noqa: E402
from starlette.middleware.sessions import SessionMiddleware  # noqa: E402

from deviceauth import InvalidArgumentError, _native, activeconnect, web  # noqa: E402
from deviceauth.fastapi import DeviceAuth  # noqa: E402

from conftest import App, Emulator, wait_until  # noqa: E402

SECRET_KEY = "fastapi-test-" + uuid.uuid4().hex
STATUS_PATH = "/authentication/session_status/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Site:
    """A FastAPI app with the adapter, served by uvicorn in a thread, and a browser-like
    httpx client (cookies kept) that records every body it reads."""

    def __init__(self, url: str, auth: DeviceAuth, emulator: Emulator, app: App, users: Dict[str, Tuple[str, str]]):
        self.url, self.auth, self.emulator, self.app, self.users = url, auth, emulator, app, users
        self.http = httpx.Client(base_url=url, timeout=30, trust_env=False)
        self.bodies: List[str] = []
        self.sealed_seen: set = set()

    # -- requests ---------------------------------------------------------------------
    def request(self, method: str, path: str, json_api: bool = False, **kwargs: Any) -> httpx.Response:
        headers = {"Accept": "application/json" if json_api else "text/html,application/xhtml+xml"}
        headers.update(kwargs.pop("headers", {}))
        response = self.http.request(method, path, headers=headers, **kwargs)
        self.bodies.append(response.text)
        self.sealed_seen.update(v for k, v in self.session().items() if k in ("deviceauth.pending", "deviceauth.sealed") and v)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def session(self) -> Dict[str, Any]:
        """Starlette's session cookie, decoded (signed, not encrypted)."""
        cookie = self.http.cookies.get("session")
        if not cookie or cookie == "null":
            return {}
        data = cookie.split(".")[0]
        return dict(json.loads(base64.b64decode(data + "=" * (-len(data) % 4))))

    # -- the user's side ----------------------------------------------------------------
    def user(self, name: str, phone: bool = True) -> str:
        """A user of the app (added to the service; with a registered phone)."""
        service_id = "svc-" + uuid.uuid4().hex[:12]
        self.users[name] = (f"id-{name}", service_id)
        client = activeconnect.Client(self.app.id, self.app.secret, base_url=self.emulator.url)
        client.add_user(service_id)
        if phone:
            self.app.register_device(service_id)
        return service_id

    def start(self, name: str, **data: str) -> httpx.Response:
        return self.post("/auth/signin", data={"username": name, **data}, follow_redirects=False)

    def token(self, name: str) -> str:
        return self.app.session_token(self.users[name][1])

    def phone(self, name: str, action: str) -> None:
        self.emulator.call("POST", f"/_emulator/sessions/{self.token(name)}/status", {"status": action})

    def signed_in(self, name: str) -> None:
        """Signs ``name`` in through the JSON status endpoint, as the waiting page does."""
        assert self.start(name).status_code == 303
        assert self.get("/auth/status", json_api=True).json()["state"] == "pending"
        self.phone(name, "approve")
        progress = self.get("/auth/status", json_api=True).json()
        assert progress == {"state": "approved", "status": "active", "message": "Approved. Signing you in...", "done": True}
        assert self.me().status_code == 200

    def me(self, html: bool = False) -> httpx.Response:
        return self.get("/me", json_api=not html, follow_redirects=False)

    def assert_nothing_secret_shown(self) -> None:
        assert self.sealed_seen, "the test saw no sealed session"
        for body in self.bodies:
            for sealed in self.sealed_seen:
                assert sealed not in body, "a sealed session reached a response body"
            assert self.app.secret not in body and SECRET_KEY not in body


@contextlib.contextmanager
def serve(auth: DeviceAuth) -> Iterator[str]:
    app = FastAPI(lifespan=auth.lifespan)
    app.add_middleware(SessionMiddleware, secret_key=SECRET_KEY)
    app.include_router(auth.router)

    @app.get("/me")
    async def me(user: str = Depends(auth.require_user)) -> Dict[str, str]:
        return {"user": user}

    @app.get("/maybe")
    async def maybe(request: Request, user: Optional[str] = Depends(auth.current_user)) -> Dict[str, Any]:
        return {"user": user, "message": auth.pop_message(request)}

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


@pytest.fixture
def site(emulator: Emulator, app: App, request: pytest.FixtureRequest) -> Iterator[Any]:
    """``site(**options)``: the app with these DeviceAuth options, served until the test ends."""
    stack = contextlib.ExitStack()

    def make(base_url: Optional[str] = None, **options: Any) -> Site:
        users: Dict[str, Tuple[str, str]] = {}
        auth = DeviceAuth(
            find_user=users.get,
            secret_key=SECRET_KEY,
            get=lambda name: None,  # nothing from this process's environment
            application_id=app.id,
            application_secret=app.secret,
            base_url=base_url or emulator.url,
            **{"http": {"timeout": 5.0}, **options},
        )
        url = stack.enter_context(serve(auth))
        made = Site(url, auth, emulator, app, users)
        stack.callback(made.http.close)
        return made

    with stack:
        yield make


def events(response: httpx.Response) -> Iterator[Dict[str, Any]]:
    """The data of each `progress` event of an SSE response, as it comes."""
    kind = None
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line.split(":", 1)[1].strip()
        elif line.startswith("data:") and kind == "progress":
            yield json.loads(line.split(":", 1)[1])


# -- sign-in ------------------------------------------------------------------------------------


def test_approved_sign_in_passes_require_user(site: Any) -> None:
    s = site()
    s.user("ann")
    assert s.me().status_code == 401
    started = s.start("ann", next="/me")
    assert started.status_code == 303 and started.headers["location"] == "/auth/wait"
    wait = s.get("/auth/wait")
    assert wait.status_code == 200 and 'id="deviceauth-wait"' in wait.text and 'data-next="/auth/complete"' in wait.text
    script = s.get("/auth/wait.js")
    assert script.status_code == 200 and "EventSource" in script.text
    assert script.headers["content-type"].startswith("application/javascript")
    assert s.get("/auth/status", json_api=True).json()["state"] == "pending"
    s.phone("ann", "approve")
    assert s.get("/auth/status", json_api=True).json()["state"] == "approved"
    assert s.me().json() == {"user": "id-ann"}
    assert "deviceauth.pending" not in s.session()
    done = s.get("/auth/complete", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/me", "next= is kept for after the sign-in"
    assert s.get("/maybe", json_api=True).json() == {"user": "id-ann", "message": None}
    s.assert_nothing_secret_shown()


def test_sse_events_in_order_ending_approved(site: Any) -> None:
    s = site()
    s.user("bea")
    assert s.start("bea").status_code == 303
    seen: List[Dict[str, Any]] = []
    with s.http.stream("GET", "/auth/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for progress in events(response):
            seen.append(progress)
            if len(seen) == 1:
                threading.Timer(0.3, s.phone, ("bea", "identifying")).start()
                threading.Timer(1.6, s.phone, ("bea", "approve")).start()
    states = [p["state"] for p in seen]
    assert states[0] == "pending" and states[-1] == "approved", states
    assert states == sorted(states, key=["pending", "identifying", "approved"].index), states
    assert [p["done"] for p in seen] == [False] * (len(seen) - 1) + [True]
    assert all(set(p) == {"state", "status", "message", "done"} for p in seen)
    # The stream only reports: the page then goes to data-next, which signs the user in.
    assert s.me().status_code == 401
    done = s.get("/auth/complete", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert s.me().json() == {"user": "id-bea"}
    s.assert_nothing_secret_shown()


def test_events_without_a_pending_sign_in(site: Any) -> None:
    s = site()
    with s.http.stream("GET", "/auth/events") as response:
        assert [p["state"] for p in events(response)] == ["ended"]


def test_refused_sign_in_is_explained(site: Any) -> None:
    s = site()
    s.user("cid")
    s.start("cid")
    s.phone("cid", "deny")
    progress = s.get("/auth/status", json_api=True).json()
    assert progress["state"] == "refused" and progress["done"] is True
    assert progress["message"] == "The sign-in was refused on your phone."
    ended = s.get("/auth/ended?state=refused")
    assert ended.status_code == 200 and "refused on your phone" in ended.text and 'data-state="refused"' in ended.text
    assert s.me().status_code == 401 and "deviceauth.pending" not in s.session()


def test_refused_over_sse_is_settled_by_the_ended_page(site: Any) -> None:
    s = site()
    s.user("cy")
    s.start("cy")
    s.phone("cy", "deny")
    with s.http.stream("GET", "/auth/events") as response:
        assert [p["state"] for p in events(response)] == ["refused"]
    ended = s.get("/auth/ended?state=refused")
    assert "refused on your phone" in ended.text and "deviceauth.pending" not in s.session()


def test_unknown_user_is_a_404_page_not_a_500(site: Any) -> None:
    s = site()
    page = s.start("nobody")
    assert page.status_code == 404 and "There is no account named" in page.text
    api = s.post("/auth/signin", data={"username": "nobody"}, json_api=True)
    assert api.status_code == 404 and api.json() == {"detail": "There is no account named 'nobody'."}
    assert s.start("").status_code == 400


def test_user_without_a_phone_gets_409(site: Any) -> None:
    s = site()
    s.user("dan", phone=False)
    page = s.start("dan")
    assert page.status_code == 409 and "Register your phone first" in page.text
    assert "register-now" not in page.text, "no registration link for an account this browser did not sign up"


def test_rate_limited_is_a_429_with_retry_after(site: Any) -> None:
    s = site(attempts=2, attempt_window=600)
    s.user("eve")
    assert s.start("eve").status_code == 303
    assert s.start("eve").status_code == 303
    limited = s.start("eve")
    assert limited.status_code == 429 and "Too many sign-in requests" in limited.text
    assert int(limited.headers["retry-after"]) > 0
    api = s.post("/auth/signin", data={"username": "eve"}, json_api=True)
    assert api.status_code == 429 and api.json()["detail"].startswith("Too many sign-in requests")


def test_service_down_is_a_503_not_a_500(site: Any) -> None:
    s = site(base_url=f"http://127.0.0.1:{free_port()}", http={"timeout": 1.0, "retry": _native.RetryPolicy.never()})
    s.users["fay"] = ("id-fay", "svc-fay")
    page = s.start("fay")
    assert page.status_code == 503 and "cannot be reached right now" in page.text
    api = s.post("/auth/signin", data={"username": "fay"}, json_api=True)
    assert api.status_code == 503


def test_service_failing_while_signed_in_follows_the_fail_mode(site: Any, emulator: Emulator) -> None:
    closed, open_ = site(store=None), site(store=None, fail_mode="open")
    closed.user("gil")
    closed.signed_in("gil")
    open_.users.update(closed.users)
    open_.user("hal")
    open_.signed_in("hal")
    emulator.fault(STATUS_PATH, status=503, count=1000)
    verdict = closed.me()
    assert verdict.status_code == 401
    assert verdict.json() == {"detail": "You were signed out: the sign-in service cannot be reached."}
    assert open_.me().json() == {"user": "id-hal"}, "fail mode open keeps the user signed in"


def test_hung_status_endpoint_fails_fast_without_a_store(site: Any, emulator: Emulator) -> None:
    s = site(store=None)
    s.user("ida")
    s.signed_in("ida")
    emulator.fault(STATUS_PATH, delay_ms=20_000, count=1000)
    started = time.monotonic()
    verdict = s.me()
    took = time.monotonic() - started
    assert took < 3.0, f"the check took {took:.1f} s"
    assert verdict.status_code == 401 and "cannot be reached" in verdict.json()["detail"]
    s.user("ivy")
    s.start("ivy")
    started = time.monotonic()
    progress = s.get("/auth/status", json_api=True).json()
    assert time.monotonic() - started < 3.0
    assert progress["state"] == "unavailable" and progress["done"] is False
    assert "deviceauth.pending" in s.session(), "still waiting: the sign-in is kept"


# -- signed in ----------------------------------------------------------------------------------


def test_remote_logout_is_noticed(site: Any) -> None:
    s = site()  # the default store: memory, watched by this process's monitor
    s.user("jo")
    s.signed_in("jo")
    s.phone("jo", "remote-logout")
    seen: List[Dict[str, Any]] = []
    wait_until(lambda: seen.append(s.get("/maybe", json_api=True).json()) or seen[-1]["user"] is None, timeout=15)
    assert seen[-1]["message"] == "You were signed out: your session was ended elsewhere."
    assert "deviceauth.sealed" not in s.session()
    assert s.me().json() == {"detail": "Sign in first."}
    s.assert_nothing_secret_shown()


def test_remote_logout_sends_a_browser_to_sign_in_with_the_reason(site: Any) -> None:
    s = site(store=None)
    s.user("kim")
    s.signed_in("kim")
    s.phone("kim", "remote-logout")
    redirect = s.me(html=True)
    assert redirect.status_code == 303 and redirect.headers["location"] == "/auth/signin?next=/me"
    page = s.get(redirect.headers["location"])
    assert "You were signed out: your session was ended elsewhere." in page.text
    assert 'name="next" value="/me"' in page.text
    assert s.get("/maybe", json_api=True).json() == {"user": None, "message": None}, "the message was shown once"


def test_remote_logout_json_message(site: Any) -> None:
    s = site(store=None)
    s.user("kai")
    s.signed_in("kai")
    s.phone("kai", "remote-logout")
    assert s.me().json() == {"detail": "You were signed out: your session was ended elsewhere."}
    assert s.get("/maybe", json_api=True).json() == {"user": None, "message": None}, "the 401 told it"


@pytest.mark.parametrize("store", [None, "memory"])
def test_walkaway_signs_out_by_default(site: Any, app: App, store: Optional[str]) -> None:
    s = site(store=store)
    s.user("lu")
    s.signed_in("lu")
    token = s.token("lu")
    s.phone("lu", "walkaway")
    wait_until(lambda: s.me().status_code == 401, timeout=15)
    assert s.get("/maybe", json_api=True).json()["message"] is None
    wait_until(lambda: [x["status"] for x in app.sessions() if x["session_token"] == token] == ["closed"], timeout=5)


def test_walkaway_keep_stays_signed_in(site: Any, app: App) -> None:
    s = site(store=None, walkaway="keep")
    s.user("mo")
    s.signed_in("mo")
    s.phone("mo", "walkaway")
    for _ in range(3):
        assert s.me().json() == {"user": "id-mo"}
    assert [x["status"] for x in app.sessions() if x["session_token"] == s.token("mo")] == ["walkaway"]
    s.phone("mo", "remote-logout")
    assert s.me().status_code == 401


@pytest.mark.parametrize("policy", ["sign_out", "keep"])
def test_walkaway_during_the_sign_in(site: Any, app: App, policy: str) -> None:
    s = site(walkaway=policy)
    s.user("nia")
    s.start("nia")
    s.phone("nia", "walkaway")  # approved, then the phone walked away before the page looked
    progress = s.get("/auth/status", json_api=True).json()
    if policy == "keep":
        assert progress["state"] == "approved" and s.me().json() == {"user": "id-nia"}
    else:
        assert progress["state"] == "ended" and s.me().status_code == 401
        wait_until(lambda: [x["status"] for x in app.sessions() if x["session_token"] == s.token("nia")] == ["closed"])


def test_walkaway_message(site: Any) -> None:
    s = site(store=None)
    s.user("ned")
    s.signed_in("ned")
    s.phone("ned", "walkaway")
    assert s.me().json() == {"detail": "You were signed out: your phone is no longer near this computer."}


def test_sign_out(site: Any, app: App) -> None:
    s = site()
    s.user("oz")
    s.signed_in("oz")
    token = s.token("oz")
    out = s.post("/auth/signout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/"
    assert s.me().json() == {"detail": "Sign in first."}
    assert s.get("/maybe", json_api=True).json() == {"user": None, "message": "You are signed out."}
    wait_until(lambda: [x["status"] for x in app.sessions() if x["session_token"] == token] == ["closed"], timeout=5)
    assert s.post("/auth/signout", json_api=True).json() == {"signed_out": True}, "signing out twice is fine"


def test_open_redirects_are_refused(site: Any) -> None:
    s = site(store=None)
    s.user("pat")
    s.start("pat", next="//evil.example/")
    s.phone("pat", "approve")
    done = s.get("/auth/complete", follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/"


# -- registration -------------------------------------------------------------------------------


def test_registration_page_only_for_the_user_who_signed_up_or_is_signed_in(site: Any, emulator: Emulator) -> None:
    s = site()
    anonymous = s.get("/auth/register", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/auth/signin"
    assert s.get("/auth/register/status", json_api=True).status_code == 401

    # What an app's sign-up route does: allow this browser to register the new user's phone
    # (served by another app sharing the session secret: the cookie is what matters).
    service_id = "svc-" + uuid.uuid4().hex[:12]
    s.users["quinn"] = ("id-quinn", service_id)
    grant_app = FastAPI()
    grant_app.add_middleware(SessionMiddleware, secret_key=SECRET_KEY)
    grant_app.include_router(s.auth.router)

    @grant_app.get("/grant")
    async def grant(request: Request) -> Dict[str, str]:
        return {"url": s.auth.allow_registration(request, service_id, "quinn @ tests")}

    with serve_plain(grant_app) as grant_url:
        assert s.http.get(grant_url + "/grant").status_code == 200  # the same browser: its cookie

    page = s.get("/auth/register")
    assert page.status_code == 200 and "<svg" in page.text and 'data-registered="no"' in page.text
    link = page.text.split('data-testid="registration-link"')[0].rsplit('href="', 1)[1].split('"')[0]
    assert s.get("/auth/register/status", json_api=True).json() == {"registered": False}
    emulator.call("POST", "/_emulator/register", {"link": link.replace("&amp;", "&")})
    assert s.get("/auth/register/status", json_api=True).json() == {"registered": True}
    assert 'data-registered="yes"' in s.get("/auth/register").text
    # No phone yet would have offered this browser the registration page; now it signs in.
    s.signed_in("quinn")


@contextlib.contextmanager
def serve_plain(app: FastAPI) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)


# -- setup --------------------------------------------------------------------------------------


async def test_lifespan_refuses_an_app_without_session_middleware(emulator: Emulator, app: App) -> None:
    auth = DeviceAuth(
        find_user=lambda name: None, secret_key=SECRET_KEY, get=lambda name: None,
        application_id=app.id, application_secret=app.secret, base_url=emulator.url,
    )  # fmt: skip
    bare = FastAPI()
    with pytest.raises(RuntimeError, match="SessionMiddleware"):
        async with auth.lifespan(bare):
            pass


async def test_routes_without_session_middleware_say_so(emulator: Emulator, app: App) -> None:
    auth = DeviceAuth(
        find_user=lambda name: None, secret_key=SECRET_KEY, get=lambda name: None,
        application_id=app.id, application_secret=app.secret, base_url=emulator.url,
    )  # fmt: skip
    bare = FastAPI()
    bare.include_router(auth.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://app") as client:
        with pytest.raises(RuntimeError, match="SessionMiddleware"):
            await client.get("/auth/wait")


def test_settings_from_the_environment() -> None:
    env = {
        "DEVICEAUTH_APPLICATION_ID": "app",
        "DEVICEAUTH_APPLICATION_SECRET": "shh-secret",
        "DEVICEAUTH_WALKAWAY": "keep",
        "DEVICEAUTH_CHECK_BUDGET": "1.5",
    }
    auth = DeviceAuth(find_user=lambda name: None, secret_key="k", get=env.get)
    settings = auth.settings
    assert settings.store == "memory", "FastAPI's default store: memory (one process)"
    assert settings.walkaway == "keep" and settings.check_budget == 1.5 and settings.fail_mode == "closed"
    assert settings.seal_key == web.derive_seal_key("k")
    assert "shh-secret" not in repr(settings)
    overridden = DeviceAuth(find_user=lambda name: None, secret_key="k", get=env.get, store=None, walkaway="sign_out")
    assert overridden.settings.store is None and overridden.settings.walkaway == "sign_out"
    with pytest.raises(InvalidArgumentError, match="WALKAWAY"):
        DeviceAuth(secret_key="k", get={**env, "DEVICEAUTH_WALKAWAY": "maybe"}.get)
    with pytest.raises(InvalidArgumentError, match="SEAL_KEY|secret key"):
        DeviceAuth(get=env.get)
    with pytest.raises(InvalidArgumentError, match="unknown"):
        DeviceAuth(secret_key="k", get=env.get, colour="blue")
