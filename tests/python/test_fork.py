"""Clients made before os.fork() work in the child (gunicorn preforks)."""

from __future__ import annotations

import asyncio
import os
import sys
import time

import pytest

from deviceauth import activeconnect, projectinsight
from deviceauth.activeconnect import Status

from conftest import App, Emulator

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="fork safety is checked on Linux")


def run_in_child(body: "object") -> int:
    """Runs `body()` in a forked child; its exit code (0 when it returned True)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            code = 0 if body() is True else 2  # type: ignore[operator]
        except BaseException as error:  # noqa: BLE001
            print(f"child failed: {error!r}", file=sys.stderr, flush=True)
            code = 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the child hung")
        time.sleep(0.02)


def test_sync_clients_work_after_fork(emulator: Emulator, app: App, client: activeconnect.Client, phone_user: str) -> None:
    pi = projectinsight.Client(emulator.pi_url)
    assert client.has_registered_mobile_device(phone_user) is True  # the parent's pool has a connection
    session = client.authenticate_user(phone_user)
    changes = session.watch(interval=0.05)
    pi.create_device_activation("cli/1.0")

    def child() -> bool:
        assert client.has_registered_mobile_device(phone_user) is True
        assert session.refresh() is Status.PENDING
        app.emulator.session_action(app.session_token(phone_user), "approve")
        assert next(changes) is Status.ACTIVE
        assert pi.create_device_activation("cli/1.0").id
        return True

    assert run_in_child(child) == 0
    # The parent goes on with its own runtime and pool.
    assert client.has_registered_mobile_device(phone_user) is True
    assert session.refresh() is Status.ACTIVE


def test_async_clients_work_after_fork(emulator: Emulator, app: App, aclient: activeconnect.AsyncClient, phone_user: str) -> None:
    async def parent_calls() -> bool:
        return await aclient.has_registered_mobile_device(phone_user)

    assert asyncio.run(parent_calls()) is True

    def child() -> bool:
        async def calls() -> bool:
            session = await aclient.authenticate_user(phone_user)
            return await aclient.has_registered_mobile_device(phone_user) and session.status is Status.PENDING

        return asyncio.run(calls())

    assert run_in_child(child) == 0
    assert asyncio.run(parent_calls()) is True
