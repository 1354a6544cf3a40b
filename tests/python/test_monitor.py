"""activeconnect.Monitor / AsyncMonitor: one polling task for many sessions, each change
reported once, ended sessions dropped, shards without overlap, unreachable sessions
reported, Ctrl-C honoured, nothing secret in a repr."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time
from collections import defaultdict
from typing import Any, Callable, Dict, List, Sequence, Tuple, Union

import pytest

from deviceauth import DeviceAuthError, InvalidArgumentError, RetryPolicy, activeconnect
from deviceauth.activeconnect import MonitorEvent, Status

from conftest import App, Emulator

AnySession = Union[activeconnect.Session, activeconnect.AsyncSession]


def token_of(session: AnySession) -> str:
    return str(json.loads(session.to_json())["session_token"])


def active_sessions(client: activeconnect.Client, app: App, emulator: Emulator, count: int) -> List[activeconnect.Session]:
    """`count` fresh users signed in (their phones approved), each session ACTIVE."""
    users = [f"mon-{i}-{os.urandom(4).hex()}" for i in range(count)]
    client.add_users(users)
    sessions = []
    for user in users:
        app.register_device(user)
        session = client.authenticate_user(user)
        emulator.session_action(token_of(session), "approve")
        assert session.refresh() is Status.ACTIVE
        sessions.append(session)
    return sessions


def drain(monitor: activeconnect.Monitor, quiet: float = 1.0) -> List[MonitorEvent]:
    """Every event until `quiet` seconds pass with none."""
    seen: List[MonitorEvent] = []
    while True:
        ready = monitor.poll(timeout=quiet)
        if not ready:
            return seen
        seen.extend(ready)


def changes_by_token(events: Sequence[MonitorEvent]) -> Dict[str, List[Tuple[Status, Status]]]:
    changes: Dict[str, List[Tuple[Status, Status]]] = defaultdict(list)
    for event in events:
        assert event.kind == "changed", repr(event)
        assert event.previous is not None and event.status is not None and event.error is None
        changes[event.session_token].append((event.previous, event.status))
    return changes


def test_each_change_is_reported_once_and_ended_sessions_are_dropped(
    client: activeconnect.Client, app: App, emulator: Emulator
) -> None:
    sessions = active_sessions(client, app, emulator, 20)
    tokens = [token_of(s) for s in sessions]
    monitor = activeconnect.Monitor(client, interval=0.2, max_in_flight=8)
    for i, session in enumerate(sessions):
        # Every accepted form of a session: the object, its JSON text, the dict.
        form: Any = [session, session.to_json(), json.loads(session.to_json())][i % 3]
        assert monitor.add(form) is True
        assert monitor.add(session) is False, "added twice"
    assert len(monitor) == 20 and all(t in monitor for t in tokens)
    for token in tokens[:5]:
        emulator.session_action(token, "walkaway")
    for token in tokens[5:10]:
        emulator.session_action(token, "remote-logout")

    changes = changes_by_token(drain(monitor))

    assert set(changes) == set(tokens[:10]), "only the flipped sessions changed"
    for token in tokens[:5]:
        assert changes[token] == [(Status.ACTIVE, Status.WALKAWAY)]
        assert token in monitor
    for token in tokens[5:10]:
        assert changes[token] == [(Status.ACTIVE, Status.CLOSED)]
        assert token not in monitor, "an ended session is dropped"
    assert len(monitor) == 15
    users = {s.user for s in sessions[:10]}
    assert users == {s.user for s in sessions if token_of(s) in changes}

    # A walked-away user coming back is one more change.
    emulator.session_action(tokens[0], "return")
    again = changes_by_token(drain(monitor))
    assert again == {tokens[0]: [(Status.WALKAWAY, Status.ACTIVE)]}
    monitor.close()


def test_add_remove_and_close(client: activeconnect.Client, app: App, emulator: Emulator) -> None:
    sessions = active_sessions(client, app, emulator, 3)
    token = token_of(sessions[0])
    with activeconnect.Monitor(client, interval=0.2) as monitor:
        assert all(monitor.add(s) for s in sessions)
        assert monitor.remove(token) is True and monitor.remove(token) is False
        assert token not in monitor and len(monitor) == 2
        emulator.session_action(token, "remote-logout")
        assert drain(monitor, quiet=0.8) == [], "a removed session is not polled"
        assert monitor.poll(timeout=0) == []
    assert monitor.closed and len(monitor) == 0
    assert monitor.add(sessions[0]) is False, "a closed monitor takes nothing"
    assert list(monitor) == [], "iteration ends once closed"

    ended = client.resume(sessions[1].to_json())
    emulator.session_action(token_of(ended), "remote-logout")
    assert ended.refresh() is Status.CLOSED
    assert activeconnect.Monitor(client).add(ended) is False, "an ended session is not watched"


def test_run_calls_back_until_closed(client: activeconnect.Client, app: App, emulator: Emulator) -> None:
    (session,) = active_sessions(client, app, emulator, 1)
    monitor = activeconnect.Monitor(client, interval=0.2)
    monitor.add(session)
    seen: List[MonitorEvent] = []

    def on_change(event: MonitorEvent) -> None:
        seen.append(event)
        monitor.close()

    threading.Timer(0.3, emulator.session_action, (token_of(session), "walkaway")).start()
    monitor.run(on_change)
    assert [(e.user, e.previous, e.status) for e in seen] == [(session.user, Status.ACTIVE, Status.WALKAWAY)]


def test_shards_split_the_sessions_without_overlap(client: activeconnect.Client, app: App, emulator: Emulator) -> None:
    sessions = active_sessions(client, app, emulator, 20)
    tokens = {token_of(s) for s in sessions}
    monitors = [activeconnect.Monitor(client, interval=0.5, shard=(i, 4)) for i in range(4)]
    owned: List[set[str]] = []
    for index, monitor in enumerate(monitors):
        assert monitor.shard == (index, 4)
        owned.append({token_of(s) for s in sessions if monitor.add(s)})
        assert len(monitor) == len(owned[-1])
        assert all(activeconnect.shard_of(t, 4) == index for t in owned[-1])
    assert set().union(*owned) == tokens
    assert sum(len(o) for o in owned) == len(tokens), "a session is in two shards"
    # Pinned by the core: the first 8 bytes of SHA-256("abc"), big-endian, modulo count.
    assert activeconnect.shard_of("abc", 1000) == 0xBA7816BF8F01CFEA % 1000
    for monitor in monitors:
        monitor.close()


def test_bad_arguments(client: activeconnect.Client) -> None:
    with pytest.raises(InvalidArgumentError):
        activeconnect.Monitor(client, interval=0)
    with pytest.raises(InvalidArgumentError):
        activeconnect.Monitor(client, max_in_flight=0)
    with pytest.raises(InvalidArgumentError):
        activeconnect.Monitor(client, shard=(4, 4))
    with pytest.raises(InvalidArgumentError):
        activeconnect.shard_of("abc", 0)
    with pytest.raises(TypeError):
        activeconnect.Monitor("not a client")  # type: ignore[arg-type]
    monitor = activeconnect.Monitor(client)
    with pytest.raises(TypeError):
        monitor.add(42)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        monitor.add("{}")


def test_unreachable_sessions_are_reported_and_dropped(client: activeconnect.Client, app: App, emulator: Emulator) -> None:
    sessions = active_sessions(client, app, emulator, 3)
    failing = token_of(sessions[0])
    emulator.fault(f"/authentication/session_status/{failing}", status=503, count=1000)
    # No retry inside a poll: the monitor's own polls are the retries.
    once = activeconnect.Client(app.id, app.secret, base_url=emulator.url, retry=RetryPolicy.never())
    monitor = activeconnect.Monitor(once, interval=0.1, unreachable_after=0.5)
    for session in sessions:
        monitor.add(session)
    events = drain(monitor, quiet=1.5)
    assert [e.kind for e in events] == ["unreachable"], events
    (event,) = events
    assert event.session_token == failing and event.user == sessions[0].user
    assert event.previous is None and event.status is None
    assert isinstance(event.error, DeviceAuthError) and event.error.status == 503
    assert failing not in monitor and len(monitor) == 2, "reported, then dropped"


def test_repr_shows_no_secret(client: activeconnect.Client, app: App, emulator: Emulator) -> None:
    (session,) = active_sessions(client, app, emulator, 1)
    secret = str(json.loads(session.to_json())["session_secret"])
    monitor = activeconnect.Monitor(client, interval=0.2, shard=(0, 1))
    monitor.add(session)
    emulator.session_action(token_of(session), "walkaway")
    (event,) = drain(monitor)
    shown = [repr(monitor), repr(event), str(event)]
    assert shown[0] == "Monitor(sessions=1, interval=0.2, max_in_flight=100, unreachable_after=60.0, shard=(0, 1))"
    assert shown[1] == f"MonitorEvent(kind='changed', user={session.user!r}, previous='active', status='walkaway')"
    for text in shown:
        assert secret not in text and app.secret not in text
    monitor.close()
    assert "closed" in repr(monitor)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to self is POSIX")
@pytest.mark.parametrize("wait", ["next", "poll", "run"])
def test_ctrl_c_interrupts_a_blocking_wait_for_events(
    client: activeconnect.Client, app: App, emulator: Emulator, wait: str
) -> None:
    (session,) = active_sessions(client, app, emulator, 1)
    monitor = activeconnect.Monitor(client, interval=0.2)
    monitor.add(session)
    calls: Dict[str, Callable[[], object]] = {
        "next": lambda: next(monitor),
        "poll": lambda: monitor.poll(),
        "run": lambda: monitor.run(lambda event: None),
    }
    started = time.monotonic()
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            calls[wait]()
    finally:
        timer.cancel()
    assert time.monotonic() - started < 1.0, "Ctrl-C took too long"
    # The monitor still works afterwards.
    emulator.session_action(token_of(session), "walkaway")
    assert [e.status for e in drain(monitor)] == [Status.WALKAWAY]


# ------------------------------------------------------------------------------ asyncio


async def async_active_sessions(
    aclient: activeconnect.AsyncClient, app: App, emulator: Emulator, count: int
) -> List[activeconnect.AsyncSession]:
    users = [f"amon-{i}-{os.urandom(4).hex()}" for i in range(count)]
    await aclient.add_users(users)
    for user in users:
        app.register_device(user)
    sessions = list(await asyncio.gather(*(aclient.authenticate_user(u) for u in users)))
    for session in sessions:
        emulator.session_action(token_of(session), "approve")
    assert set(await asyncio.gather(*(s.refresh() for s in sessions))) == {Status.ACTIVE}
    return sessions


async def async_drain(monitor: activeconnect.AsyncMonitor, quiet: float = 1.0) -> List[MonitorEvent]:
    seen: List[MonitorEvent] = []
    while True:
        ready = await monitor.poll(timeout=quiet)
        if not ready:
            return seen
        seen.extend(ready)


async def test_async_each_change_is_reported_once(
    aclient: activeconnect.AsyncClient, app: App, emulator: Emulator
) -> None:
    sessions = await async_active_sessions(aclient, app, emulator, 20)
    tokens = [token_of(s) for s in sessions]
    monitor = activeconnect.AsyncMonitor(aclient, interval=0.2, max_in_flight=8)
    assert all(monitor.add(s) for s in sessions)
    assert not monitor.add(sessions[0].to_json())
    assert len(monitor) == 20 and tokens[0] in monitor
    for token in tokens[:5]:
        emulator.session_action(token, "walkaway")
    for token in tokens[5:10]:
        emulator.session_action(token, "remote-logout")

    changes = changes_by_token(await async_drain(monitor))

    assert {t: c for t, c in changes.items()} == {
        **{t: [(Status.ACTIVE, Status.WALKAWAY)] for t in tokens[:5]},
        **{t: [(Status.ACTIVE, Status.CLOSED)] for t in tokens[5:10]},
    }
    assert len(monitor) == 15 and all(t not in monitor for t in tokens[5:10])
    monitor.close()


async def test_async_iteration_and_close(aclient: activeconnect.AsyncClient, app: App, emulator: Emulator) -> None:
    sessions = await async_active_sessions(aclient, app, emulator, 2)
    monitor = activeconnect.AsyncMonitor(aclient, interval=0.2)
    for session in sessions:
        monitor.add(session)
    loop = asyncio.get_running_loop()
    loop.call_later(0.3, emulator.session_action, token_of(sessions[1]), "remote-logout")
    seen: List[MonitorEvent] = []
    async for event in monitor:
        seen.append(event)
        monitor.close()  # the loop ends once the events already found are read
    assert [(e.kind, e.user, e.status) for e in seen] == [("changed", sessions[1].user, Status.CLOSED)]
    assert monitor.closed and len(monitor) == 0


async def test_async_cancelled_wait_loses_no_event(
    aclient: activeconnect.AsyncClient, app: App, emulator: Emulator
) -> None:
    (session,) = await async_active_sessions(aclient, app, emulator, 1)
    monitor = activeconnect.AsyncMonitor(aclient, interval=0.2)
    monitor.add(session)
    with pytest.raises(asyncio.TimeoutError):
        await asyncio.wait_for(monitor.__anext__(), timeout=0.3)
    emulator.session_action(token_of(session), "walkaway")
    event = await asyncio.wait_for(monitor.__anext__(), timeout=5.0)
    assert (event.previous, event.status) == (Status.ACTIVE, Status.WALKAWAY)
    assert "AsyncMonitor(sessions=1" in repr(monitor)
    monitor.close()
