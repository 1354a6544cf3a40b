"""What the web layer relies on from the core: the per-user attempt limit
(``Client.with_attempt_limit``: at most N sign-in requests per user and window, counted in a
store shared by every process, the one over the limit refused before anything is sent) and
the budgeted status check (``Session.refresh(timeout=...)``: TIMEOUT once the budget has
passed, whatever the retry policy, the session unchanged and usable afterwards).

Against the emulator and real stores: memory and SQLite always; Postgres and Redis from
DEVICEAUTH_TEST_POSTGRES_URL and DEVICEAUTH_TEST_REDIS_URL (`source tests/store/servers.sh`),
skipped when unset, failing when unset but DEVICEAUTH_TEST_STORES_REQUIRED=1."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

import deviceauth
from deviceauth import InvalidArgumentError, RateLimitedError, StoreError, activeconnect
from deviceauth.activeconnect import Status

from conftest import App, Emulator, store_server_url

SEAL_KEY = bytes(range(1, 33))
STATUS_PATH = "/authentication/session_status/"


def store_url(kind: str, folder: Path) -> str:
    if kind == "memory":
        return "memory"
    if kind == "sqlite":
        return f"sqlite://{folder / 'attempts.db'}"
    return store_server_url(kind)


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_url(str(request.param), tmp_path)


@pytest.fixture(params=["sqlite", "postgres", "redis"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store that two separately opened clients share (memory is one handle's own)."""
    return store_url(str(request.param), tmp_path)


def patient_client(emulator: Emulator, app: App) -> activeconnect.Client:
    """A client that would retry for a long time, with a long request timeout."""
    policy = deviceauth.RetryPolicy(max_attempts=100, initial_backoff=0.05, max_backoff=0.1, deadline=60.0)
    return activeconnect.Client(app.id, app.secret, base_url=emulator.url, timeout=30.0, retry=policy)


def patient_async_client(emulator: Emulator, app: App) -> activeconnect.AsyncClient:
    policy = deviceauth.RetryPolicy(max_attempts=100, initial_backoff=0.05, max_backoff=0.1, deadline=60.0)
    return activeconnect.AsyncClient(app.id, app.secret, base_url=emulator.url, timeout=30.0, retry=policy)


# ---------------------------------------------------------------- attempt limit


def test_the_request_over_the_limit_is_refused_and_not_sent(
    store: str, client: activeconnect.Client, app: App, emulator: Emulator, phone_user: str
) -> None:
    limited = client.with_attempt_limit(store, attempts=2, window=60, seal_key=SEAL_KEY)
    assert isinstance(limited, activeconnect.Client) and limited is not client
    assert limited.application_id == client.application_id and limited.base_url == client.base_url
    limited.authenticate_user(phone_user)
    limited.authenticate_user(phone_user)
    with pytest.raises(RateLimitedError) as caught:
        limited.authenticate_user(phone_user)
    error = caught.value
    assert error.code == "RATE_LIMITED" and isinstance(error, deviceauth.DeviceAuthError)
    assert error.retry_after is not None and 0 < error.retry_after <= 60, error.retry_after
    assert "try again in" in str(error)
    assert len(emulator.requests(app.path("authenticate_user", phone_user))) == 2, "the third was not sent"
    client.authenticate_user(phone_user)  # the original client has no limit
    assert len(emulator.requests(app.path("authenticate_user", phone_user))) == 3


def test_users_are_counted_apart(client: activeconnect.Client, app: App, phone_user: str) -> None:
    limited = client.with_attempt_limit("memory", attempts=1)
    limited.authenticate_user(phone_user)
    other = phone_user + "-other"
    client.add_user(other)
    app.register_device(other)
    limited.authenticate_user(other)
    with pytest.raises(RateLimitedError):
        limited.authenticate_user(phone_user)


def test_clients_on_one_store_share_the_count(
    shared_store: str, client: activeconnect.Client, app: App, emulator: Emulator, phone_user: str
) -> None:
    # Two clients, each opening the store itself (as two web workers would); seal_key is
    # optional for counting.
    first = client.with_attempt_limit(shared_store, attempts=2, window=60, seal_key=SEAL_KEY)
    other_process = activeconnect.Client(app.id, app.secret, base_url=emulator.url)
    second = other_process.with_attempt_limit(shared_store, attempts=2, window=60)
    first.authenticate_user(phone_user)
    second.authenticate_user(phone_user)
    for limited in (first, second):
        with pytest.raises(RateLimitedError) as caught:
            limited.authenticate_user(phone_user)
        assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert len(emulator.requests(app.path("authenticate_user", phone_user))) == 2


def test_the_window_ends(client: activeconnect.Client, phone_user: str, tmp_path: Path) -> None:
    limited = client.with_attempt_limit(f"sqlite://{tmp_path / 'a.db'}", attempts=1, window=0.5)
    limited.authenticate_user(phone_user)
    with pytest.raises(RateLimitedError) as caught:
        limited.authenticate_user(phone_user)
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 0.5
    time.sleep(caught.value.retry_after + 0.1)
    limited.authenticate_user(phone_user)


def test_defaults_come_from_the_core(client: activeconnect.Client, app: App, emulator: Emulator, phone_user: str) -> None:
    limited = client.with_attempt_limit("memory")
    for _ in range(5):
        limited.authenticate_user(phone_user)
    with pytest.raises(RateLimitedError) as caught:
        limited.authenticate_user(phone_user)
    assert caught.value.retry_after is not None and 590 < caught.value.retry_after <= 600
    assert len(emulator.requests(app.path("authenticate_user", phone_user))) == 5


@pytest.mark.parametrize(
    "store, options",
    [
        ("memory", {"attempts": 0}),
        ("memory", {"attempts": -1}),
        ("memory", {"window": -1}),
        ("memory", {"window": 0}),
        ("memory", {"window": float("nan")}),
        ("memory", {"window": 10**9}),
        ("ftp://example.com/x", {}),
        ("not a store", {}),
        ("memory", {"seal_key": b"short"}),
        ("sqlite:///tmp/x.db", {"seal_key": b"x" * 31}),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_sent(
    client: activeconnect.Client, app: App, emulator: Emulator, phone_user: str, store: str, options: dict
) -> None:
    with pytest.raises(InvalidArgumentError):
        client.with_attempt_limit(store, **options)
    assert emulator.requests(app.path("authenticate_user", phone_user)) == []


def test_an_unreachable_store_is_a_store_error(client: activeconnect.Client, tmp_path: Path) -> None:
    with pytest.raises(StoreError) as caught:
        client.with_attempt_limit(f"sqlite://{tmp_path / 'missing' / 'folder' / 'a.db'}")
    assert caught.value.code == "STORE"


def test_options_are_keyword_only(client: activeconnect.Client) -> None:
    with pytest.raises(TypeError):
        client.with_attempt_limit("memory", 2)  # type: ignore[misc]


async def test_async_client(aclient: activeconnect.AsyncClient, app: App, emulator: Emulator, phone_user: str) -> None:
    with pytest.raises(InvalidArgumentError):
        aclient.with_attempt_limit("memory", attempts=0)  # raises at once, no awaitable
    with pytest.raises(InvalidArgumentError):
        await aclient.with_attempt_limit("ftp://x")
    limited = await aclient.with_attempt_limit("memory", attempts=1, window=30)
    assert isinstance(limited, activeconnect.AsyncClient)
    session = await limited.authenticate_user(phone_user)
    assert isinstance(session, activeconnect.AsyncSession)
    with pytest.raises(RateLimitedError) as caught:
        await limited.authenticate_user(phone_user)
    assert caught.value.retry_after is not None and 0 < caught.value.retry_after <= 30
    assert len(emulator.requests(app.path("authenticate_user", phone_user))) == 1


# ---------------------------------------------------------------- budgeted status check


def test_default_check_budget() -> None:
    assert activeconnect.DEFAULT_CHECK_BUDGET == 2.0
    assert isinstance(activeconnect.DEFAULT_CHECK_BUDGET, float)


def test_a_hanging_status_check_times_out_at_the_budget(emulator: Emulator, app: App, phone_user: str) -> None:
    client = patient_client(emulator, app)
    session = client.authenticate_user(phone_user)
    emulator.session_action(session.session_token, "approve")
    emulator.fault(STATUS_PATH, delay_ms=5000, count=5)
    started = time.monotonic()
    with pytest.raises(deviceauth.TimeoutError) as caught:
        session.refresh(timeout=0.5)
    took = time.monotonic() - started
    assert caught.value.code == "TIMEOUT" and "no status within 500 ms" in str(caught.value)
    assert 0.45 <= took < 1.5, took
    assert session.status is Status.PENDING, "a time-out leaves the status as it was"
    emulator.call("DELETE", "/_emulator/faults")
    assert session.refresh(timeout=activeconnect.DEFAULT_CHECK_BUDGET) is Status.ACTIVE
    assert session.refresh() is Status.ACTIVE, "no timeout: as before"


def test_retried_failures_stop_at_the_budget(emulator: Emulator, app: App, phone_user: str) -> None:
    session = patient_client(emulator, app).authenticate_user(phone_user)
    emulator.fault(STATUS_PATH, status=503, retry_after="1", count=1000)
    started = time.monotonic()
    with pytest.raises(deviceauth.TimeoutError):
        session.refresh(timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert session.status is Status.PENDING


async def test_a_hanging_status_check_times_out_async(emulator: Emulator, app: App, phone_user: str) -> None:
    session = await patient_async_client(emulator, app).authenticate_user(phone_user)
    emulator.session_action(session.session_token, "approve")
    emulator.fault(STATUS_PATH, delay_ms=5000, count=5)
    started = time.monotonic()
    with pytest.raises(deviceauth.TimeoutError):
        await session.refresh(timeout=0.5)
    assert time.monotonic() - started < 1.5
    assert session.status is Status.PENDING
    emulator.call("DELETE", "/_emulator/faults")
    assert await session.refresh(timeout=2.0) is Status.ACTIVE


@pytest.mark.parametrize("timeout", [0, 0.0, -1, float("nan"), float("inf"), 10**12])
def test_bad_budgets_are_refused_before_any_request(
    client: activeconnect.Client, emulator: Emulator, phone_user: str, timeout: float
) -> None:
    session = client.authenticate_user(phone_user)
    before = len(emulator.requests(STATUS_PATH + session.session_token))
    with pytest.raises(InvalidArgumentError):
        session.refresh(timeout=timeout)
    assert len(emulator.requests(STATUS_PATH + session.session_token)) == before
