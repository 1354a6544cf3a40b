"""deviceauth.django against the emulator, through Django's test Client: sign-in, the
waiting page's SSE and JSON endpoints, the middleware's check (remote logout, walkaway,
fail mode), refused and failed sign-ins (never a 500), and the migration.

Django is configured here (settings.configure, a SQLite file in a temporary folder); this
module's `urlpatterns` is the ROOT_URLCONF. Skipped when Django is not installed."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import uuid
from typing import Any, Dict, Iterator, List, Tuple

import pytest

django = pytest.importorskip("django")

from django.conf import settings  # noqa: E402

_DB_DIR = tempfile.mkdtemp(prefix="deviceauth-django-test-")

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="django-test-secret-key-not-shown",
        ALLOWED_HOSTS=["testserver", "127.0.0.1", "localhost"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "deviceauth.django",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
            "deviceauth.django.middleware.DeviceAuthMiddleware",
        ],
        AUTHENTICATION_BACKENDS=[
            "deviceauth.django.backends.DeviceAuthBackend",
            "django.contrib.auth.backends.ModelBackend",
        ],
        ROOT_URLCONF=__name__,
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(_DB_DIR, "db.sqlite3")}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        USE_TZ=True,
        LOGIN_URL="deviceauth:signin",
        LOGIN_REDIRECT_URL="/",
        DEVICEAUTH={},
    )
    django.setup()

from django.contrib import messages as django_messages  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.shortcuts import redirect  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.urls import include, path  # noqa: E402

import deviceauth.django  # noqa: E402
from deviceauth import activeconnect  # noqa: E402
from deviceauth.activeconnect import Status  # noqa: E402
from deviceauth.django import conf  # noqa: E402
from deviceauth.django.models import DeviceAuthUser  # noqa: E402
from deviceauth.django.views import PENDING, SIGNED_IN  # noqa: E402

from conftest import App, Emulator, wait_until  # noqa: E402


# -- the site under test ---------------------------------------------------------------------


def home(request: HttpRequest) -> HttpResponse:
    """Who is signed in, and the messages."""
    shown = [str(m) for m in django_messages.get_messages(request)]
    who = request.user.get_username() if request.user.is_authenticated else "-"
    return HttpResponse(f"user={who}\n" + "".join(f"message={m}\n" for m in shown), content_type="text/plain")


def signup(request: HttpRequest) -> HttpResponse:
    user = get_user_model().objects.create_user(username=request.POST["username"])
    deviceauth.django.signed_up(request, user)
    return redirect("deviceauth:register")


def plain_logout(request: HttpRequest) -> HttpResponse:
    from django.contrib.auth import logout

    logout(request)
    return redirect("home")


urlpatterns = [
    path("", home, name="home"),
    path("plain-logout/", plain_logout),
    path("signup/", signup, name="signup"),
    path("auth/", include("deviceauth.django.urls")),
]


@pytest.fixture(scope="module", autouse=True)
def database() -> Iterator[None]:
    call_command("migrate", verbosity=0)
    yield
    conf.reset()
    shutil.rmtree(_DB_DIR, ignore_errors=True)


class Site:
    """The site configured for one emulated application, with its store."""

    def __init__(self, emulator: Emulator, app: App, store: str) -> None:
        self.emulator, self.app, self.store = emulator, app, store
        self.client = Client()
        self.bodies: List[bytes] = []

    # -- requests, every body kept for the secrets test
    def get(self, url: str, **kw: Any) -> Any:
        response = self.client.get(url, **kw)
        self._keep(response)
        return response

    def post(self, url: str, data: Dict[str, str] | None = None, **kw: Any) -> Any:
        response = self.client.post(url, data or {}, **kw)
        self._keep(response)
        return response

    def _keep(self, response: Any) -> None:
        if not response.streaming:
            self.bodies.append(response.content)

    def events(self) -> Iterator[str]:
        response = self.client.get("/auth/signin/events/")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/event-stream")
        for chunk in response.streaming_content:
            text = chunk.decode() if isinstance(chunk, bytes) else chunk
            self.bodies.append(text.encode())
            yield text

    # -- people and phones
    def user(self, name: str | None = None, phone: bool = True) -> Tuple[str, str]:
        """A new user (with a registered phone): (user name, service id)."""
        name = name or "u" + uuid.uuid4().hex[:10]
        user = get_user_model().objects.create_user(username=name)
        row = DeviceAuthUser.objects.for_user(user)
        if phone:
            conf.sign_ins().registration_link(row.service_id)  # adds the user to the service
            self.app.register_device(row.service_id)
        return name, row.service_id

    def token(self, service_id: str) -> str:
        return self.app.session_token(service_id)

    def phone(self, service_id: str, action: str) -> None:
        self.emulator.session_action(self.token(service_id), action)

    def phone_status(self, service_id: str, status: str) -> None:
        """Moves the session to `status` the way the phone would (e.g. pending -> walkaway)."""
        token = self.token(service_id)
        self.emulator.call("POST", f"/_emulator/sessions/{token}/status", {"status": status})

    def home(self) -> str:
        return self.get("/").content.decode()

    def sign_in(self, name: str, service_id: str) -> None:
        response = self.post("/auth/signin/", {"username": name})
        assert response.status_code == 302 and response["Location"] == "/auth/signin/wait/"
        self.phone(service_id, "approve")
        response = self.get("/auth/signin/wait/")
        assert response.status_code == 302 and response["Location"] == "/", response.content
        assert f"user={name}" in self.home()

    def stored_status(self, service_id: str) -> Any:
        """The session's status in the store, as this app's monitors wrote it."""
        settings_ = conf.read_settings()
        client = activeconnect.Client(self.app.id, self.app.secret, base_url=self.emulator.url)
        with activeconnect.Monitor(client, store=self.store, seal_key=settings_.seal_key, polling=False) as reader:
            stored = reader.status(self.token(service_id))
        return None if stored is None else stored.status


@contextlib.contextmanager
def _site(emulator: Emulator, app: App, tmp_path: Any, **extra: Any) -> Iterator[Site]:
    store = f"sqlite://{tmp_path}/sessions.sqlite3"
    config = {
        "APPLICATION_ID": app.id,
        "APPLICATION_SECRET": app.secret,
        "BASE_URL": emulator.url,
        "STORE": store,
        **extra,
    }
    try:
        with override_settings(DEVICEAUTH=config):
            yield Site(emulator, app, store)
    finally:
        conf.reset()


@pytest.fixture
def site(emulator: Emulator, app: App, tmp_path: Any) -> Iterator[Site]:
    with _site(emulator, app, tmp_path) as site_:
        yield site_


def reload_until(site: Site, text: str, seconds: float = 20.0) -> str:
    """Loads the home page until it shows `text` (the monitors notice a change within their
    polling interval); returns the page."""
    deadline = time.monotonic() + seconds
    while True:
        page = site.home()
        if text in page:
            return page
        assert time.monotonic() < deadline, f"no {text!r} in {page!r}"
        time.sleep(0.3)


# -- sign-in ----------------------------------------------------------------------------------


def test_sign_up_shows_the_registration_page(site: Site) -> None:
    response = site.post("/signup/", {"username": "newcomer"})
    assert response.status_code == 302 and response["Location"] == "/auth/register/"
    page = site.get("/auth/register/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<svg" in html and 'data-testid="registration-link"' in html
    assert 'data-registered="no"' in html
    link = re.search(r'data-testid="registration-link"[^>]*href="([^"]+)"|href="([^"]+)" data-testid="registration-link"', html)
    assert link
    assert site.get("/auth/register/status/").json() == {"registered": False}
    row = DeviceAuthUser.objects.get(user__username="newcomer")
    site.app.register_device(row.service_id)
    assert site.get("/auth/register/status/").json() == {"registered": True}
    assert 'data-registered="yes"' in site.get("/auth/register/").content.decode()


def test_register_page_needs_a_user(site: Site) -> None:
    response = site.get("/auth/register/")
    assert response.status_code == 302 and response["Location"].startswith("/auth/signin/")
    assert site.get("/auth/register/status/").status_code == 403


def test_approved_sign_in_logs_in_through_the_json_endpoint(site: Site) -> None:
    name, service_id = site.user()
    assert site.get("/auth/signin/").status_code == 200
    response = site.post("/auth/signin/", {"username": name, "next": "/?after=signin"})
    assert response.status_code == 302
    page = site.get("/auth/signin/wait/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="deviceauth-wait"' in html and 'data-events="/auth/signin/events/"' in html
    assert 'data-status="/auth/signin/status/"' in html and 'src="/auth/deviceauth-wait.js"' in html
    assert site.get("/auth/deviceauth-wait.js")["Content-Type"].startswith("application/javascript")
    pending = site.get("/auth/signin/status/").json()
    assert pending == {
        "state": "pending", "status": "pending", "message": "Check your phone: approve the sign-in request.", "done": False
    }  # fmt: skip
    assert "user=-" in site.home()
    site.phone(service_id, "approve")
    approved = site.get("/auth/signin/status/").json()
    assert approved["state"] == "approved" and approved["done"] is True
    session = site.client.session
    assert session["_auth_user_backend"] == "deviceauth.django.backends.DeviceAuthBackend"
    assert PENDING not in session and session[SIGNED_IN]
    # the page's script then loads the waiting page, which goes on to `next`
    response = site.get("/auth/signin/wait/")
    assert response.status_code == 302 and response["Location"] == "/?after=signin"
    assert f"user={name}" in site.home()
    assert site.stored_status(service_id) is Status.ACTIVE
    _assert_no_secrets(site)


def test_sse_events_come_in_order_and_end_approved(site: Site) -> None:
    name, service_id = site.user()
    site.post("/auth/signin/", {"username": name})
    approve = threading.Timer(1.5, site.phone, args=(service_id, "approve"))
    approve.start()
    started = time.monotonic()
    chunks = list(site.events())
    approve.join()
    assert time.monotonic() - started < 15
    events = [c for c in chunks if not c.startswith(":")]
    states = [re.search(r'"state":"(\w+)"', e).group(1) for e in events]  # type: ignore[union-attr]
    assert all(e.startswith("event: progress\ndata: {") and e.endswith("}\n\n") for e in events), events
    assert states[0] == "pending" and states[-1] == "approved", states
    assert states == sorted(states, key=["pending", "identifying", "approved"].index), states
    assert '"done":true' in events[-1]
    # the stream only reports: the waiting page signs the user in
    assert "user=-" in site.home()
    response = site.get("/auth/signin/wait/")
    assert response.status_code == 302 and response["Location"] == "/"
    assert f"user={name}" in site.home()
    _assert_no_secrets(site)


def test_sse_under_asgi_streams_each_event_as_it_comes(site: Site) -> None:
    from django.test import AsyncClient

    name, service_id = site.user()
    site.post("/auth/signin/", {"username": name})

    async def read() -> List[str]:
        client = AsyncClient()
        client.cookies = site.client.cookies
        response = await client.get("/auth/signin/events/")
        assert response["Content-Type"].startswith("text/event-stream")
        chunks: List[str] = []
        async for chunk in response.streaming_content:
            chunks.append(chunk.decode() if isinstance(chunk, bytes) else chunk)
            if len(chunks) == 1:  # the first event came before the phone answered: not buffered
                await asyncio.to_thread(site.phone, service_id, "approve")
        return chunks

    chunks = asyncio.run(asyncio.wait_for(read(), timeout=30))
    states = re.findall(r'"state":"(\w+)"', "".join(chunks))
    assert states[0] == "pending" and states[-1] == "approved", states


def test_sse_without_a_sign_in_ends_at_once(site: Site) -> None:
    chunks = list(site.events())
    assert len(chunks) == 1 and '"state":"ended"' in chunks[0] and '"done":true' in chunks[0]


def test_refused_sign_in_is_explained(site: Site) -> None:
    name, service_id = site.user()
    site.post("/auth/signin/", {"username": name})
    site.phone(service_id, "deny")
    refused = site.get("/auth/signin/status/").json()
    assert refused == {"state": "refused", "status": "failed", "message": "The sign-in was refused on your phone.", "done": True}
    page = site.get("/auth/signin/ended/?state=refused")
    assert page.status_code == 200
    assert b'data-state="refused"' in page.content and b"refused on your phone" in page.content
    assert "user=-" in site.home()
    # the waiting page of a refused sign-in goes to the same page
    site.post("/auth/signin/", {"username": name})
    site.phone(service_id, "deny")
    response = site.get("/auth/signin/wait/")
    assert response.status_code == 302 and response["Location"] == "/auth/signin/ended/?state=refused"
    assert site.get("/auth/signin/ended/?state=<script>").content.count(b"<script>") == 0


def test_timed_out_sign_in_is_explained(site: Site) -> None:
    name, service_id = site.user()
    site.post("/auth/signin/", {"username": name})
    site.phone(service_id, "expire")
    assert site.get("/auth/signin/status/").json()["state"] == "timeout"
    assert b"did not answer in time" in site.get("/auth/signin/ended/?state=timeout").content


def test_unknown_user_gets_a_clear_page(site: Site) -> None:
    response = site.post("/auth/signin/", {"username": "nobody-here"})
    assert response.status_code == 404
    assert b"There is no account named nobody-here" in response.content
    assert site.post("/auth/signin/", {"username": ""}).status_code == 400


def test_user_without_a_phone_is_told_to_register(site: Site) -> None:
    name, service_id = site.user(phone=False)  # not known to the service yet
    response = site.post("/auth/signin/", {"username": name})
    assert response.status_code == 409
    assert b"no registered phone yet" in response.content
    conf.sign_ins().client.add_user(service_id)  # known to the service, no phone
    response = site.post("/auth/signin/", {"username": name})
    assert response.status_code == 409
    assert b"no registered phone yet" in response.content
    get_user_model().objects.create_user(username="no-row")  # no DeviceAuthUser at all
    response = site.post("/auth/signin/", {"username": "no-row"})
    assert response.status_code == 409 and b"no registered phone yet" in response.content


def test_sign_out_logs_the_service_session_out(site: Site) -> None:
    name, service_id = site.user()
    site.sign_in(name, service_id)
    token = site.token(service_id)
    response = site.post("/auth/signout/")
    assert response.status_code == 302 and response["Location"] == "/"
    page = site.home()
    assert "user=-" in page and "message=You are signed out." in page
    wait_until(lambda: _status(site, token) == "closed", timeout=10)
    assert site.get("/auth/signout/").status_code == 405


def test_any_django_logout_signs_the_phone_session_out(site: Site) -> None:
    name, service_id = site.user()
    site.sign_in(name, service_id)
    token = site.token(service_id)
    site.get("/plain-logout/")
    assert "user=-" in site.home()
    wait_until(lambda: _status(site, token) == "closed", timeout=10)
    assert site.stored_status(service_id) is None


def test_signing_in_again_ends_the_earlier_phone_session(site: Site) -> None:
    name, service_id = site.user()
    site.sign_in(name, service_id)
    first = site.token(service_id)
    site.sign_in(name, service_id)
    assert site.token(service_id) != first
    wait_until(lambda: _status(site, first) == "closed", timeout=10)
    assert f"user={name}" in site.home()


def _status(site: Site, token: str) -> str:
    return next(str(s["status"]) for s in site.app.sessions() if s["session_token"] == token)


# -- the middleware's check ---------------------------------------------------------------------


def test_remote_logout_is_noticed_by_the_middleware(site: Site) -> None:
    name, service_id = site.user()
    site.sign_in(name, service_id)
    site.phone(service_id, "remote-logout")
    page = reload_until(site, "user=-")
    assert "message=You were signed out: your session was ended elsewhere." in page
    assert SIGNED_IN not in site.client.session
    assert f"user={name}" not in site.home()


@pytest.mark.parametrize("policy", ["sign_out", "keep"])
def test_walkaway_policy(emulator: Emulator, app: App, tmp_path: Any, policy: str) -> None:
    with _site(emulator, app, tmp_path, WALKAWAY=policy) as site:
        name, service_id = site.user()
        site.sign_in(name, service_id)
        token = site.token(service_id)
        site.phone(service_id, "walkaway")
        if policy == "sign_out":
            page = reload_until(site, "user=-")
            assert "message=You were signed out: your phone is no longer near this computer." in page
            wait_until(lambda: _status(site, token) == "closed", timeout=10)  # logged out at the service too
        else:
            wait_until(lambda: site.stored_status(service_id) is Status.WALKAWAY, timeout=20)
            assert f"user={name}" in site.home()
            assert _status(site, token) == "walkaway"
            site.phone(service_id, "remote-logout")  # only a closed session signs out
            assert "message=You were signed out: your session was ended elsewhere." in reload_until(site, "user=-")


def test_walkaway_during_sign_in_keep_counts_as_approved(emulator: Emulator, app: App, tmp_path: Any) -> None:
    with _site(emulator, app, tmp_path, WALKAWAY="keep") as site:
        name, service_id = site.user()
        site.post("/auth/signin/", {"username": name})
        site.phone_status(service_id, "walkaway")  # approve, then walk away
        assert site.get("/auth/signin/status/").json()["state"] == "approved"
        assert f"user={name}" in site.home()


def test_walkaway_during_sign_in_sign_out_ends_it(site: Site) -> None:
    name, service_id = site.user()
    site.post("/auth/signin/", {"username": name})
    site.phone_status(service_id, "walkaway")  # approve, then walk away
    assert site.get("/auth/signin/status/").json()["state"] == "ended"
    assert "user=-" in site.home()


@pytest.mark.parametrize("fail_mode", ["closed", "open"])
def test_store_down_follows_the_fail_mode(emulator: Emulator, app: App, tmp_path: Any, fail_mode: str) -> None:
    with _site(emulator, app, tmp_path, FAIL_MODE=fail_mode) as site:
        name, service_id = site.user()
        site.sign_in(name, service_id)
        broken = dict(settings.DEVICEAUTH, STORE=f"sqlite://{tmp_path}/missing-folder/sessions.sqlite3")
        with override_settings(DEVICEAUTH=broken):
            response = site.get("/")
            assert response.status_code == 200
            page = response.content.decode()
            if fail_mode == "closed":
                assert "user=-" in page
                assert "message=You were signed out: the sign-in service cannot be reached." in page
            else:
                assert f"user={name}" in page and "message=" not in page
        conf.reset()


# -- failures are pages, never a 500 ----------------------------------------------------------------


def test_service_down_is_a_503_page(emulator: Emulator, app: App, tmp_path: Any) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with _site(emulator, app, tmp_path) as site:
        name, _ = site.user()
        with override_settings(DEVICEAUTH=dict(settings.DEVICEAUTH, BASE_URL=closed)):
            response = site.post("/auth/signin/", {"username": name})
            assert response.status_code == 503
            assert b"The sign-in service cannot be reached right now. Try again in a moment." in response.content
            register = site.client.get("/auth/register/")
            assert register.status_code == 302  # not signed in: sent to sign in, no call made
        conf.reset()


def test_service_down_while_waiting_keeps_waiting(site: Site) -> None:
    name, _ = site.user()
    site.post("/auth/signin/", {"username": name})
    site.emulator.fault("/authentication/session_status/", status=503, count=1000)
    progress = site.get("/auth/signin/status/")
    assert progress.status_code == 200
    assert progress.json()["state"] == "unavailable" and progress.json()["done"] is False
    assert site.get("/auth/signin/wait/").status_code == 200


def test_rate_limited_sign_in_is_a_429_page(emulator: Emulator, app: App, tmp_path: Any) -> None:
    if not hasattr(activeconnect.Client, "with_attempt_limit"):
        pytest.skip("activeconnect.Client.with_attempt_limit is not in this build yet (core helper)")
    with _site(emulator, app, tmp_path, ATTEMPTS=2, ATTEMPT_WINDOW=600) as site:
        name, _ = site.user()
        for _ in range(2):
            assert site.post("/auth/signin/", {"username": name}).status_code == 302
        sent = len(site.app.sessions())
        response = site.post("/auth/signin/", {"username": name})
        assert response.status_code == 429
        assert re.search(rb"Too many sign-in requests for this account. Try again in \d+ s.", response.content)
        assert int(response["Retry-After"]) > 0
        assert len(site.app.sessions()) == sent, "a rate-limited sign-in reached the service"


def test_session_from_another_key_signs_out(site: Site) -> None:
    name, service_id = site.user()
    site.sign_in(name, service_id)
    session = site.client.session
    session[SIGNED_IN] = "not-a-sealed-session"
    session.save()
    page = site.home()
    assert "user=-" in page and "message=You were signed out: your session ended." in page


def test_backend_refuses_what_is_not_an_approved_session(site: Site) -> None:
    from django.contrib.auth import authenticate

    name, service_id = site.user()
    assert authenticate(None, sealed_session="garbage") is None
    assert authenticate(None, sealed_session=None) is None
    pending = conf.sign_ins().start(service_id)
    assert authenticate(None, sealed_session=pending) is None  # not approved: not in the store
    assert authenticate(None, username=name, password="") is None


# -- secrets, settings, migration ------------------------------------------------------------------


def _assert_no_secrets(site: Site) -> None:
    secrets_ = [site.app.secret, conf.read_settings().seal_key.hex(), "django-test-secret-key-not-shown"]
    session = site.client.session
    secrets_ += [v for k, v in session.items() if k in (PENDING, SIGNED_IN)]
    secrets_ += [s["session_token"] for s in site.app.sessions()]
    assert site.bodies
    for body in site.bodies:
        for secret in secrets_:
            assert secret.encode() not in body, "a secret or sealed session reached a page"


def test_settings_map_onto_web_settings(site: Site, tmp_path: Any) -> None:
    s = conf.read_settings()
    assert s.walkaway == "sign_out" and s.fail_mode == "closed" and s.check_budget == 2.0
    assert s.attempts == 5 and s.attempt_window == 600 and s.store == site.store
    assert len(s.seal_key) == 32 and site.app.secret not in repr(s)
    full = dict(settings.DEVICEAUTH, WALKAWAY="keep", FAIL_MODE="open", CHECK_BUDGET=1.5, ATTEMPTS=0,
                ATTEMPT_WINDOW=60, SEAL_KEY="ab" * 32)  # fmt: skip
    full.pop("STORE")
    with override_settings(DEVICEAUTH=full):
        s = conf.read_settings()
        assert (s.walkaway, s.fail_mode, s.check_budget, s.attempts, s.attempt_window) == ("keep", "open", 1.5, 0, 60)
        assert s.seal_key == bytes.fromhex("ab" * 32)
        # the default store: a SQLite file next to the SQLite database
        assert s.store == "sqlite://" + os.path.join(_DB_DIR, "deviceauth-sessions.sqlite3")
    with override_settings(DEVICEAUTH=dict(settings.DEVICEAUTH, STORE=None)):
        assert conf.read_settings().store is None


def test_system_checks(site: Site) -> None:
    from django.core.management.base import SystemCheckError

    call_command("check", stdout=io.StringIO())
    with override_settings(DEVICEAUTH=dict(settings.DEVICEAUTH, WALKAWAY="sometimes")):
        with pytest.raises(SystemCheckError, match=r"deviceauth.E001.*DEVICEAUTH_WALKAWAY"):
            call_command("check", stdout=io.StringIO())
    with override_settings(DEVICEAUTH=dict(settings.DEVICEAUTH, WALKWAY="keep")):
        with pytest.raises(SystemCheckError, match=r"deviceauth.E001.*WALKWAY"):
            call_command("check", stdout=io.StringIO())
    with override_settings(AUTHENTICATION_BACKENDS=["django.contrib.auth.backends.ModelBackend"]):
        with pytest.raises(SystemCheckError, match="deviceauth.E002"):
            call_command("check", stdout=io.StringIO())
    out = io.StringIO()
    with override_settings(DEVICEAUTH={}):
        call_command("check", stdout=out, stderr=out)
    assert "deviceauth.W001" in out.getvalue()


def test_migration_matches_the_model() -> None:
    out = io.StringIO()
    call_command("makemigrations", "deviceauth", "--check", "--dry-run", stdout=out)  # exits 1 on a change
    assert "No changes detected" in out.getvalue()
