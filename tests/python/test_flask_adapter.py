"""deviceauth.flask against the emulator, through Flask's test client: the sign-in flow
(start, waiting page, JSON and SSE progress, approval, Flask-Login), the check on each
request (remote logout, walkaway policies, fail modes, the 2 s budget), sign-out, the
registration page, every failure as a page with its status (never a 500), and nothing
secret in what the browser gets."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

flask = pytest.importorskip("flask")
pytest.importorskip("flask_login")

from flask import get_flashed_messages  # noqa: E402
from flask_login import LoginManager, UserMixin, current_user  # noqa: E402

import deviceauth  # noqa: E402
from deviceauth import activeconnect, web  # noqa: E402
from deviceauth.flask import DeviceAuth  # noqa: E402

from conftest import App, Emulator, wait_until  # noqa: E402

STATUS_PATH = "/authentication/session_status/"
WAITING = ("pending", "identifying")


class User(UserMixin):
    def __init__(self, user_id: str, name: str, active: bool = True) -> None:
        self.id, self.name, self.active = user_id, name, active
        self.deviceauth_id = web.new_user_id()

    @property
    def is_active(self) -> bool:
        return self.active


class Site:
    """A small Flask app on deviceauth.flask, its users, and a test client (the browser)."""

    def __init__(self, emulator: Emulator, app: App, instance: Path, **config: Any) -> None:
        self.emulator, self.service = emulator, app
        self.users: Dict[str, User] = {}
        self.flask = flask.Flask(__name__, instance_path=str(instance))
        self.flask.config.update(
            SECRET_KEY="test-cookie-key-" + app.id,
            DEVICEAUTH_APPLICATION_ID=app.id,
            DEVICEAUTH_APPLICATION_SECRET=app.secret,
            DEVICEAUTH_BASE_URL=emulator.url,
        )
        self.flask.config.update({"DEVICEAUTH_" + k.upper(): v for k, v in config.items()})
        login = LoginManager(self.flask)
        login.user_loader(self.users.get)
        self.deviceauth = DeviceAuth(self.flask)

        @self.deviceauth.user_finder
        def find(name: str) -> Optional[User]:
            return next((u for u in self.users.values() if u.name == name), None)

        @self.flask.route("/")
        def index() -> Any:
            who = current_user.name if current_user.is_authenticated else "anonymous"
            return flask.jsonify(user=who, flashes=get_flashed_messages())

        @self.flask.route("/private")
        def private() -> str:
            return "private"

        @self.flask.route("/signup/<name>", methods=["POST"])
        def signup(name: str) -> Any:
            user = User(str(len(self.users) + 1), name)
            self.users[user.id] = user
            return self.deviceauth.signed_up(user)

        self.browser = self.flask.test_client()
        self.bodies: List[str] = []

    # -- the browser ------------------------------------------------------------------------
    def get(self, path: str, **kw: Any) -> Any:
        response = self.browser.get(path, **kw)
        self.bodies.append(response.get_data(as_text=True))
        assert response.status_code != 500, response.get_data(as_text=True)
        return response

    def post(self, path: str, **kw: Any) -> Any:
        response = self.browser.post(path, **kw)
        self.bodies.append(response.get_data(as_text=True))
        assert response.status_code != 500, response.get_data(as_text=True)
        return response

    def who(self) -> Dict[str, Any]:
        return self.get("/").get_json()  # type: ignore[no-any-return]

    def session(self) -> Dict[str, Any]:
        with self.browser.session_transaction() as stored:
            return dict(stored)

    # -- users and the phone ----------------------------------------------------------------
    def user(self, name: str, phone: bool = True) -> User:
        user = User(str(len(self.users) + 1), name)
        self.users[user.id] = user
        if phone:
            self.client().add_user(user.deviceauth_id)
            self.service.register_device(user.deviceauth_id)
        return user

    def client(self) -> activeconnect.Client:
        return activeconnect.Client(self.service.id, self.service.secret, base_url=self.emulator.url, timeout=5.0)

    def start(self, user: User, **form: str) -> Any:
        return self.post("/deviceauth/signin", data={"username": user.name, **form})

    def token(self, user: User) -> str:
        return self.service.session_token(user.deviceauth_id)

    def phone(self, user: User, status: str) -> None:
        self.emulator.call("POST", f"/_emulator/sessions/{self.token(user)}/status", {"status": status})

    def sign_in(self, user: User) -> None:
        assert self.start(user).status_code == 302
        self.phone(user, "active")
        progress = self.get("/deviceauth/status").get_json()
        assert progress["state"] == "approved", progress
        assert self.who()["user"] == user.name

    def stored_status(self, user: User) -> Optional[activeconnect.Status]:
        """The status the monitors last wrote into the store."""
        settings = self.deviceauth_settings()
        assert settings.store is not None
        with activeconnect.Monitor(self.client(), store=settings.store, seal_key=settings.seal_key, polling=False) as m:
            stored = m.status(self.token(user))
        return None if stored is None else stored.status

    def deviceauth_settings(self) -> web.Settings:
        with self.flask.app_context():
            return self.deviceauth.settings

    def close(self) -> None:
        state = self.flask.extensions["deviceauth"]
        if state._flow is not None:
            state._flow.close()


@pytest.fixture
def make_site(emulator: Emulator, app: App, tmp_path: Path) -> Iterator[Any]:
    sites: List[Site] = []

    def make(**config: Any) -> Site:
        site = Site(emulator, app, tmp_path / f"instance{len(sites)}", **config)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.close()


@pytest.fixture
def site(make_site: Any) -> Site:
    return make_site()


def until_signed_out(site: Site, seconds: float = 15.0) -> Dict[str, Any]:
    """Loads the home page until the user is signed out (the monitors notice a change
    within their interval); the page that noticed."""
    deadline = time.monotonic() + seconds
    while True:
        page = site.who()
        if page["user"] == "anonymous":
            return page
        assert time.monotonic() < deadline, "the user was never signed out"
        time.sleep(0.2)


def until_stored(site: Site, user: User, status: activeconnect.Status, seconds: float = 15.0) -> None:
    wait_until(lambda: site.stored_status(user) is status, timeout=seconds)


def until_service_status(site: Site, user: User, status: str, seconds: float = 10.0) -> None:
    def current() -> str:
        return next(s["status"] for s in site.service.sessions() if s["session_token"] == site.token(user))

    wait_until(lambda: current() == status, timeout=seconds)


# -- the sign-in --------------------------------------------------------------------------


def test_start_wait_approve_signs_in_with_flask_login(site: Site) -> None:
    alice = site.user("alice")
    started = site.start(alice)
    assert started.status_code == 302 and started.location.endswith("/deviceauth/wait")
    page = site.get("/deviceauth/wait")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'id="deviceauth-wait"' in page.text and 'data-events="/deviceauth/events"' in page.text
    assert "/deviceauth/static/deviceauth-wait.js" in page.text and "Check your phone, alice" in page.text
    script = site.get("/deviceauth/static/deviceauth-wait.js")
    assert script.status_code == 200 and script.get_data(as_text=True) == web.wait_script()

    progress = site.get("/deviceauth/status").get_json()
    pending = {"state": "pending", "status": "pending", "message": web.PROGRESS_MESSAGES["pending"], "done": False}
    assert progress == pending
    assert site.who()["user"] == "anonymous", "not signed in before the phone approves"

    site.phone(alice, "identifying")
    assert site.get("/deviceauth/status").get_json()["state"] == "identifying"
    site.phone(alice, "active")
    progress = site.get("/deviceauth/status").get_json()
    assert progress["state"] == "approved" and progress["done"] is True
    assert site.who()["user"] == "alice"
    stored = site.session()
    assert stored["_user_id"] == alice.id and "deviceauth.session" in stored
    assert not any(key in stored for key in ("deviceauth.pending", "deviceauth.user", "deviceauth.account"))
    cookie = site.browser.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 2000, "the sealed session fits a cookie easily"
    until_stored(site, alice, activeconnect.Status.ACTIVE)
    # The waiting page then goes to data-next: straight on to the home page.
    assert site.get("/deviceauth/finish").location == "/"


def test_finish_signs_in_after_the_stream_saw_the_approval(site: Site) -> None:
    """The SSE stream cannot set a cookie: the page's data-next route checks once more and
    signs in; it goes to the `next` the sign-in form carried, when it is a local path."""
    bob = site.user("bob")
    site.start(bob, next="/private")
    site.phone(bob, "active")
    finish = site.get("/deviceauth/finish")
    assert finish.status_code == 302 and finish.location == "/private"
    assert site.who()["user"] == "bob"

    carol = site.user("carol")
    site.post("/deviceauth/signout")
    site.start(carol, next="//evil.example/x")
    site.phone(carol, "active")
    assert site.get("/deviceauth/finish").location == "/", "no open redirect"


def test_sign_in_form_and_redirect_when_signed_in(site: Site) -> None:
    form = site.get("/deviceauth/signin?next=/private")
    assert form.status_code == 200 and 'name="username"' in form.text and 'value="/private"' in form.text
    dave = site.user("dave")
    site.sign_in(dave)
    assert site.get("/deviceauth/signin").location == "/"
    assert site.get("/deviceauth/wait").location == "/"


def test_sse_events_come_in_order_and_end_with_approved(site: Site) -> None:
    erin = site.user("erin")
    site.start(erin)

    def phone() -> None:
        time.sleep(1.5)
        site.phone(erin, "identifying")
        time.sleep(2.0)
        site.phone(erin, "active")

    answering = threading.Thread(target=phone)
    answering.start()
    started = time.monotonic()
    response = site.get("/deviceauth/events")  # the test client reads the stream to its end
    answering.join()
    assert response.mimetype == "text/event-stream" and response.headers["Cache-Control"] == "no-store"
    assert time.monotonic() - started < 15
    events = [block for block in response.get_data(as_text=True).split("\n\n") if block.strip()]
    progress = [json.loads(e.split("data: ", 1)[1]) for e in events if e.startswith("event: progress")]
    assert [p["state"] for p in progress] == ["pending", "identifying", "approved"], progress
    assert progress[-1]["done"] is True and progress[-1]["message"] == web.PROGRESS_MESSAGES["approved"]
    assert site.who()["user"] == "anonymous", "the stream itself signs nobody in"
    assert site.get("/deviceauth/finish").location == "/"
    assert site.who()["user"] == "erin"


def test_events_without_a_sign_in_end_at_once(site: Site) -> None:
    response = site.get("/deviceauth/events")
    assert response.get_data(as_text=True).startswith('event: progress\ndata: {"state":"ended"')
    assert site.get("/deviceauth/status").get_json()["state"] == "ended"


def test_refused_sign_in_is_explained(site: Site) -> None:
    frank = site.user("frank")
    site.start(frank)
    site.phone(frank, "deny")
    progress = site.get("/deviceauth/status").get_json()
    assert progress["state"] == "refused" and progress["done"] is True
    assert "deviceauth.pending" not in site.session()
    ended = site.get("/deviceauth/ended?state=refused")
    assert ended.status_code == 200
    assert 'data-state="refused"' in ended.text and web.PROGRESS_MESSAGES["refused"] in ended.text
    assert site.who()["user"] == "anonymous"
    weird = site.get("/deviceauth/ended?state=<script>")
    assert 'data-state="ended"' in weird.text and "<script>" not in weird.text.split("<main>")[1].split("</main>")[0]


def test_timed_out_sign_in_is_explained(site: Site) -> None:
    gina = site.user("gina")
    site.start(gina)
    site.phone(gina, "timeout")
    assert site.get("/deviceauth/status").get_json()["state"] == "timeout"
    assert web.PROGRESS_MESSAGES["timeout"] in site.get("/deviceauth/ended?state=timeout").text


def test_unknown_account_is_a_404_page_and_nothing_is_sent(site: Site) -> None:
    page = site.post("/deviceauth/signin", data={"username": "nobody"})
    assert page.status_code == 404
    assert "There is no account named &#34;nobody&#34;. Sign up first." in page.text
    hostile = site.post("/deviceauth/signin", data={"username": "<script>alert(1)</script>"})
    assert hostile.status_code == 404 and "<script>alert" not in hostile.text
    assert site.service.emulator.requests(site.service.path("authenticate_user")) == []
    site.start(site.user("known"))
    assert len(site.service.emulator.requests(site.service.path("authenticate_user"))) == 1, "the filter works"
    assert site.post("/deviceauth/signin", data={"username": "  "}).status_code == 400
    assert site.post("/deviceauth/signin", data={"username": "x" * 300}).status_code == 400


def test_user_without_a_phone_gets_a_409_page_with_the_registration_link(site: Site) -> None:
    hank = site.user("hank", phone=False)
    site.client().add_user(hank.deviceauth_id)
    page = site.start(hank)
    assert page.status_code == 409
    assert web.problem(deviceauth.NotStartedError("x", reason="NO_MOBILE_DEVICE"))[1] in page.text
    assert 'data-testid="register-now"' in page.text


def test_user_unknown_to_the_service_is_sent_to_register(site: Site) -> None:
    ian = site.user("ian", phone=False)  # never shown a registration link: not added to the service
    page = site.start(ian)
    assert page.status_code == web.problem(deviceauth.NotFoundError("unknown user"))[0]
    assert 'data-testid="register-now"' in page.text


def test_inactive_user_is_not_signed_in(site: Site) -> None:
    ivy = site.user("ivy")
    ivy.active = False
    site.start(ivy)
    site.phone(ivy, "active")
    progress = site.get("/deviceauth/status").get_json()
    assert progress["state"] == "ended"
    assert site.who()["user"] == "anonymous"
    until_service_status(site, ivy, "closed")


# -- the check on each request ---------------------------------------------------------------


def test_remote_logout_is_noticed_on_the_next_request(site: Site) -> None:
    jack = site.user("jack")
    site.sign_in(jack)
    until_stored(site, jack, activeconnect.Status.ACTIVE)
    site.phone(jack, "remote-logout")
    until_stored(site, jack, activeconnect.Status.CLOSED)
    page = site.who()
    assert page == {"user": "anonymous", "flashes": [web.SIGNED_OUT_MESSAGES["remote_logout"]]}
    assert "deviceauth.session" not in site.session() and "_user_id" not in site.session()


def test_remote_logout_without_a_store(make_site: Any) -> None:
    site = make_site(store="none")
    assert site.deviceauth_settings().store is None
    kate = site.user("kate")
    site.sign_in(kate)
    assert site.who()["user"] == "kate"
    site.phone(kate, "remote-logout")
    assert site.who() == {"user": "anonymous", "flashes": [web.SIGNED_OUT_MESSAGES["remote_logout"]]}


@pytest.mark.parametrize("store", ["default", "none"])
def test_walkaway_signs_out_by_default(make_site: Any, store: str) -> None:
    site = make_site() if store == "default" else make_site(store="none")
    liam = site.user("liam")
    site.sign_in(liam)
    site.phone(liam, "walkaway")
    page = until_signed_out(site)
    assert page["flashes"] == [web.SIGNED_OUT_MESSAGES["walkaway"]]
    until_service_status(site, liam, "closed")  # and the service session is logged out


@pytest.mark.parametrize("store", ["default", "none"])
def test_walkaway_keep_stays_signed_in_until_closed(make_site: Any, store: str) -> None:
    site = make_site(walkaway="keep") if store == "default" else make_site(walkaway="keep", store="none")
    mia = site.user("mia")
    site.sign_in(mia)
    site.phone(mia, "walkaway")
    if store == "default":
        until_stored(site, mia, activeconnect.Status.WALKAWAY)
    for _ in range(3):
        assert site.who() == {"user": "mia", "flashes": []}
    until_service_status(site, mia, "walkaway")
    site.phone(mia, "remote-logout")
    assert until_signed_out(site)["flashes"] == [web.SIGNED_OUT_MESSAGES["remote_logout"]]


def test_walkaway_during_sign_in_counts_by_policy(make_site: Any) -> None:
    strict, lenient = make_site(), make_site(walkaway="keep")
    for site, state in ((strict, "ended"), (lenient, "approved")):
        user = site.user("nina" + state)
        site.start(user)
        site.phone(user, "walkaway")
        assert site.get("/deviceauth/status").get_json()["state"] == state


def test_fail_closed_signs_out_when_the_service_fails(make_site: Any) -> None:
    site = make_site(store="none")
    omar = site.user("omar")
    site.sign_in(omar)
    site.emulator.fault(STATUS_PATH, status=503, retry_after="0", count=1000)
    assert site.who() == {"user": "anonymous", "flashes": [web.SIGNED_OUT_MESSAGES["unavailable"]]}


def test_fail_open_keeps_the_user_signed_in(make_site: Any, caplog: pytest.LogCaptureFixture) -> None:
    site = make_site(store="none", fail_mode="open")
    pia = site.user("pia")
    site.sign_in(pia)
    site.emulator.fault(STATUS_PATH, status=503, retry_after="0", count=1000)
    with caplog.at_level("WARNING", logger="deviceauth.web"):
        assert site.who() == {"user": "pia", "flashes": []}
    assert any("fail mode open" in r.getMessage() for r in caplog.records)


def test_a_hung_service_costs_a_page_at_most_the_check_budget(make_site: Any) -> None:
    if "timeout" not in inspect.signature(activeconnect.Session.refresh).parameters:
        pytest.skip("Session.refresh(timeout=) is not in this build yet (core helper)")
    site = make_site(store="none")
    quinn = site.user("quinn")
    site.sign_in(quinn)
    site.emulator.fault(STATUS_PATH, delay_ms=60_000, count=1000)
    started = time.monotonic()
    page = site.who()
    assert time.monotonic() - started < 3.0
    assert page == {"user": "anonymous", "flashes": [web.SIGNED_OUT_MESSAGES["unavailable"]]}


def test_pages_stay_fast_with_a_store_while_the_service_hangs(site: Site) -> None:
    rosa = site.user("rosa")
    site.sign_in(rosa)
    until_stored(site, rosa, activeconnect.Status.ACTIVE)
    site.emulator.fault(STATUS_PATH, delay_ms=60_000, count=1000)
    for _ in range(3):
        started = time.monotonic()
        assert site.who()["user"] == "rosa"
        assert time.monotonic() - started < 1.0, "a page waited for the service"


def test_signing_in_as_someone_else_ends_the_first_session(site: Site) -> None:
    ada, bea = site.user("ada"), site.user("bea")
    site.sign_in(ada)
    site.sign_in(bea)
    assert site.who()["user"] == "bea"
    until_service_status(site, ada, "closed")
    until_service_status(site, bea, "active")


def test_user_logged_out_by_the_app_ends_the_service_session(site: Site) -> None:
    sam = site.user("sam")
    site.sign_in(sam)
    with site.browser.session_transaction() as stored:
        stored.pop("_user_id")  # what flask_login.logout_user() in the app's own view does
    assert site.who()["user"] == "anonymous"
    assert "deviceauth.session" not in site.session()
    until_service_status(site, sam, "closed")


# -- sign-out, registration -----------------------------------------------------------------


def test_sign_out_signs_out_of_the_app_and_the_service(site: Site) -> None:
    tara = site.user("tara")
    site.sign_in(tara)
    until_stored(site, tara, activeconnect.Status.ACTIVE)
    out = site.post("/deviceauth/signout")
    assert out.status_code == 302 and out.location == "/"
    assert site.who() == {"user": "anonymous", "flashes": ["You are signed out."]}
    until_service_status(site, tara, "closed")
    assert site.stored_status(tara) is None, "removed from the store"


def test_registration_page_needs_a_signed_in_or_just_signed_up_user(site: Site) -> None:
    assert site.get("/deviceauth/register").status_code == 403
    assert site.get("/deviceauth/register/status").status_code == 403
    signed_up = site.post("/signup/uma")
    assert signed_up.status_code == 302 and signed_up.location == "/deviceauth/register"
    page = site.get("/deviceauth/register")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "<svg" in page.text and 'data-registered="no"' in page.text
    link = re.search(r'data-testid="registration-link"[^>]*>([^<]+)<', page.text)
    assert link
    assert site.get("/deviceauth/register/status").get_json() == {"registered": False}
    uma = next(u for u in site.users.values() if u.name == "uma")
    site.service.emulator.call("POST", "/_emulator/register", {"link": link.group(1).replace("&amp;", "&")})
    assert site.get("/deviceauth/register/status").get_json() == {"registered": True}
    site.sign_in(uma)
    assert "deviceauth.signed_up" not in site.session()
    assert 'data-registered="yes"' in site.get("/deviceauth/register").text


# -- failures: never a 500 -------------------------------------------------------------------


def test_service_down_is_a_503_page(make_site: Any, emulator: Emulator, app: App) -> None:
    site = make_site(base_url="http://127.0.0.1:9", store="none")
    vic = site.user("vic", phone=False)
    page = site.start(vic)
    assert page.status_code == 503
    assert "The sign-in service cannot be reached right now. Try again in a moment." in page.text
    site.post("/signup/wes")
    assert site.get("/deviceauth/register").status_code == 503
    assert site.get("/deviceauth/register/status").status_code == 503


def test_service_errors_on_start_are_pages(site: Site) -> None:
    xena = site.user("xena")
    site.emulator.fault(site.service.path("authenticate_user", xena.deviceauth_id), status=503, count=1)
    page = site.start(xena)
    assert page.status_code == 502 and "The sign-in service answered with an error (HTTP)." in page.text


def test_wrong_credentials_are_a_502_page(make_site: Any) -> None:
    site = make_site(application_secret="wrong")
    yann = site.user("yann")
    page = site.start(yann)
    assert page.status_code == 502 and "refused this application&#39;s credentials" in page.text


def test_rate_limited_sign_ins_are_a_429_page(make_site: Any) -> None:
    if not hasattr(activeconnect.Client, "with_attempt_limit"):
        pytest.skip("Client.with_attempt_limit is not in this build yet (core helper)")
    site = make_site(attempts=2, attempt_window=60)
    zoe = site.user("zoe")
    assert site.start(zoe).status_code == 302
    assert site.start(zoe).status_code == 302
    before = len(site.service.emulator.requests(site.service.path("authenticate_user", zoe.deviceauth_id)))
    page = site.start(zoe)
    assert page.status_code == 429 and int(page.headers["Retry-After"]) >= 1
    assert re.search(r"Too many sign-in requests for this account. Try again in \d+ s.", page.text)
    after = len(site.service.emulator.requests(site.service.path("authenticate_user", zoe.deviceauth_id)))
    assert after == before, "nothing sent over the limit"


def test_nothing_secret_reaches_the_browser(site: Site) -> None:
    abe = site.user("abe")
    site.post("/signup/ben")
    site.get("/deviceauth/register")
    site.get("/deviceauth/register/status")
    site.start(abe)
    pending = site.session()["deviceauth.pending"]
    site.get("/deviceauth/wait")
    site.get("/deviceauth/status")
    site.phone(abe, "identifying")

    def approve() -> None:
        time.sleep(1.2)
        site.phone(abe, "active")

    threading.Thread(target=approve).start()
    site.get("/deviceauth/events")
    site.get("/deviceauth/finish")
    signed_in = site.session()["deviceauth.session"]
    site.get("/")
    site.post("/deviceauth/signout")

    settings = site.deviceauth_settings()
    session_json = json.loads(site.client().unseal(signed_in, settings.seal_key).to_json())
    secrets = [site.service.secret, settings.seal_key.hex(), pending, signed_in, site.token(abe)]
    secrets += [v for v in session_json.values() if isinstance(v, str) and len(v) >= 16]
    assert len(site.bodies) >= 9
    for body in site.bodies:
        for secret in secrets:
            assert secret not in body
    assert "seal" not in repr(settings) and site.service.secret not in repr(settings)


# -- settings, import, model mixin -------------------------------------------------------------


def test_settings_come_from_config_and_keywords(emulator: Emulator, app: App, tmp_path: Path) -> None:
    base = flask.Flask(__name__, instance_path=str(tmp_path))
    base.config.update(SECRET_KEY="k", DEVICEAUTH_APP_ID=app.id, DEVICEAUTH_APP_SECRET=app.secret)
    ext = DeviceAuth(base, walkaway="keep", check_budget="1.5", url_prefix="/auth")
    with base.app_context():
        settings = ext.settings
    assert (settings.application_id, settings.walkaway, settings.check_budget) == (app.id, "keep", 1.5)
    assert settings.seal_key == web.derive_seal_key("k")
    assert settings.store == f"sqlite://{tmp_path.resolve()}/deviceauth.db"
    assert {r.rule for r in base.url_map.iter_rules()} >= {"/auth/signin", "/auth/wait", "/auth/events"}

    for bad in ({"DEVICEAUTH_WALKAWAY": "maybe"}, {"DEVICEAUTH_FAIL_MODE": "ajar"}, {"DEVICEAUTH_CHECK_BUDGET": "x"},
                {"DEVICEAUTH_SEAL_KEY": "abc"}, {"DEVICEAUTH_EVENTS": "perhaps"}):  # fmt: skip
        broken = flask.Flask(__name__, instance_path=str(tmp_path))
        broken.config.update(SECRET_KEY="k", DEVICEAUTH_APP_ID=app.id, DEVICEAUTH_APP_SECRET=app.secret, **bad)
        with pytest.raises(deviceauth.InvalidArgumentError, match=next(iter(bad))):
            DeviceAuth(broken)
    with pytest.raises(TypeError, match="walk_away"):
        DeviceAuth(walk_away="keep")


def test_events_can_be_turned_off(make_site: Any) -> None:
    site = make_site(events=False)
    amy = site.user("amy")
    site.start(amy)
    assert 'data-events=""' in site.get("/deviceauth/wait").text


def test_import_without_flask_names_the_extra() -> None:
    code = "import sys; sys.modules['flask'] = None\ntry:\n import deviceauth.flask\nexcept ImportError as e: print(e)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "pip install deviceauth[flask]" in out


def test_mixin_with_sqlalchemy_declarative() -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")
    from sqlalchemy.orm import DeclarativeBase, Session, mapped_column

    from deviceauth.flask import DeviceAuthUserMixin

    class Base(DeclarativeBase):
        pass

    class Person(DeviceAuthUserMixin, Base):
        __tablename__ = "person"
        id = mapped_column(sqlalchemy.Integer, primary_key=True)

    class Robot(DeviceAuthUserMixin, Base):
        __tablename__ = "robot"
        id = mapped_column(sqlalchemy.Integer, primary_key=True)

    engine = sqlalchemy.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        db.add_all([Person(), Person(), Robot()])
        db.commit()
        ids = db.scalars(sqlalchemy.select(Person.deviceauth_id)).all()
    assert len(set(ids)) == 2 and all(len(i) >= 24 for i in ids)
    assert Person.__table__.c.deviceauth_id.unique and Robot.__table__.c.deviceauth_id is not None
    with Session(engine) as db, pytest.raises(sqlalchemy.exc.IntegrityError):
        db.add_all([Person(deviceauth_id="same"), Person(deviceauth_id="same")])
        db.commit()


def test_mixin_with_flask_sqlalchemy(tmp_path: Path) -> None:
    fsa = pytest.importorskip("flask_sqlalchemy")
    from deviceauth.flask import DeviceAuthUserMixin

    db = fsa.SQLAlchemy()

    class Member(DeviceAuthUserMixin, UserMixin, db.Model):  # type: ignore[name-defined,misc]
        id = db.Column(db.Integer, primary_key=True)

    flask_app = flask.Flask(__name__, instance_path=str(tmp_path))
    flask_app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    db.init_app(flask_app)
    with flask_app.app_context():
        db.create_all()
        db.session.add(Member())
        db.session.commit()
        assert db.session.scalars(db.select(Member.deviceauth_id)).one()
