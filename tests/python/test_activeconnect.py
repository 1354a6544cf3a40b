"""The blocking Activeconnect client against the emulator: every call, hostile ids, resume."""

from __future__ import annotations

import json
import math

import pytest

import deviceauth
from deviceauth import activeconnect
from deviceauth.activeconnect import Method, Status

from conftest import App, Emulator

HOSTILE_IDS = [
    "a/b",
    "?",
    "#",
    "%",
    "+",
    "a b",
    "x?y=1&z#frag",
    "%2F..%2F",
    "ünïcødé",
    "日本語ユーザー",
    "😀 emoji",
    ("é/?#%+ " * 147)[:1024],  # 1 KB of characters that all need escaping
]


def test_add_and_delete_users(client: activeconnect.Client, app: App) -> None:
    added = client.add_users(["alice", "bob"])
    assert isinstance(added, activeconnect.AddedUsers)
    assert sorted(added.created) == ["alice", "bob"] and added.existing == []
    again = client.add_users(["alice", "carol"])
    assert again.created == ["carol"] and again.existing == ["alice"]
    dave = client.add_user("dave")
    assert dave.created == ["dave"] and dave.existing == []
    assert client.add_user("dave").existing == ["dave"]
    assert client.delete_users(["alice", "dave"]) is None
    with pytest.raises(deviceauth.NotFoundError) as caught:
        client.has_registered_mobile_device("alice")
    assert caught.value.status == 404 and caught.value.code == "NOT_FOUND"
    assert client.has_registered_mobile_device("bob") is False


def test_registration_link_and_device(client: activeconnect.Client, app: App, emulator: Emulator, user: str) -> None:
    client.add_user(user)
    link = client.device_registration_link(user, display_name=f"{user}@shop")
    assert link.startswith(emulator.url + "/_emulator/phone/")
    assert client.device_registration_link(user) == link
    assert client.has_registered_mobile_device(user) is False
    app.register_device(user)
    assert client.has_registered_mobile_device(user) is True
    new_link = client.lost_user_mobile_device(user)
    assert new_link.startswith(emulator.url) and new_link != link
    assert client.has_registered_mobile_device(user) is False


def test_send_registration_sms(client: activeconnect.Client, app: App, emulator: Emulator, user: str) -> None:
    client.add_user(user)
    assert client.send_registration_sms(user, "+15550100", display_name="Shop", message="Welcome") is None
    client.send_registration_sms(user, "+15550101")
    outbox = [m for m in app.sms() if m["user"] == user]
    assert [m["phone_number"] for m in outbox] == ["+15550100", "+15550101"]
    assert outbox[0]["display_name"] == "Shop" and outbox[0]["message"].startswith("Welcome")
    before = len(emulator.requests(app.path("send_registration_sms")))
    for bad in ["5550100", "+1", "+1 555 0100", "+1555010O"]:
        with pytest.raises(deviceauth.InvalidArgumentError):
            client.send_registration_sms(user, bad)
    with pytest.raises(deviceauth.InvalidArgumentError):
        client.send_registration_sms(user, "+15550100", display_name="  ")
    assert len(emulator.requests(app.path("send_registration_sms"))) == before, "bad values must not be sent"


def test_sign_in_wait_watch_and_logout(client: activeconnect.Client, app: App, phone_user: str) -> None:
    session = client.authenticate_user(phone_user)
    assert isinstance(session, activeconnect.Session)
    assert session.user == phone_user
    assert session.status is Status.PENDING and session.raw_status == "pending"
    assert session.refresh() is Status.PENDING
    token = app.session_token(phone_user)
    assert app.sessions()[-1]["status"] == "pending"
    app.emulator.session_action(token, "approve")
    assert session.wait(timeout=5.0, interval=0.05) is Status.ACTIVE
    assert session.status is Status.ACTIVE and session.status.is_authenticated

    changes = session.watch(interval=0.05)
    assert iter(changes) is changes
    app.emulator.session_action(token, "walkaway")
    assert next(changes) is Status.WALKAWAY
    app.emulator.session_action(token, "return")
    assert next(changes) is Status.ACTIVE
    app.emulator.session_action(token, "remote-logout")
    assert next(changes) is Status.CLOSED
    with pytest.raises(StopIteration):
        next(changes)
    assert session.status is Status.CLOSED
    assert list(session.watch(interval=0.05)) == [], "an ended session yields nothing"

    second = client.authenticate_user(phone_user, methods=[Method.ACCEPTANCE, "facial"], duration_seconds=600)
    app.emulator.session_action(app.session_token(phone_user), "approve")
    assert second.wait(timeout=5.0, interval=0.05) is Status.ACTIVE
    assert second.logout() is True
    assert second.status is Status.CLOSED
    assert second.logout() is False


def test_watch_yields_each_change_in_a_loop(client: activeconnect.Client, app: App, phone_user: str) -> None:
    session = client.authenticate_user(phone_user)
    token = app.session_token(phone_user)
    seen = []
    actions = iter(["approve", "walkaway", "expire"])
    app.emulator.session_action(token, next(actions))
    for status in session.watch(interval=0.05):
        seen.append(status)
        action = next(actions, None)
        if action:
            app.emulator.session_action(token, action)
    assert seen == [Status.ACTIVE, Status.WALKAWAY, Status.CLOSED]


@pytest.mark.parametrize(
    ("action", "expected"),
    [("deny", Status.FAILED), ("cancel", Status.CANCELLED), ("expire", Status.TIMEOUT)],
)
def test_wait_ends_how_the_phone_answers(
    client: activeconnect.Client, app: App, phone_user: str, action: str, expected: Status
) -> None:
    session = client.authenticate_user(phone_user)
    app.emulator.session_action(app.session_token(phone_user), action)
    status = session.wait(timeout=5.0, interval=0.05)
    assert status is expected and status.is_ended and not status.is_authenticated
    assert session.refresh() is expected, "an ended status is final"


def test_wait_times_out(client: activeconnect.Client, phone_user: str) -> None:
    session = client.authenticate_user(phone_user)
    with pytest.raises(deviceauth.TimeoutError) as caught:
        session.wait(timeout=0.3, interval=0.05)
    assert isinstance(caught.value, TimeoutError) and caught.value.code == "TIMEOUT"
    assert "pending" in str(caught.value)


def test_not_started_without_a_phone(client: activeconnect.Client, user: str) -> None:
    client.add_user(user)
    with pytest.raises(deviceauth.NotStartedError) as caught:
        client.authenticate_user(user)
    assert caught.value.reason == "NO_MOBILE_DEVICE"
    assert caught.value.code == "NOT_STARTED" and caught.value.status is None


def test_unknown_application_and_wrong_secret(emulator: Emulator, app: App) -> None:
    stranger = activeconnect.Client("no-such-app", "whatever", base_url=emulator.url)
    with pytest.raises(deviceauth.NotFoundError) as not_found:
        stranger.add_users(["u"])
    assert not_found.value.status == 404
    forger = activeconnect.Client(app.id, "not-the-secret", base_url=emulator.url)
    with pytest.raises(deviceauth.UnauthorizedError) as unauthorized:
        forger.add_users(["u"])
    assert unauthorized.value.status == 401 and "not-the-secret" not in str(unauthorized.value)


def test_resume_round_trips(client: activeconnect.Client, app: App, phone_user: str) -> None:
    session = client.authenticate_user(phone_user)
    text = session.to_json()
    data = json.loads(text)
    assert data["user"] == phone_user and data["status"] == "pending"
    assert data["session_secret"] and data["session_token"]
    for stored in (text, data):
        resumed = client.resume(stored)
        assert resumed.user == phone_user and resumed.status is Status.PENDING
    app.emulator.session_action(app.session_token(phone_user), "approve")
    assert client.resume(text).refresh() is Status.ACTIVE
    assert session.status is Status.PENDING, "a resumed session has its own state"

    secret = data["session_secret"]
    for broken in ("{", "[]", json.dumps({**data, "status_url": 5}), json.dumps({k: v for k, v in data.items() if k != "session_token"})):
        with pytest.raises(deviceauth.InvalidArgumentError) as caught:
            client.resume(broken)
        assert secret not in str(caught.value)
    with pytest.raises(deviceauth.InvalidArgumentError, match="session_token"):
        client.resume({k: v for k, v in data.items() if k != "session_token"})
    with pytest.raises(TypeError):
        client.resume(42)  # type: ignore[arg-type]


def test_unknown_wire_status_is_kept_raw(client: activeconnect.Client, phone_user: str) -> None:
    data = json.loads(client.authenticate_user(phone_user).to_json())
    session = client.resume({**data, "status": "Quarantined"})
    assert session.status is Status.UNKNOWN and session.status.is_ended
    assert session.raw_status == "Quarantined"
    assert session.refresh() is Status.UNKNOWN, "an unknown status counts as ended: no poll"
    assert "Quarantined" in repr(session)


@pytest.mark.parametrize("user_id", HOSTILE_IDS, ids=lambda u: repr(u[:12]))
def test_hostile_user_ids_round_trip(client: activeconnect.Client, app: App, user_id: str) -> None:
    assert client.add_users([user_id]).created == [user_id]
    assert client.has_registered_mobile_device(user_id) is False
    assert client.device_registration_link(user_id, display_name=user_id)
    app.register_device(user_id)
    assert client.has_registered_mobile_device(user_id) is True
    session = client.authenticate_user(user_id)
    assert session.user == user_id
    assert [s["user"] for s in app.sessions()] == [user_id]
    app.emulator.session_action(app.session_token(user_id), "approve")
    assert session.wait(timeout=5.0, interval=0.05) is Status.ACTIVE
    assert client.resume(session.to_json()).user == user_id
    assert client.add_users([user_id]).existing == [user_id]


def test_bad_values_raise_before_any_request(emulator: Emulator, app: App, client: activeconnect.Client, phone_user: str) -> None:
    def sent() -> int:
        return len(emulator.requests("/management/")) + len(emulator.requests("/authentication/"))

    bad_calls = [
        lambda: client.add_users([]),
        lambda: client.add_users(["ok", ""]),
        lambda: client.delete_users([]),
        lambda: client.has_registered_mobile_device(""),
        lambda: client.has_registered_mobile_device(".."),
        lambda: client.lost_user_mobile_device("x" * (activeconnect.MAX_USER_ID_BYTES + 1)),
        lambda: client.device_registration_link("u", display_name=""),
        lambda: client.authenticate_user(phone_user, methods=["retina"]),
        lambda: client.authenticate_user(phone_user, duration_seconds=0),
        lambda: client.authenticate_user(phone_user, duration_seconds=-5),
        lambda: client.authenticate_user(phone_user, duration_seconds=2**40),
        lambda: activeconnect.Client("", "secret", base_url=emulator.url),
        lambda: activeconnect.Client("app id", "secret", base_url=emulator.url),
        lambda: activeconnect.Client("app", " ", base_url=emulator.url),
        lambda: activeconnect.Client("app", "secret", base_url="ftp://example.com"),
        lambda: activeconnect.Client("app", "secret", base_url="http://x/?q=1"),
        lambda: activeconnect.Client("app", "secret", base_url=emulator.url, timeout=0),
        lambda: activeconnect.Client("app", "secret", base_url=emulator.url, timeout=-1.0),
        lambda: activeconnect.Client("app", "secret", base_url=emulator.url, timeout=math.nan),
        lambda: activeconnect.Client("app", "secret", base_url=emulator.url, timeout=math.inf),
        lambda: deviceauth.RetryPolicy(max_attempts=0),
        lambda: deviceauth.RetryPolicy(deadline=0),
        lambda: deviceauth.RetryPolicy(initial_backoff=-1),
    ]
    session = client.authenticate_user(phone_user)
    before = sent()
    bad_calls += [
        lambda: session.wait(timeout=0),
        lambda: session.wait(interval=0),
        lambda: session.wait(interval=-2.0),
        lambda: session.watch(interval=0),
    ]
    for call in bad_calls:
        with pytest.raises(deviceauth.InvalidArgumentError) as caught:
            call()
        assert isinstance(caught.value, ValueError) and caught.value.code == "INVALID_ARGUMENT"
    assert sent() == before


def test_argument_types_stay_type_errors(client: activeconnect.Client) -> None:
    with pytest.raises(TypeError):
        client.has_registered_mobile_device(5)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.add_users("alice")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        client.authenticate_user("u", duration_seconds="10")  # type: ignore[arg-type]


def test_client_properties_and_retry_policy(emulator: Emulator, app: App) -> None:
    policy = deviceauth.RetryPolicy(max_attempts=2, initial_backoff=0.05, max_backoff=0.1, deadline=3.0)
    assert (policy.max_attempts, policy.initial_backoff, policy.max_backoff, policy.deadline) == (2, 0.05, 0.1, 3.0)
    assert policy == deviceauth.RetryPolicy(2, 0.05, 0.1, 3.0) and hash(policy) == hash(deviceauth.RetryPolicy(2, 0.05, 0.1, 3.0))
    assert deviceauth.RetryPolicy.never().max_attempts == 1
    client = activeconnect.Client(app.id, app.secret, base_url=emulator.url + "/", retry=policy, user_agent="tests/1.0")
    assert client.application_id == app.id
    assert client.base_url == emulator.url + "/"
    assert client.add_users(["u"]).created == ["u"]


def test_base_url_from_the_environment(emulator: Emulator, app: App, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(activeconnect.SERVER_ENV, emulator.url)
    client = activeconnect.Client(app.id, app.secret)
    assert client.base_url.rstrip("/") == emulator.url
    assert client.add_users(["from-env"]).created == ["from-env"]
    monkeypatch.delenv(activeconnect.SERVER_ENV)
    monkeypatch.delenv("IAMPASS_SERVER", raising=False)
    assert activeconnect.Client(app.id, app.secret).base_url.rstrip("/") == activeconnect.DEFAULT_BASE_URL


def test_clients_are_thread_safe(client: activeconnect.Client, phone_user: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.has_registered_mobile_device(phone_user), range(64)))
    assert results == [True] * 64
