"""deviceauth.web, the flow under every web adapter, against the emulator: settings, what
each status means under each policy, the fail mode, the check budget, the attempt limit,
the SSE stream, and that nothing secret reaches what a browser sees."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from deviceauth import DeviceAuthError, InvalidArgumentError, activeconnect, web
from deviceauth.activeconnect import Status
from conftest import App, Emulator, store_server_url

SEAL_KEY = bytes(range(32))


def settings(emulator: Emulator, app: App, **overrides: Any) -> web.Settings:
    values: Dict[str, Any] = dict(application_id=app.id, application_secret=app.secret, base_url=emulator.url)
    values.update(seal_key=SEAL_KEY, attempts=0)
    values.update(overrides)
    return web.Settings(**values)


@pytest.fixture(params=["no-store", "memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Optional[str]:
    return {"no-store": None, "memory": "memory", "sqlite": f"sqlite:///{tmp_path}/store.db"}[request.param]


def signed_in(flow: web.SignIns, app: App, user: str) -> str:
    """Signs `user` in through the flow; the sealed signed-in session."""
    pending = flow.progress(flow.start(user))
    assert pending.state == "pending" and pending.sealed
    app.emulator.session_action(app.session_token(user), "approve")
    done = flow.progress(pending.sealed)
    assert done.state == "approved", done
    assert done.sealed
    return done.sealed


def wait_for(check: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


# -- settings -------------------------------------------------------------------------


def test_settings_from_config_reads_every_name_and_derives_the_seal_key() -> None:
    config = {
        "DEVICEAUTH_APP_ID": "app", "DEVICEAUTH_APPLICATION_SECRET": "s3cret-value", "DEVICEAUTH_STORE": "",
        "DEVICEAUTH_WALKAWAY": "keep", "DEVICEAUTH_FAIL_MODE": "open", "DEVICEAUTH_CHECK_BUDGET": "1.5",
        "DEVICEAUTH_ATTEMPTS": "3", "DEVICEAUTH_ATTEMPT_WINDOW": "60", "DEVICEAUTH_MONITOR": "false",
    }  # fmt: skip
    s = web.Settings.from_config(config.get, secret_key="flask-secret", default_store="memory")
    assert (s.application_id, s.store, s.walkaway, s.fail_mode) == ("app", "memory", "keep", "open")
    assert (s.check_budget, s.attempts, s.attempt_window, s.monitor) == (1.5, 3, 60.0, False)
    assert s.seal_key == web.derive_seal_key("flask-secret") == web.derive_seal_key(b"flask-secret")
    assert s.seal_key != web.derive_seal_key("another secret") and len(s.seal_key) == 32
    hexed = web.Settings.from_config({**config, "DEVICEAUTH_SEAL_KEY": SEAL_KEY.hex()}.get)
    assert hexed.seal_key == SEAL_KEY


@pytest.mark.parametrize(
    "name, value",
    [("WALKAWAY", "logout"), ("FAIL_MODE", "maybe"), ("CHECK_BUDGET", "0"), ("CHECK_BUDGET", "soon"),
     ("ATTEMPTS", "-1"), ("ATTEMPT_WINDOW", "0"), ("SEAL_KEY", "abcd"), ("SEAL_KEY", "zz" * 32), ("MONITOR", "perhaps")],
)  # fmt: skip
def test_bad_settings_name_the_setting(name: str, value: str) -> None:
    config = {"DEVICEAUTH_APP_ID": "app", "DEVICEAUTH_APP_SECRET": "secret", "DEVICEAUTH_" + name: value}
    with pytest.raises(InvalidArgumentError, match="DEVICEAUTH_" + name):
        web.Settings.from_config(config.get, secret_key="k")


def test_settings_store_none_monitor_interval_and_overrides() -> None:
    config = {"DEVICEAUTH_STORE": "none", "DEVICEAUTH_MONITOR_INTERVAL": "7.5"}
    s = web.Settings.from_config(
        config.get, secret_key="k", default_store="memory", application_id="app", application_secret="secret"
    )
    assert (s.application_id, s.store, s.monitor_interval) == ("app", None, 7.5)
    assert web.Settings.from_config({"DEVICEAUTH_APP_ID": "a", "DEVICEAUTH_APP_SECRET": "s"}.get, secret_key="k").monitor_interval is None
    with pytest.raises(InvalidArgumentError, match="DEVICEAUTH_MONITOR_INTERVAL"):
        web.Settings.from_config({**config, "DEVICEAUTH_MONITOR_INTERVAL": "0"}.get, secret_key="k", application_id="a", application_secret="s")


def test_settings_need_credentials_and_a_seal_key() -> None:
    with pytest.raises(InvalidArgumentError, match="APPLICATION_ID"):
        web.Settings.from_config({}.get, secret_key="k")
    with pytest.raises(InvalidArgumentError, match="SEAL_KEY"):
        web.Settings.from_config({"DEVICEAUTH_APP_ID": "a", "DEVICEAUTH_APP_SECRET": "s"}.get)


def test_settings_repr_hides_the_secret_the_seal_key_and_the_store_password() -> None:
    s = web.Settings("app", "very-secret", store="postgresql://u:pg-password@db/x", seal_key=SEAL_KEY)
    shown = repr(s) + repr(web.SignIns(s))
    for secret in ("very-secret", "pg-password", SEAL_KEY.hex(), repr(SEAL_KEY)):
        assert secret not in shown
    assert "db/x" in shown


# -- what a status means ----------------------------------------------------------------

PROGRESS = {
    Status.PENDING: ("pending", "pending"), Status.IDENTIFYING: ("identifying", "identifying"),
    Status.ACTIVE: ("approved", "approved"), Status.WALKAWAY: ("ended", "approved"),
    Status.FAILED: ("refused", "refused"), Status.CANCELLED: ("refused", "refused"),
    Status.TIMEOUT: ("timeout", "timeout"), Status.CLOSED: ("ended", "ended"), Status.UNKNOWN: ("ended", "ended"),
}  # fmt: skip


@pytest.mark.parametrize("status", list(Status))
def test_each_status_has_one_progress_per_walkaway_policy(status: Status) -> None:
    from deviceauth.web._outcomes import progress_of

    for policy, state in zip(("sign_out", "keep"), PROGRESS[status]):
        progress = progress_of(status, policy, "sealed")
        assert progress.state == state and progress.message == web.PROGRESS_MESSAGES[state]
        assert progress.done is (state not in ("pending", "identifying"))
        assert (progress.sealed is not None) is (state in ("pending", "identifying", "approved"))
        assert set(progress.to_dict()) == {"state", "status", "message", "done"}


@pytest.mark.parametrize("status", list(Status))
def test_each_status_has_one_verdict_per_walkaway_policy(status: Status) -> None:
    from deviceauth.web._outcomes import check_of

    for policy in ("sign_out", "keep"):
        verdict = check_of(status, policy, "sealed")
        keeps = status is Status.ACTIVE or (status is Status.WALKAWAY and policy == "keep")
        assert verdict.signed_in is keeps
        expected = None if keeps else {Status.WALKAWAY: "walkaway", Status.CLOSED: "remote_logout"}.get(status, "ended")
        assert verdict.reason == expected
        assert (verdict.message is None) is keeps


# -- the flow against the emulator ---------------------------------------------------------


def test_sign_in_check_and_remote_logout(emulator: Emulator, app: App, phone_user: str, store: Optional[str]) -> None:
    flow = web.SignIns(settings(emulator, app, store=store))
    try:
        sealed = signed_in(flow, app, phone_user)
        assert flow.user_of(sealed) == phone_user
        assert flow.check(sealed).signed_in
        emulator.session_action(app.session_token(phone_user), "remote-logout")
        # With a store the monitor notices it (polling every 5 s); without, the check asks.
        verdict = wait_for(lambda: (lambda c: c if not c.signed_in else None)(flow.check(sealed)), 15)
        assert verdict and verdict.reason == "remote_logout", verdict
        assert verdict.message == "You were signed out: your session was ended elsewhere."
    finally:
        flow.close()


@pytest.mark.parametrize("policy", ["sign_out", "keep"])
def test_walkaway_policy(emulator: Emulator, app: App, phone_user: str, policy: str) -> None:
    flow = web.SignIns(settings(emulator, app, walkaway=policy))
    sealed = signed_in(flow, app, phone_user)
    token = app.session_token(phone_user)
    emulator.session_action(token, "walkaway")
    verdict = flow.check(sealed)
    if policy == "keep":
        assert verdict.signed_in and verdict.status is Status.WALKAWAY
        assert [s["status"] for s in app.sessions() if s["session_token"] == token] == ["walkaway"]
    else:
        assert not verdict.signed_in and verdict.reason == "walkaway"
        # The service session is logged out in the background.
        closed = wait_for(lambda: [s["status"] for s in app.sessions() if s["session_token"] == token] == ["closed"])
        assert closed, app.sessions()


def test_refused_and_timed_out_sign_ins(emulator: Emulator, app: App, phone_user: str) -> None:
    flow = web.SignIns(settings(emulator, app))
    for action, state in (("deny", "refused"), ("cancel", "refused"), ("expire", "timeout")):
        sealed = flow.start(phone_user)
        emulator.session_action(app.session_token(phone_user), action)
        progress = flow.progress(sealed)
        assert (progress.state, progress.done, progress.sealed) == (state, True, None)


def test_a_tampered_or_foreign_session_is_ended_not_an_error(emulator: Emulator, app: App, phone_user: str) -> None:
    flow = web.SignIns(settings(emulator, app))
    sealed = flow.start(phone_user)
    other = web.SignIns(settings(emulator, app, seal_key=b"x" * 32))
    for bad in (sealed[:-4] + "AAAA", "not a session", ""):
        assert flow.progress(bad).state == "ended"
        assert flow.check(bad).reason == "ended"
        flow.sign_out(bad)
    assert other.progress(sealed).state == "ended" and other.user_of(sealed) is None


def test_sign_out_removes_the_session_and_logs_it_out(emulator: Emulator, app: App, phone_user: str, tmp_path: Path) -> None:
    flow = web.SignIns(settings(emulator, app, store=f"sqlite:///{tmp_path}/s.db"))
    try:
        sealed = signed_in(flow, app, phone_user)
        token = app.session_token(phone_user)
        flow.sign_out(sealed)
        assert flow.check(sealed).reason == "ended"
        assert wait_for(lambda: [s["status"] for s in app.sessions() if s["session_token"] == token] == ["closed"])
    finally:
        flow.close()


def test_stream_reports_each_change_then_ends(emulator: Emulator, app: App, phone_user: str) -> None:
    flow = web.SignIns(settings(emulator, app))
    sealed = flow.start(phone_user)
    events = flow.stream(sealed)
    first = next(events)
    assert first.startswith("event: progress\ndata: ") and first.endswith("\n\n") and '"state":"pending"' in first
    emulator.session_action(app.session_token(phone_user), "approve")
    rest = list(events)
    assert len(rest) == 1 and '"state":"approved"' in rest[0] and '"done":true' in rest[0]


def test_nothing_secret_reaches_the_browser(emulator: Emulator, app: App, phone_user: str) -> None:
    flow = web.SignIns(settings(emulator, app))
    sealed = flow.start(phone_user)
    token = app.session_token(phone_user)
    shown = [repr(flow.progress(sealed)), str(flow.progress(sealed).to_dict()), next(flow.stream(sealed))]
    shown.append(repr(flow.check(sealed)))
    for text in shown:
        assert sealed not in text and token not in text and app.secret not in text


# -- when the service or the store fails -----------------------------------------------------


def dead_url() -> str:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_problem_turns_every_failure_into_a_page(emulator: Emulator, app: App, phone_user: str) -> None:
    flow = web.SignIns(settings(emulator, app))
    user = web.new_user_id()
    flow.client.add_user(user)
    pages = {}
    for name, call in {
        "no phone": lambda: flow.start(user),
        "unknown to the service": lambda: flow.start(web.new_user_id()),
        "down": lambda: web.SignIns(settings(emulator, app, base_url=dead_url())).start(phone_user),
        "bad secret": lambda: web.SignIns(settings(emulator, app, application_secret="wrong")).start(phone_user),
        "bad user": lambda: flow.start("a/../b"),
    }.items():
        with pytest.raises(DeviceAuthError) as caught:
            call()
        pages[name] = web.problem(caught.value)
    assert pages["no phone"] == (409, "This account has no registered phone yet. Register your phone first.")
    assert pages["unknown to the service"] == pages["no phone"]
    assert pages["down"][0] == 503 and "cannot be reached" in pages["down"][1]
    assert pages["bad secret"][0] == 502 and "application id and secret" in pages["bad secret"][1]
    assert pages["bad user"][0] in (400, 404, 409, 502)
    assert all(status != 500 for status, _ in pages.values())


@pytest.mark.parametrize("fail_mode", ["closed", "open"])
def test_fail_mode_when_the_service_cannot_be_reached(
    emulator: Emulator, app: App, phone_user: str, fail_mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    flow = web.SignIns(settings(emulator, app, fail_mode=fail_mode))
    sealed = signed_in(flow, app, phone_user)
    cut_off = web.SignIns(settings(emulator, app, fail_mode=fail_mode, check_budget=1.0))
    pending_sealed = flow.start(phone_user)
    emulator.fault("/authentication/session_status/", drop=True, count=100)
    with caplog.at_level(logging.WARNING, logger="deviceauth.web"):
        verdict = cut_off.check(sealed)
    assert verdict.signed_in is (fail_mode == "open")
    assert verdict.reason == (None if fail_mode == "open" else "unavailable")
    assert f"fail mode {fail_mode}" in caplog.text
    # While waiting, an unreachable service leaves the sign-in waiting.
    pending = cut_off.progress(pending_sealed)
    assert pending.state == "unavailable" and not pending.done and pending.sealed


def test_fail_mode_open_never_bridges_a_refusal(emulator: Emulator, app: App, phone_user: str) -> None:
    flow = web.SignIns(settings(emulator, app, fail_mode="open"))
    sealed = signed_in(flow, app, phone_user)
    emulator.fault("/authentication/session_status/", status=401, count=100)
    verdict = flow.check(sealed)
    assert (verdict.signed_in, verdict.reason) == (False, "unavailable")


def test_a_hung_service_holds_a_check_no_longer_than_the_budget(emulator: Emulator, app: App, phone_user: str) -> None:
    flow = web.SignIns(settings(emulator, app, check_budget=1.0))
    sealed = signed_in(flow, app, phone_user)
    emulator.fault("/authentication/session_status/", delay_ms=10_000, count=3)
    started = time.monotonic()
    verdict = flow.check(sealed)
    assert time.monotonic() - started < 2.0
    assert (verdict.signed_in, verdict.reason) == (False, "unavailable")


def test_a_store_that_cannot_be_reached_applies_the_fail_mode(emulator: Emulator, app: App, phone_user: str) -> None:
    flow = web.SignIns(settings(emulator, app))
    sealed = signed_in(flow, app, phone_user)
    down = web.SignIns(settings(emulator, app, store=f"redis://{dead_url()[7:]}/0"))
    verdict = down.check(sealed)
    assert (verdict.signed_in, verdict.reason) == (False, "unavailable")
    with pytest.raises(DeviceAuthError) as caught:
        down.start(phone_user)
    assert web.problem(caught.value)[0] == 503


def pause_redis(url: str, millis: int) -> None:
    """Makes the Redis server of ``url`` hold every client's commands for ``millis`` ms."""
    import socket
    import urllib.parse

    parts = urllib.parse.urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=5) as conn:
        commands = [["CLIENT", "PAUSE", str(millis), "ALL"]]
        if parts.password:
            commands.insert(0, ["AUTH", urllib.parse.unquote(parts.password)])
        for command in commands:
            conn.sendall(f"*{len(command)}\r\n".encode() + b"".join(f"${len(w)}\r\n{w}\r\n".encode() for w in command))
            assert conn.recv(100).startswith(b"+OK"), command[0]


@pytest.mark.parametrize("fail_mode", ["closed", "open"])
def test_a_store_that_hangs_holds_a_check_no_longer_than_the_budget(
    emulator: Emulator, app: App, phone_user: str, fail_mode: str
) -> None:
    store = store_server_url("redis")
    flow = web.SignIns(settings(emulator, app, store=store, check_budget=1.0, fail_mode=fail_mode))
    sealed = signed_in(flow, app, phone_user)
    assert flow.check(sealed).signed_in
    pause_redis(store, 4000)
    started = time.monotonic()
    verdict = flow.check(sealed)
    assert time.monotonic() - started < 1.6
    assert (verdict.signed_in, verdict.reason) == ((True, None) if fail_mode == "open" else (False, "unavailable"))
    flow.close()


def test_a_store_that_hangs_holds_an_async_check_no_longer_than_the_budget(
    emulator: Emulator, app: App, phone_user: str
) -> None:
    store = store_server_url("redis")

    async def main() -> None:
        flow = await web.AsyncSignIns.open(settings(emulator, app, store=store, check_budget=1.0))
        pending = await flow.progress(await flow.start(phone_user))
        app.emulator.session_action(app.session_token(phone_user), "approve")
        done = await flow.progress(pending.sealed or "")
        assert done.approved and done.sealed and (await flow.check(done.sealed)).signed_in
        pause_redis(store, 4000)
        started = time.monotonic()
        verdict = await flow.check(done.sealed)
        assert time.monotonic() - started < 1.6
        assert (verdict.signed_in, verdict.reason) == (False, "unavailable")
        flow.close()

    asyncio.run(main())


def test_attempt_limit_refuses_before_sending(emulator: Emulator, app: App, phone_user: str, tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path}/s.db"
    first, second = (web.SignIns(settings(emulator, app, store=store, attempts=2, monitor=False)) for _ in range(2))
    first.start(phone_user)
    second.start(phone_user)
    sent = len(emulator.requests(app.path("authenticate_user", phone_user)))
    with pytest.raises(DeviceAuthError) as caught:
        first.start(phone_user)
    status, message = web.problem(caught.value)
    assert caught.value.code == "RATE_LIMITED" and status == 429
    assert re.fullmatch(r"Too many sign-in requests for this account\. Try again in \d+ s\.", message)
    assert len(emulator.requests(app.path("authenticate_user", phone_user))) == sent
    first.close()
    second.close()


# -- asyncio ---------------------------------------------------------------------------------


def test_async_flow(emulator: Emulator, app: App, phone_user: str, tmp_path: Path) -> None:
    async def main() -> None:
        flow = await web.AsyncSignIns.open(settings(emulator, app, store=f"sqlite:///{tmp_path}/s.db", walkaway="keep"))
        try:
            sealed = await flow.start(phone_user)
            events = flow.stream(sealed)
            assert '"state":"pending"' in await events.__anext__()
            emulator.session_action(app.session_token(phone_user), "approve")
            assert '"state":"approved"' in await events.__anext__()
            emulator.session_action(app.session_token(phone_user), "walkaway")
            done = await flow.progress(sealed)
            assert done.approved and done.sealed and done.status is Status.WALKAWAY
            assert (await flow.check(done.sealed)).signed_in
            await flow.sign_out(done.sealed)
            assert (await flow.check(done.sealed)).reason == "ended"
            assert await flow.is_registered(phone_user)
        finally:
            flow.close()

    asyncio.run(main())
