"""activeconnect.Monitor / AsyncMonitor with a store: any process adds sessions and reads
their status from the store, monitors (in this or another process) poll them, and every
change comes as an event with an id and the app's key. Against the emulator and real
stores: memory and SQLite always; Postgres and Redis from DEVICEAUTH_TEST_POSTGRES_URL and
DEVICEAUTH_TEST_REDIS_URL (`source tests/store/servers.sh`), failing when unset but
DEVICEAUTH_TEST_STORES_REQUIRED=1."""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
import textwrap
import time
import urllib.parse
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from deviceauth import InvalidArgumentError, StoreError, activeconnect
from deviceauth.activeconnect import MonitorEvent, Status, StoredStatus

from conftest import App, Emulator, store_server_url

KINDS = ["memory", "sqlite", "postgres", "redis"]
SEAL_KEY = bytes(range(100, 132))


def store_url(kind: str, folder: Path) -> str:
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return f"sqlite://{folder / 'sessions.db'}"
    return store_server_url(kind)


def password_of(url: str) -> str:
    return urllib.parse.unquote(urllib.parse.urlsplit(url).password or "")


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url(str(request.param), tmp_path)


def signed_in(client: activeconnect.Client, app: App, emulator: Emulator, user: str) -> activeconnect.Session:
    """`user` signed in (phone registered, sign-in approved): an ACTIVE session."""
    client.add_user(user)
    app.register_device(user)
    session = client.authenticate_user(user)
    emulator.session_action(session.session_token, "approve")
    assert session.refresh() is Status.ACTIVE
    return session


def wait_for_event(monitor: activeconnect.Monitor, key: str, timeout: float = 15.0) -> MonitorEvent:
    """The first event about `key` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in monitor.poll(timeout=0.5):
            if event.key == key:
                return event
    raise AssertionError(f"no event for {key!r} within {timeout} s")


def wait_for_status(monitor: activeconnect.Monitor, key: str, status: Status, timeout: float = 15.0) -> StoredStatus:
    deadline = time.monotonic() + timeout
    while True:
        stored = monitor.status(key)
        assert stored is not None
        if stored.status is status or time.monotonic() > deadline:
            assert stored.status is status, stored
            return stored
        time.sleep(0.1)


def assert_logout_event(event: MonitorEvent, session: activeconnect.Session, key: str) -> None:
    assert event.kind == "changed", event
    assert (event.previous, event.status) == (Status.ACTIVE, Status.CLOSED)
    assert event.user == session.user and event.session_token == session.session_token
    assert event.key == key and event.id and event.error is None
    assert event.at is not None and event.at.tzinfo is not None
    assert abs((datetime.datetime.now(datetime.timezone.utc) - event.at).total_seconds()) < 60


def test_a_remote_logout_reaches_the_store_and_the_events(
    store: str, client: activeconnect.Client, app: App, emulator: Emulator, user: str
) -> None:
    session = signed_in(client, app, emulator, user)
    key = "signin-" + os.urandom(4).hex()
    poller = activeconnect.Monitor(client, interval=0.2, store=store, seal_key=SEAL_KEY, lease=5)
    # memory is one process's own store: the same monitor adds and polls.
    web = poller if store == "memory" else activeconnect.Monitor(client, store=store, seal_key=SEAL_KEY, polling=False)
    with poller, web:
        assert web.poll(timeout=0) == []  # subscribes: events from now on
        assert web.add(session, key=key) is True
        assert web.add(session.to_json(), key=key) is False, "the key is taken"
        stored = web.status(key)
        assert stored is not None and stored.status is Status.ACTIVE and stored.watched and stored.error is None
        assert stored.updated_at.tzinfo is not None
        assert web.status("nobody") is None

        emulator.session_action(session.session_token, "remote-logout")
        event = wait_for_event(web, key)
        assert_logout_event(event, session, key)
        assert wait_for_status(web, key, Status.CLOSED).watched is False

        assert web.remove(key) is True
        assert web.remove(key) is False
        assert web.status(key) is None
    assert poller.closed and web.closed
    assert poller.poll(timeout=0) == [] and list(poller) == []


def test_the_key_defaults_to_the_session_token(
    tmp_path: Path, client: activeconnect.Client, app: App, emulator: Emulator, user: str
) -> None:
    session = signed_in(client, app, emulator, user)
    with activeconnect.Monitor(client, store=store_url("sqlite", tmp_path), seal_key=SEAL_KEY, polling=False) as web:
        assert web.add(session) is True
        stored = web.status(session.session_token)
        assert stored is not None and stored.status is Status.ACTIVE


POLLER = """
import sys, time
from deviceauth import activeconnect
url, app_id, secret, store, key = sys.argv[1:6]
client = activeconnect.Client(app_id, secret, base_url=url, timeout=5.0)
monitor = activeconnect.Monitor(client, interval=0.2, store=store, seal_key=bytes.fromhex(key), lease=5)
print("ready", flush=True)
sys.stdin.read()  # until the test closes our stdin
monitor.close()
"""


def test_a_monitor_in_another_process_polls_what_this_one_adds(
    tmp_path: Path, client: activeconnect.Client, app: App, emulator: Emulator, user: str
) -> None:
    store = store_url("sqlite", tmp_path)
    web = activeconnect.Monitor(client, store=store, seal_key=SEAL_KEY, polling=False)
    assert web.poll(timeout=0) == []
    args = [emulator.url, app.id, app.secret, store, SEAL_KEY.hex()]
    poller = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(POLLER), *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert poller.stdout is not None and poller.stdout.readline().strip() == "ready"
        session = signed_in(client, app, emulator, user)
        assert web.add(session, key="sign-in-1")
        emulator.session_action(session.session_token, "remote-logout")
        assert_logout_event(wait_for_event(web, "sign-in-1"), session, "sign-in-1")
        assert web.status("sign-in-1") == wait_for_status(web, "sign-in-1", Status.CLOSED)
    finally:
        assert poller.stdin is not None
        poller.stdin.close()
        assert poller.wait(timeout=30) == 0
        web.close()


async def test_async_monitor_with_a_store(
    tmp_path: Path, aclient: activeconnect.AsyncClient, client: activeconnect.Client, app: App, emulator: Emulator,
    user: str,
) -> None:  # fmt: skip
    store = store_url("sqlite", tmp_path)
    session = signed_in(client, app, emulator, user)
    poller = await activeconnect.AsyncMonitor.open(aclient, interval=0.2, store=store, seal_key=SEAL_KEY, lease=5)
    web = await activeconnect.AsyncMonitor.open(aclient, store=store, seal_key=SEAL_KEY, polling=False)
    assert await web.poll(timeout=0) == []
    assert await web.add(session, key="k1") is True
    stored = await web.status("k1")
    assert stored is not None and stored.status is Status.ACTIVE
    emulator.session_action(session.session_token, "remote-logout")
    event = await asyncio_wait_for_event(web, "k1")
    assert_logout_event(event, session, "k1")
    assert await web.remove("k1") is True
    poller.close()
    web.close()
    assert [event async for event in web] == []
    assert "AsyncMonitor(store='sqlite', closed" in repr(web)


async def asyncio_wait_for_event(monitor: activeconnect.AsyncMonitor, key: str, timeout: float = 15.0) -> MonitorEvent:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in await monitor.poll(timeout=0.5):
            if event.key == key:
                return event
    raise AssertionError(f"no event for {key!r}")


def test_async_monitor_constructor_with_a_store(tmp_path: Path, aclient: activeconnect.AsyncClient) -> None:
    monitor = activeconnect.AsyncMonitor(aclient, store=store_url("sqlite", tmp_path), seal_key=SEAL_KEY)
    assert repr(monitor).startswith("AsyncMonitor(store='sqlite', polling, interval=5.0")
    monitor.close()
    assert monitor.closed


def test_repeats_share_an_id_and_changes_differ(
    tmp_path: Path, client: activeconnect.Client, app: App, emulator: Emulator, user: str
) -> None:
    session = signed_in(client, app, emulator, user)
    with activeconnect.Monitor(client, interval=0.2, store="memory") as monitor:
        assert monitor.poll(timeout=0) == []
        assert monitor.add(session, key="k")
        emulator.session_action(session.session_token, "walkaway")
        first = wait_for_event(monitor, "k")
        emulator.session_action(session.session_token, "return")
        second = wait_for_event(monitor, "k")
        assert (first.status, second.status) == (Status.WALKAWAY, Status.ACTIVE)
        assert first.id != second.id
        assert repr(first).endswith(f"id={first.id!r})")


# ---------------------------------------------------------------- errors and secrets


def open_error(client: activeconnect.Client, store: str, **options: Any) -> BaseException:
    with pytest.raises(BaseException) as caught:
        activeconnect.Monitor(client, store=store, **{"seal_key": SEAL_KEY, **options})
    return caught.value


def assert_no_secret(error: BaseException, *secrets: str) -> None:
    shown = str(error) + repr(error) + repr(error.args)
    for secret in (*secrets, SEAL_KEY.hex(), repr(SEAL_KEY)):
        assert secret not in shown, shown


def test_a_wrong_postgres_password_is_unauthorized(client: activeconnect.Client) -> None:
    url = store_server_url("postgres")
    parts = urllib.parse.urlsplit(url)
    wrong = url.replace(f":{parts.password}@", ":not-the-password-x9@", 1)
    error = open_error(client, wrong)
    assert isinstance(error, StoreError) and error.code == "STORE" and error.reason == "UNAUTHORIZED", repr(error)
    assert_no_secret(error, "not-the-password-x9", password_of(url))


def test_a_wrong_redis_password_is_unauthorized(client: activeconnect.Client) -> None:
    url = store_server_url("redis")
    parts = urllib.parse.urlsplit(url)
    wrong = url.replace(f":{parts.password}@", ":not-the-password-x9@", 1)
    error = open_error(client, wrong)
    assert isinstance(error, StoreError) and error.reason == "UNAUTHORIZED", repr(error)
    assert_no_secret(error, "not-the-password-x9", password_of(url))


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://app:hunter2secret@127.0.0.1:1/db",
        "redis://:hunter2secret@127.0.0.1:1/0",
        "sqlite:///nonexistent-dir/x/y.db",
    ],
)
def test_an_unreachable_store(client: activeconnect.Client, url: str) -> None:
    error = open_error(client, url)
    assert isinstance(error, StoreError) and error.reason == "UNREACHABLE", repr(error)
    assert_no_secret(error, "hunter2secret")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/x", "not a url", "postgresql://u:hunter2secret@[::1/db", "sqlite:///x?namespace=1bad"]
)
def test_a_bad_url_is_an_invalid_argument(client: activeconnect.Client, url: str) -> None:
    error = open_error(client, url)
    assert isinstance(error, InvalidArgumentError), repr(error)
    assert_no_secret(error, "hunter2secret")


@pytest.mark.parametrize("seal_key", [None, b"", b"short", SEAL_KEY + b"x"])
def test_a_missing_or_wrong_seal_key_is_an_invalid_argument(
    tmp_path: Path, client: activeconnect.Client, seal_key: Optional[bytes]
) -> None:
    error = open_error(client, store_url("sqlite", tmp_path), seal_key=seal_key)
    assert isinstance(error, InvalidArgumentError), repr(error)
    assert "seal" in str(error)
    assert_no_secret(error)


def test_the_seal_key_and_the_password_never_show(client: activeconnect.Client, tmp_path: Path) -> None:
    monitor = activeconnect.Monitor(client, store=store_url("sqlite", tmp_path), seal_key=SEAL_KEY, polling=False)
    shown = repr(monitor)
    assert shown == (
        "Monitor(store='sqlite', not polling, interval=5.0, max_in_flight=100, unreachable_after=60.0, "
        "lease=60.0, batch=100)"
    )
    assert SEAL_KEY.hex() not in shown and str(tmp_path) not in shown


def test_options_that_do_not_fit(client: activeconnect.Client, tmp_path: Path) -> None:
    store = store_url("sqlite", tmp_path)
    with pytest.raises(InvalidArgumentError, match="shard"):
        activeconnect.Monitor(client, store=store, seal_key=SEAL_KEY, shard=(0, 2))
    bads: List[Dict[str, Any]] = [{"lease": 0}, {"batch": 0}, {"capacity": 0}, {"interval": -1}]
    for bad in bads:
        with pytest.raises(InvalidArgumentError):
            activeconnect.Monitor(client, store=store, seal_key=SEAL_KEY, **bad)
    with pytest.raises(InvalidArgumentError, match="need a store"):
        activeconnect.Monitor(client, seal_key=SEAL_KEY)
    with pytest.raises(InvalidArgumentError, match="need a store"):
        activeconnect.Monitor(client, polling=False)
    memory = activeconnect.Monitor(client)
    with pytest.raises(InvalidArgumentError, match="store"):
        memory.status("k")
    with pytest.raises(InvalidArgumentError, match="store"):
        memory.add("{}", key="k")
    stored = activeconnect.Monitor(client, store="memory")
    with pytest.raises(TypeError):
        len(stored)
    with pytest.raises(InvalidArgumentError):
        stored.status("")
    with pytest.raises(TypeError):
        activeconnect.Monitor("not a client", store="memory")  # type: ignore[arg-type]
    memory.close()
    stored.close()


def test_an_ended_session_is_refused(client: activeconnect.Client, app: App, emulator: Emulator, user: str) -> None:
    session = signed_in(client, app, emulator, user)
    session.logout()
    with activeconnect.Monitor(client, store="memory", polling=False) as monitor:
        with pytest.raises(InvalidArgumentError, match="already"):
            monitor.add(session)


def test_a_row_sealed_with_another_key_is_parked_not_polled(
    tmp_path: Path, client: activeconnect.Client, app: App, emulator: Emulator, user: str
) -> None:
    store = store_url("sqlite", tmp_path)
    session = signed_in(client, app, emulator, user)
    with activeconnect.Monitor(client, store=store, seal_key=SEAL_KEY, polling=False) as web:
        assert web.add(session, key="k")
        with activeconnect.Monitor(client, interval=0.2, store=store, seal_key=bytes(32)):
            deadline = time.monotonic() + 15
            while (stored := web.status("k")) is not None and stored.watched:
                assert time.monotonic() < deadline, "the row was not parked"
                time.sleep(0.1)
        assert stored is not None and stored.status is Status.ACTIVE
        assert stored.error is not None and stored.error.startswith("corrupt"), stored
        assert session.session_token not in stored.error


def test_a_bad_key_is_an_invalid_argument(tmp_path: Path, client: activeconnect.Client) -> None:
    with activeconnect.Monitor(client, store="memory", polling=False) as monitor:
        for key in ("", "a\nb", "x" * 513):
            with pytest.raises(InvalidArgumentError, match="session key"):
                monitor.status(key)


def test_store_errors_are_exported() -> None:
    import deviceauth

    assert deviceauth.StoreError is StoreError and StoreError.code == "STORE"
    assert "StoreError" in deviceauth.__all__ and "StoredStatus" in activeconnect.__all__
    assert issubclass(StoreError, deviceauth.DeviceAuthError)

