"""The asyncio classes against the emulator: every call, async watch, cancellation."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Awaitable, List

import pytest

import deviceauth
from deviceauth import activeconnect, projectinsight
from deviceauth.activeconnect import Method, Status

from conftest import App, Emulator


async def act(app: App, user: str, action: str) -> None:
    """A phone action, off the event loop (the control API is called with blocking urllib)."""
    await asyncio.to_thread(lambda: app.emulator.session_action(app.session_token(user), action))


async def test_management_calls(aclient: activeconnect.AsyncClient, app: App, emulator: Emulator, user: str) -> None:
    added = await aclient.add_users([user, user + "-2"])
    assert sorted(added.created) == sorted([user, user + "-2"]) and added.existing == []
    assert (await aclient.add_user(user)).existing == [user]
    link = await aclient.device_registration_link(user, display_name="Shop")
    assert link.startswith(emulator.url)
    assert await aclient.has_registered_mobile_device(user) is False
    app.register_device(user)
    assert await aclient.has_registered_mobile_device(user) is True
    new_link = await aclient.lost_user_mobile_device(user)
    assert new_link != link and await aclient.has_registered_mobile_device(user) is False
    assert await aclient.send_registration_sms(user, "+15550100", display_name="Shop", message="Hi") is None
    assert [m["phone_number"] for m in app.sms()] == ["+15550100"]
    assert await aclient.delete_users([user + "-2"]) is None
    with pytest.raises(deviceauth.NotFoundError):
        await aclient.has_registered_mobile_device(user + "-2")
    assert aclient.application_id == app.id and aclient.base_url.rstrip("/") == emulator.url


async def test_sign_in_wait_watch_logout(aclient: activeconnect.AsyncClient, app: App, user: str) -> None:
    await aclient.add_user(user)
    app.register_device(user)
    session = await aclient.authenticate_user(user, methods=[Method.DEVICE], duration_seconds=120)
    assert isinstance(session, activeconnect.AsyncSession)
    assert session.user == user and session.status is Status.PENDING and session.raw_status == "pending"
    assert await session.refresh() is Status.PENDING
    await act(app, user, "approve")
    assert await session.wait(timeout=5.0, interval=0.05) is Status.ACTIVE

    changes = session.watch(interval=0.05)
    assert changes.__aiter__() is changes
    await act(app, user, "walkaway")
    assert await changes.__anext__() is Status.WALKAWAY
    await act(app, user, "return")
    seen: List[Status] = []
    async for status in changes:
        seen.append(status)
        if status is Status.ACTIVE:
            await act(app, user, "remote-logout")
    assert seen == [Status.ACTIVE, Status.CLOSED]
    with pytest.raises(StopAsyncIteration):
        await changes.__anext__()

    second = await aclient.authenticate_user(user)
    await act(app, user, "approve")
    assert await second.wait(timeout=5.0, interval=0.05) is Status.ACTIVE
    assert await second.logout() is True and second.status is Status.CLOSED
    assert await second.logout() is False

    resumed = aclient.resume(second.to_json())
    assert isinstance(resumed, activeconnect.AsyncSession)
    assert resumed.user == user and resumed.status is Status.CLOSED
    assert aclient.resume(json.loads(session.to_json())).status is Status.CLOSED


async def test_errors_are_the_same_exceptions(aclient: activeconnect.AsyncClient, app: App, user: str) -> None:
    await aclient.add_user(user)
    with pytest.raises(deviceauth.NotStartedError) as not_started:
        await aclient.authenticate_user(user)
    assert not_started.value.reason == "NO_MOBILE_DEVICE"
    with pytest.raises(deviceauth.InvalidArgumentError):
        await aclient.add_users([])
    with pytest.raises(deviceauth.InvalidArgumentError):
        aclient.authenticate_user(user, methods=["retina"])  # raised before any awaitable exists
    app.register_device(user)
    session = await aclient.authenticate_user(user)
    with pytest.raises(deviceauth.TimeoutError):
        await session.wait(timeout=0.2, interval=0.05)
    with pytest.raises(deviceauth.InvalidArgumentError):
        session.wait(interval=0)


async def test_many_calls_in_flight(aclient: activeconnect.AsyncClient, app: App, user: str) -> None:
    await aclient.add_user(user)
    app.register_device(user)
    results = await asyncio.gather(*[aclient.has_registered_mobile_device(user) for _ in range(200)])
    assert results == [True] * 200


async def test_cancelling_wait_stops_polling(aclient: activeconnect.AsyncClient, app: App, emulator: Emulator, user: str) -> None:
    await aclient.add_user(user)
    app.register_device(user)
    session = await aclient.authenticate_user(user)
    token = app.session_token(user)
    status_path = f"/authentication/session_status/{token}"

    async def waiting() -> Status:
        return await session.wait(timeout=60.0, interval=0.05)

    task = asyncio.ensure_future(waiting())
    await asyncio.sleep(0.5)
    polled = len(await asyncio.to_thread(emulator.requests, status_path))
    assert polled >= 3, "the wait polls while it runs"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await asyncio.sleep(0.2)  # a poll already on the wire may still land
    settled = len(await asyncio.to_thread(emulator.requests, status_path))
    await asyncio.sleep(0.6)
    assert len(await asyncio.to_thread(emulator.requests, status_path)) == settled, "polling went on after cancel"


async def test_cancelling_a_wait_for_timeout(aclient: activeconnect.AsyncClient, app: App, user: str) -> None:
    await aclient.add_user(user)
    app.register_device(user)
    session = await aclient.authenticate_user(user)
    started = time.monotonic()
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(session.wait(timeout=60.0, interval=5.0), timeout=0.3)
    assert time.monotonic() - started < 2.0


async def test_project_insight_async(api: projectinsight.AsyncClient, emulator: Emulator) -> None:
    pending = await api.create_device_activation(client_agent="tests/1.0", platform="Linux", device="Computer", ip_address="10.0.0.1", host_name="ci")
    assert isinstance(pending, projectinsight.PendingActivation)
    code = emulator.activation_code(pending.id)
    with pytest.raises(deviceauth.UnauthorizedError) as wrong:
        await api.complete_device_activation(pending.id, "000000" if code != "000000" else "111111", client_agent="tests/1.0")
    assert wrong.value.reason == "WRONG_CODE"
    done = await api.complete_device_activation(pending.id, code, client_agent="tests/1.0", timeout_minutes=60)
    assert isinstance(done, projectinsight.DeviceActivation) and done.api_token
    token_client = api.with_api_token(done.api_token)
    assert isinstance(token_client, projectinsight.AsyncApiClient)
    projects = await token_client.get("project/active")
    assert isinstance(projects, list) and projects
    with pytest.raises(deviceauth.HttpError) as not_allowed:
        await token_client.post("project/active", {"name": "x", "tags": [1, 2.5, None, True]})
    assert not_allowed.value.status == 405
    with pytest.raises(deviceauth.UnauthorizedError):
        await api.with_api_token("wrong-token").get("project/active")
    with pytest.raises(deviceauth.NotFoundError) as unknown:
        await api.complete_device_activation("no-such-request", "123456", client_agent="tests/1.0")
    assert unknown.value.reason == "UNKNOWN_REQUEST"
    assert api.base_url == emulator.pi_url + "/"


async def test_awaitables_run_concurrently(aclient: activeconnect.AsyncClient, emulator: Emulator, app: App, user: str) -> None:
    await aclient.add_user(user)
    emulator.fault(app.path("has_registered_mobile_device", user), delay_ms=400, count=10)
    started = time.monotonic()
    calls: List[Awaitable[Any]] = [aclient.has_registered_mobile_device(user) for _ in range(10)]
    assert await asyncio.gather(*calls) == [False] * 10
    assert time.monotonic() - started < 2.0, "ten 0.4 s calls must overlap"


async def test_bursts_of_calls_never_lose_a_result(aclient: activeconnect.AsyncClient, app: App, user: str) -> None:
    """Every result is delivered, however the completions race the event loop's wake-ups
    (a lost wake-up would hang here)."""
    await aclient.add_user(user)
    app.register_device(user)
    for _ in range(3):
        async def burst() -> None:
            for _ in range(20):
                assert await aclient.has_registered_mobile_device(user) is True

        await asyncio.wait_for(asyncio.gather(*(burst() for _ in range(100))), timeout=120)
