"""pytest plugin of deviceauth: the fixture ``deviceauth_emulator``.

Installed with the package (entry point ``pytest11``), so any test can ask for it::

    def test_sign_in(deviceauth_emulator):
        emu = deviceauth_emulator                  # a started deviceauth.testing.Emulator
        client = activeconnect.Client(emu.application_id, emu.application_secret,
                                      base_url=emu.base_url)
        ...

Each test gets its own emulator (a child process on a free loopback port, about a tenth
of a second to start), stopped after the test. Options per test with a marker, taking the
keyword arguments of :class:`deviceauth.testing.Emulator`::

    @pytest.mark.deviceauth_emulator(approve_after_ms=200)
    def test_auto_approved(deviceauth_emulator): ...

``deviceauth_emulator_factory`` starts more (or differently configured) emulators in one
test: ``emu = deviceauth_emulator_factory(tls=True)``; all are stopped after the test.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, List

import pytest

MARKER = "deviceauth_emulator"


def pytest_configure(config: Any) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): options of the deviceauth_emulator fixture "
        "(keyword arguments of deviceauth.testing.Emulator, e.g. approve_after_ms=200)",
    )


@pytest.fixture
def deviceauth_emulator_factory() -> Iterator[Callable[..., Any]]:
    """Call it with :class:`deviceauth.testing.Emulator`'s keyword arguments to start an
    emulator; every one started is stopped when the test ends."""
    from deviceauth.testing import Emulator  # imported late: loading the plugin stays cheap

    started: List[Emulator] = []

    def start(**options: Any) -> Emulator:
        emulator = Emulator(**options).start()
        started.append(emulator)
        return emulator

    try:
        yield start
    finally:
        for emulator in reversed(started):
            emulator.close()


@pytest.fixture
def deviceauth_emulator(request: Any, deviceauth_emulator_factory: Callable[..., Any]) -> Any:
    """A started :class:`deviceauth.testing.Emulator` with one application, stopped after
    the test. Configure it with ``@pytest.mark.deviceauth_emulator(**options)``."""
    marker = request.node.get_closest_marker(MARKER)
    options = dict(marker.kwargs) if marker is not None else {}
    return deviceauth_emulator_factory(**options)
