"""No secret in any repr, str, exception or log record; log records reach `logging`."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, List

import pytest

import deviceauth
from deviceauth import activeconnect, projectinsight

from conftest import App, Emulator


def test_nothing_shows_a_secret(emulator: Emulator, app: App, phone_user: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="deviceauth")
    shown: List[Any] = []
    errors: List[BaseException] = []

    def expect_error(call: Any) -> None:
        try:
            call()
        except deviceauth.DeviceAuthError as error:
            errors.append(error)
        else:
            raise AssertionError("expected an error")

    client = activeconnect.Client(app.id, app.secret, base_url=emulator.url, retry=deviceauth.RetryPolicy(initial_backoff=0.01))
    aclient = activeconnect.AsyncClient(app.id, app.secret, base_url=emulator.url)
    session = client.authenticate_user(phone_user)
    session_secret = json.loads(session.to_json())["session_secret"]
    asession = aclient.resume(session.to_json())
    added = client.add_users(["x"])
    shown += [client, aclient, session, asession, added, session.watch(), asession.watch(), session.status, deviceauth.RetryPolicy()]
    emulator.fault(app.path("has_registered_mobile_device", phone_user), drop=True)
    assert client.has_registered_mobile_device(phone_user)  # retried: a WARNING record
    expect_error(lambda: activeconnect.Client(app.id, "wrong-secret", base_url=emulator.url).add_users(["u"]))
    expect_error(lambda: client.resume(session.to_json().replace('"status_url":"', '"status_url":"::')))
    expect_error(lambda: client.resume(json.dumps({**json.loads(session.to_json()), "session_secret": 12})))

    pi = projectinsight.Client(emulator.pi_url)
    api = projectinsight.AsyncClient(emulator.pi_url)
    pending = pi.create_device_activation("cli/1.0")
    code = emulator.activation_code(pending.id)
    expect_error(lambda: pi.complete_device_activation(pending.id, code, "other/1.0"))
    done = pi.complete_device_activation(pending.id, code, "cli/1.0")
    token_client = pi.with_api_token(done.api_token)
    shown += [pi, api, pending, done, token_client, api.with_api_token(done.api_token), token_client.get("project/active")]
    expect_error(lambda: pi.complete_device_activation(pending.id, code, "cli/1.0"))
    expect_error(lambda: token_client.post("project/active", {"code": code}))

    async def async_calls() -> None:
        s = await aclient.authenticate_user(phone_user)
        shown.append(s)
        await s.refresh()
        await api.with_api_token(done.api_token).get("project/active")

    asyncio.run(async_calls())
    session.logout()

    secrets = {"application secret": app.secret, "session secret": session_secret, "API token": done.api_token, "activation code": code}
    texts = [repr(o) for o in shown] + [str(o) for o in shown]
    texts += [repr(e) for e in errors] + [str(e) for e in errors] + [repr(e.args) for e in errors]
    records = [r for r in caplog.records if r.name == "deviceauth"]
    texts += [r.getMessage() for r in records] + [caplog.text]
    for what, secret in secrets.items():
        assert secret, what
        for text in texts:
            assert secret not in text, f"the {what} shows in {text!r}"

    levels = {r.levelno for r in records}
    assert logging.DEBUG in levels and logging.WARNING in levels, "the core's records reach logging"
    messages = [r.getMessage() for r in records]
    assert any("/management/add_users/" in m for m in messages)
    assert any("complete-request" in m for m in messages)
    threads = {r.threadName for r in records}
    assert "MainThread" in threads and len(threads) > 1, "records of blocking and of async calls both arrive"
    assert all(r.pathname.endswith(".rs") for r in records)


def test_log_level_is_followed(client: activeconnect.Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="deviceauth")
    client.add_users(["a"])
    assert not [r for r in caplog.records if r.name == "deviceauth"], "DEBUG records are off at WARNING"
    caplog.set_level(logging.DEBUG, logger="deviceauth")
    client.add_users(["a"])
    assert [r for r in caplog.records if r.name == "deviceauth" and r.levelno == logging.DEBUG]


# Sealed sessions and the HTTPS policy (issue 7).

SEAL_KEY = b"0123456789abcdef0123456789abcdef"


def test_a_sealed_session_round_trips_and_refuses_tampering(emulator: Any, app: Any) -> None:
    from deviceauth import InvalidArgumentError, activeconnect

    client = activeconnect.Client(app.id, app.secret, base_url=emulator.url)
    client.add_users(["sealed-user"])
    app.register_device("sealed-user")
    session = client.authenticate_user("sealed-user")
    sealed = session.seal(SEAL_KEY)
    assert sealed.startswith("das1.") and "sealed-user" not in sealed
    secret = json.loads(session.to_json())["session_secret"]
    assert secret not in sealed
    resumed = client.unseal(sealed, SEAL_KEY)
    assert json.loads(resumed.to_json()) == json.loads(session.to_json())
    for bad in (sealed[:-3], sealed[:10] + ("A" if sealed[10] != "A" else "B") + sealed[11:], "nonsense"):
        with pytest.raises(InvalidArgumentError):
            client.unseal(bad, SEAL_KEY)
    with pytest.raises(InvalidArgumentError):
        client.unseal(sealed, b"x" * 32)
    with pytest.raises(InvalidArgumentError):
        session.seal(b"short")


def test_plain_http_is_refused_unless_loopback_or_allowed() -> None:
    from deviceauth import InvalidArgumentError, activeconnect, projectinsight

    with pytest.raises(InvalidArgumentError, match="http://"):
        activeconnect.Client("A", "s", base_url="http://example.com")
    with pytest.raises(InvalidArgumentError):
        projectinsight.Client("http://example.com/api")
    activeconnect.Client("A", "s", base_url="http://example.com", allow_insecure_http=True)
    projectinsight.AsyncClient("http://example.com/api", allow_insecure_http=True)
    activeconnect.Client("A", "s", base_url="http://localhost:8790")
