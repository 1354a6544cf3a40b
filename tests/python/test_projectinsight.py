"""The blocking Project Insight client against the emulator."""

from __future__ import annotations

import datetime as dt

import pytest

import deviceauth
from deviceauth import projectinsight

from conftest import Emulator


def test_device_activation_end_to_end(pi: projectinsight.Client, emulator: Emulator) -> None:
    pending = pi.create_device_activation(
        client_agent="my-cli/1.0", platform="Linux", device="Computer", ip_address="127.0.0.1", host_name="ci-host"
    )
    assert isinstance(pending, projectinsight.PendingActivation)
    assert pending.id and pending.url.startswith(emulator.url + "/_emulator/activate/")
    assert pending.expires_at.tzinfo is not None and pending.expires_at.utcoffset() == dt.timedelta(0)
    now = dt.datetime.now(dt.timezone.utc)
    assert now < pending.expires_at < now + dt.timedelta(hours=1)
    assert pending == pending and pending != pi.create_device_activation("my-cli/1.0")

    code = emulator.activation_code(pending.id)
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(deviceauth.UnauthorizedError) as wrong_code:
        pi.complete_device_activation(pending.id, wrong, client_agent="my-cli/1.0")
    assert wrong_code.value.reason == "WRONG_CODE" and wrong_code.value.code == "UNAUTHORIZED"
    assert wrong_code.value.status is not None and code not in str(wrong_code.value)
    with pytest.raises(deviceauth.UnauthorizedError) as mismatch:
        pi.complete_device_activation(pending.id, code, client_agent="other-cli/2.0")
    assert mismatch.value.reason == "CLIENT_AGENT_MISMATCH"

    done = pi.complete_device_activation(pending.id, f"  {code} ", client_agent="my-cli/1.0", timeout_minutes=90)
    assert isinstance(done, projectinsight.DeviceActivation)
    assert done.api_token and done.device_id and done.user_id
    assert done.expires_at.utcoffset() == dt.timedelta(0)
    assert dt.timedelta(minutes=80) < done.expires_at - now < dt.timedelta(minutes=100)
    assert done.api_token not in repr(done) and done.api_token not in str(done)

    with pytest.raises(deviceauth.UnauthorizedError) as used:
        pi.complete_device_activation(pending.id, code, client_agent="my-cli/1.0")
    assert used.value.reason == "CODE_ALREADY_USED"

    api = pi.with_api_token(done.api_token)
    assert isinstance(api, projectinsight.ApiClient)
    projects = api.get("project/active")
    assert isinstance(projects, list) and projects and all(isinstance(p, dict) for p in projects)
    assert api.get("/project/active") == projects
    assert done.api_token not in repr(api)
    with pytest.raises(deviceauth.HttpError) as not_allowed:
        api.post("project/active", {"name": "n", "values": [1, 2.5, None, True, {"k": "v"}]})
    assert not_allowed.value.status == 405
    with pytest.raises(deviceauth.UnauthorizedError) as bad_token:
        pi.with_api_token("not-a-token").get("project/active")
    assert bad_token.value.status == 401
    with pytest.raises(deviceauth.NotFoundError):
        api.get("no/such/path")


def test_refused_activations_name_the_reason(pi: projectinsight.Client, emulator: Emulator) -> None:
    with pytest.raises(deviceauth.NotFoundError) as unknown:
        pi.complete_device_activation("no-such-request", "123456", "my-cli/1.0")
    assert unknown.value.reason == "UNKNOWN_REQUEST" and unknown.value.code == "NOT_FOUND"
    pending = pi.create_device_activation("my-cli/1.0")
    emulator.expire_activation(pending.id)
    with pytest.raises(deviceauth.NotFoundError) as expired:
        pi.complete_device_activation(pending.id, "123456", "my-cli/1.0")
    assert expired.value.reason == "EXPIRED" and expired.value.status in (404, 410)


def test_bad_values_raise_before_any_request(pi: projectinsight.Client, emulator: Emulator) -> None:
    before = len(emulator.requests("/api/"))
    calls = [
        lambda: pi.create_device_activation(""),
        lambda: pi.create_device_activation("cli/1", platform=""),
        lambda: pi.create_device_activation("cli/1", ip_address="not-an-ip"),
        lambda: pi.complete_device_activation("", "123456", "cli/1"),
        lambda: pi.complete_device_activation("id", " ", "cli/1"),
        lambda: pi.complete_device_activation("id", "123456", ""),
        lambda: pi.complete_device_activation("id", "123456", "cli/1", timeout_minutes=0),
        lambda: pi.complete_device_activation("id", "123456", "cli/1", timeout_minutes=-1),
        lambda: pi.with_api_token(""),
        lambda: pi.with_api_token("token").get("https://elsewhere.example/steal"),
        lambda: pi.with_api_token("token").post("x", {"n": float("nan")}),
        lambda: pi.with_api_token("bad\ntoken"),
        lambda: pi.with_api_token("tökén"),
        lambda: projectinsight.Client("not a url"),
        lambda: projectinsight.Client("ftp://example.com/api"),
        lambda: projectinsight.Client(emulator.pi_url, timeout=0),
    ]
    for call in calls:
        with pytest.raises(deviceauth.InvalidArgumentError):
            call()
    with pytest.raises(TypeError):
        pi.with_api_token("token").post("x", {"n": object()})
    assert len(emulator.requests("/api/")) == before


def test_client_properties(emulator: Emulator) -> None:
    pi = projectinsight.Client(emulator.pi_url, timeout=3.0, retry=deviceauth.RetryPolicy.never(), user_agent="tests/1.0")
    assert pi.base_url == emulator.pi_url + "/"
    assert repr(pi) == f"Client(base_url='{emulator.pi_url}/')"
