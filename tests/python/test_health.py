"""``Client.health()`` and ``AsyncClient.health()`` against the emulator: healthy, each
failure typed and named, and nothing sent but the one read-only request."""

from __future__ import annotations

import socket
import time

import pytest

import deviceauth
from deviceauth import activeconnect

from conftest import App, Emulator, quote

PROBE = activeconnect.HEALTH_PROBE_USER


def patient(app_id: str, secret: str, base_url: str) -> activeconnect.Client:
    """A client that would retry for a long time: the health check must not."""
    policy = deviceauth.RetryPolicy(max_attempts=100, initial_backoff=0.05, max_backoff=0.1, deadline=60.0)
    return activeconnect.Client(app_id, secret, base_url=base_url, timeout=30.0, retry=policy)


def test_a_reachable_service_that_accepts_the_credentials_is_healthy(
    emulator: Emulator, client: activeconnect.Client
) -> None:
    health = client.health()
    assert isinstance(health, activeconnect.Health)
    assert health.origin == emulator.url
    assert 0 < health.latency < activeconnect.DEFAULT_HEALTH_BUDGET == 3.0


async def test_the_async_client_is_healthy(emulator: Emulator, aclient: activeconnect.AsyncClient) -> None:
    health = await aclient.health(timeout=2.0)
    assert health.origin == emulator.url and health.latency > 0


def test_health_sends_one_read_only_request_and_changes_nothing(
    emulator: Emulator, app: App, client: activeconnect.Client
) -> None:
    emulator.call("DELETE", "/_emulator/requests")
    client.health()
    probe = app.path("has_registered_mobile_device", PROBE)
    assert emulator.requests("/") == [{"method": "GET", "path": probe, "status": 404}]
    assert emulator.call("GET", f"/_emulator/apps/{quote(app.id)}/users") == [], "no user was added"
    assert app.sessions() == [] and app.sms() == [], "no sign-in, no SMS"


def test_a_wrong_secret_is_unauthorized_naming_the_secret(emulator: Emulator, app: App) -> None:
    with pytest.raises(deviceauth.UnauthorizedError) as caught:
        patient(app.id, "wrong-secret-value", emulator.url).health()
    assert caught.value.code == "UNAUTHORIZED" and caught.value.status == 401
    text = str(caught.value)
    assert "check the application id and secret" in text and app.id in text
    assert "wrong-secret-value" not in text and app.secret not in text
    assert len(emulator.requests(app.path("has_registered_mobile_device", PROBE))) == 1


async def test_a_wrong_secret_is_unauthorized_async(emulator: Emulator, app: App) -> None:
    client = activeconnect.AsyncClient(app.id, "wrong-secret-value", base_url=emulator.url)
    with pytest.raises(deviceauth.UnauthorizedError):
        await client.health()


def test_an_unknown_application_is_unauthorized_naming_it(emulator: Emulator, app: App) -> None:
    with pytest.raises(deviceauth.UnauthorizedError, match='does not know application "NO-SUCH-APP"'):
        patient("NO-SUCH-APP", app.secret, emulator.url).health()


def test_a_service_that_is_down_is_a_transport_error_naming_the_origin() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        origin = "http://127.0.0.1:%d" % listener.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(deviceauth.TransportError, match=f"could not connect to {origin}"):
        patient("APP", "secret", origin).health()
    assert time.monotonic() - started < 0.5, "not retried"


def test_a_hung_service_times_out_at_the_budget(emulator: Emulator, app: App) -> None:
    emulator.fault(app.path("has_registered_mobile_device", PROBE), delay_ms=10_000, count=10)
    started = time.monotonic()
    with pytest.raises(deviceauth.TimeoutError, match=f"{emulator.url} within 500 ms"):
        patient(app.id, app.secret, emulator.url).health(timeout=0.5)
    assert 0.45 <= time.monotonic() - started < 1.5


async def test_a_hung_service_times_out_at_the_budget_async(emulator: Emulator, app: App) -> None:
    emulator.fault(app.path("has_registered_mobile_device", PROBE), delay_ms=10_000, count=10)
    client = activeconnect.AsyncClient(app.id, app.secret, base_url=emulator.url, timeout=30.0)
    started = time.monotonic()
    with pytest.raises(deviceauth.TimeoutError):
        await client.health(timeout=0.5)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize("timeout", [0.0, -1.0, float("nan"), 1e12])
def test_bad_budgets_are_refused_before_any_request(emulator: Emulator, app: App, timeout: float) -> None:
    with pytest.raises(deviceauth.InvalidArgumentError):
        activeconnect.Client(app.id, app.secret, base_url=emulator.url).health(timeout=timeout)
    assert emulator.requests(app.path("has_registered_mobile_device", PROBE)) == []
