"""Injected faults surface as the right exception, retried only where that is safe."""

from __future__ import annotations

import socket
import time

import pytest

import deviceauth
from deviceauth import activeconnect, projectinsight

from conftest import App, Emulator


def fast_client(emulator: Emulator, app: App, timeout: float = 5.0) -> activeconnect.Client:
    policy = deviceauth.RetryPolicy(max_attempts=3, initial_backoff=0.05, max_backoff=0.1, deadline=10.0)
    return activeconnect.Client(app.id, app.secret, base_url=emulator.url, timeout=timeout, retry=policy)


def fast_async_client(emulator: Emulator, app: App, timeout: float = 5.0) -> activeconnect.AsyncClient:
    policy = deviceauth.RetryPolicy(max_attempts=3, initial_backoff=0.05, max_backoff=0.1, deadline=10.0)
    return activeconnect.AsyncClient(app.id, app.secret, base_url=emulator.url, timeout=timeout, retry=policy)


def statuses(emulator: Emulator, path: str) -> list:
    return [r["status"] for r in emulator.requests(path)]


def test_503_on_authenticate_user_is_not_retried(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_client(emulator, app)
    path = app.path("authenticate_user", phone_user)
    emulator.fault(path, status=503, retry_after="0", count=5)
    with pytest.raises(deviceauth.HttpError) as caught:
        client.authenticate_user(phone_user)
    assert caught.value.status == 503 and caught.value.code == "HTTP"
    assert statuses(emulator, path) == [503], "authenticate_user acts on the service: exactly one request"


async def test_503_on_authenticate_user_is_not_retried_async(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_async_client(emulator, app)
    path = app.path("authenticate_user", phone_user)
    emulator.fault(path, status=503, count=5)
    with pytest.raises(deviceauth.HttpError) as caught:
        await client.authenticate_user(phone_user)
    assert caught.value.status == 503
    assert statuses(emulator, path) == [503]


def test_503_on_an_idempotent_call_is_retried(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_client(emulator, app)
    path = app.path("has_registered_mobile_device", phone_user)
    emulator.fault(path, status=503, retry_after="0", count=2)
    assert client.has_registered_mobile_device(phone_user) is True
    assert statuses(emulator, path) == [503, 503, 200]
    emulator.fault(path, status=503, count=3)
    with pytest.raises(deviceauth.HttpError) as caught:
        client.has_registered_mobile_device(phone_user)
    assert caught.value.status == 503, "three attempts in all, then the last answer"


def test_dropped_connection_on_an_idempotent_call_is_retried(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_client(emulator, app)
    path = app.path("has_registered_mobile_device", phone_user)
    emulator.fault(path, drop=True)
    assert client.has_registered_mobile_device(phone_user) is True
    assert statuses(emulator, path) == [0, 200]


async def test_dropped_connection_on_an_idempotent_call_is_retried_async(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_async_client(emulator, app)
    path = app.path("device_registration_link", phone_user)
    emulator.fault(path, drop=True)
    assert (await client.device_registration_link(phone_user)).startswith(emulator.url)
    assert statuses(emulator, path) == [0, 200]


def test_dropped_connection_on_authenticate_user_is_a_transport_error(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_client(emulator, app)
    path = app.path("authenticate_user", phone_user)
    emulator.fault(path, drop=True)
    with pytest.raises(deviceauth.TransportError) as caught:
        client.authenticate_user(phone_user)
    assert caught.value.code == "TRANSPORT"
    assert statuses(emulator, path) == [0]


def test_malformed_answers_are_protocol_errors(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_client(emulator, app)
    emulator.fault(app.path("has_registered_mobile_device", phone_user), malformed=True)
    with pytest.raises(deviceauth.ProtocolError) as caught:
        client.has_registered_mobile_device(phone_user)
    assert caught.value.code == "PROTOCOL" and "not valid JSON" in str(caught.value)
    session = client.authenticate_user(phone_user)
    emulator.fault("/authentication/session_status/", malformed=True)
    with pytest.raises(deviceauth.ProtocolError):
        session.refresh()


async def test_malformed_answers_are_protocol_errors_async(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_async_client(emulator, app)
    emulator.fault(app.path("authenticate_user", phone_user), malformed=True)
    with pytest.raises(deviceauth.ProtocolError):
        await client.authenticate_user(phone_user)


def test_delay_past_the_timeout_on_authenticate_user(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_client(emulator, app, timeout=0.3)
    path = app.path("authenticate_user", phone_user)
    emulator.fault(path, delay_ms=1500)
    started = time.monotonic()
    with pytest.raises(deviceauth.TimeoutError) as caught:
        client.authenticate_user(phone_user)
    assert isinstance(caught.value, TimeoutError) and caught.value.code == "TIMEOUT"
    assert time.monotonic() - started < 1.2
    time.sleep(1.4)  # the emulator logs the request once it has answered it
    assert len(emulator.requests(path)) == 1, "a request that may have arrived is not sent again"


async def test_delay_past_the_timeout_async(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_async_client(emulator, app, timeout=0.3)
    emulator.fault(app.path("authenticate_user", phone_user), delay_ms=1500)
    with pytest.raises(deviceauth.TimeoutError):
        await client.authenticate_user(phone_user)


def test_delay_on_an_idempotent_call_is_retried(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_client(emulator, app, timeout=0.3)
    path = app.path("has_registered_mobile_device", phone_user)
    emulator.fault(path, delay_ms=1000)
    assert client.has_registered_mobile_device(phone_user) is True


def test_wait_rides_out_transient_poll_failures(emulator: Emulator, app: App, phone_user: str) -> None:
    client = fast_client(emulator, app)
    session = client.authenticate_user(phone_user)
    app.emulator.session_action(app.session_token(phone_user), "approve")
    emulator.fault("/authentication/session_status/", status=503, count=4)
    assert session.wait(timeout=10.0, interval=0.05) is activeconnect.Status.ACTIVE


def test_unreachable_server_is_a_transport_error(app: App) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = activeconnect.Client(app.id, app.secret, base_url=f"http://127.0.0.1:{port}", retry=deviceauth.RetryPolicy.never())
    with pytest.raises(deviceauth.TransportError) as caught:
        client.has_registered_mobile_device("u")
    assert "connect" in str(caught.value)
    pi = projectinsight.Client(f"http://127.0.0.1:{port}/api", retry=deviceauth.RetryPolicy.never())
    with pytest.raises(deviceauth.TransportError):
        pi.create_device_activation("tests/1.0")


def test_project_insight_faults(emulator: Emulator) -> None:
    pi = projectinsight.Client(emulator.pi_url, timeout=0.3, retry=deviceauth.RetryPolicy(max_attempts=3, initial_backoff=0.05, deadline=5))
    create = "/api/device-activation/create-request"
    emulator.fault(create, status=503)
    with pytest.raises(deviceauth.HttpError):
        pi.create_device_activation("tests/1.0")
    emulator.fault(create, malformed=True)
    with pytest.raises(deviceauth.ProtocolError):
        pi.create_device_activation("tests/1.0")
    emulator.fault(create, delay_ms=1000)
    with pytest.raises(deviceauth.TimeoutError):
        pi.create_device_activation("tests/1.0")
    pending = pi.create_device_activation("tests/1.0")
    code = emulator.activation_code(pending.id)
    emulator.fault("/api/device-activation/complete-request", drop=True)
    assert pi.complete_device_activation(pending.id, code, "tests/1.0").api_token


def test_watch_raises_a_failed_poll_and_goes_on(emulator: Emulator, app: App, phone_user: str) -> None:
    client = activeconnect.Client(app.id, app.secret, base_url=emulator.url, retry=deviceauth.RetryPolicy.never())
    session = client.authenticate_user(phone_user)
    token = app.session_token(phone_user)
    changes = session.watch(interval=0.05)
    emulator.fault(f"/authentication/session_status/{token}", status=503)
    with pytest.raises(deviceauth.HttpError) as caught:
        next(changes)
    assert caught.value.status == 503
    app.emulator.session_action(token, "approve")
    assert next(changes) is activeconnect.Status.ACTIVE, "a transient failure does not end the watch"
    emulator.fault(f"/authentication/session_status/{token}", status=401)
    with pytest.raises(deviceauth.UnauthorizedError):
        next(changes)
    with pytest.raises(StopIteration):
        next(changes)
    with pytest.raises(StopIteration):
        next(changes)


async def test_async_watch_raises_a_failed_poll_and_goes_on(emulator: Emulator, app: App, phone_user: str) -> None:
    client = activeconnect.AsyncClient(app.id, app.secret, base_url=emulator.url, retry=deviceauth.RetryPolicy.never())
    session = await client.authenticate_user(phone_user)
    token = app.session_token(phone_user)
    changes = session.watch(interval=0.05)
    emulator.fault(f"/authentication/session_status/{token}", malformed=True)
    with pytest.raises(deviceauth.ProtocolError):
        await changes.__anext__()
    with pytest.raises(StopAsyncIteration):
        await changes.__anext__()
