"""Ctrl-C interrupts blocking waits within about one 100 ms check, and stops the polling."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from typing import Callable

import pytest

from deviceauth import activeconnect

from conftest import App, Emulator

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to self is POSIX")


def interrupt_after(seconds: float) -> threading.Timer:
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def assert_interrupted_quickly(call: Callable[[], object]) -> None:
    started = time.monotonic()
    timer = interrupt_after(0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        timer.cancel()
    elapsed = time.monotonic() - started
    assert elapsed < 1.0, f"took {elapsed:.2f} s to notice Ctrl-C"


def test_ctrl_c_interrupts_wait(client: activeconnect.Client, app: App, emulator: Emulator, phone_user: str) -> None:
    session = client.authenticate_user(phone_user)
    status_path = f"/authentication/session_status/{app.session_token(phone_user)}"
    assert_interrupted_quickly(lambda: session.wait(timeout=600.0, interval=2.0))
    polled = len(emulator.requests(status_path))
    time.sleep(2.5)
    assert len(emulator.requests(status_path)) == polled, "the wait kept polling after Ctrl-C"
    assert session.status is activeconnect.Status.PENDING
    assert session.refresh() is activeconnect.Status.PENDING, "the session is still usable"


def test_ctrl_c_interrupts_watch(client: activeconnect.Client, phone_user: str) -> None:
    session = client.authenticate_user(phone_user)
    changes = session.watch(interval=2.0)
    assert_interrupted_quickly(lambda: next(changes))


def test_ctrl_c_interrupts_a_slow_request(client: activeconnect.Client, app: App, emulator: Emulator, phone_user: str) -> None:
    emulator.fault(app.path("has_registered_mobile_device", phone_user), delay_ms=3000)
    assert_interrupted_quickly(lambda: client.has_registered_mobile_device(phone_user))
