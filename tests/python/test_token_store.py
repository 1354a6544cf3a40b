"""The Project Insight token store and the expiry-aware client, through the binding."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import deviceauth
from deviceauth import projectinsight

from conftest import Emulator

AGENT = "py-tests/1.0"


def activate(pi: projectinsight.Client, emulator: Emulator, store: projectinsight.TokenStore, account: str = "default") -> projectinsight.StoredToken:
    pending = pi.create_device_activation(AGENT)
    code = emulator.activation_code(pending.id)
    return pi.complete_and_store(store, pending.id, code, AGENT, account=account)


def test_activation_is_stored_privately_and_used(pi: projectinsight.Client, emulator: Emulator, tmp_path: Path) -> None:
    store = projectinsight.TokenStore(tmp_path / "deviceauth" / "tokens.json")
    assert store.load(pi.base_url) is None and store.delete(pi.base_url) is False
    stored = activate(pi, emulator, store)
    assert isinstance(stored, projectinsight.StoredToken)
    assert stored.base_url == pi.base_url and stored.account == "default" and stored.client_agent == AGENT
    assert stored.expires_at.utcoffset() == dt.timedelta(0)
    assert stat.S_IMODE(os.stat(tmp_path / "deviceauth" / "tokens.json").st_mode) == 0o600
    assert store.load(pi.base_url) == stored
    assert stored.api_token not in repr(stored) and stored.api_token not in repr(store)
    assert store.location == str(tmp_path / "deviceauth" / "tokens.json")

    api = pi.stored_api_client(store)
    assert api.expires_at == stored.expires_at
    assert isinstance(api.get("project/active"), list)


def test_an_expired_token_is_refused_before_sending(pi: projectinsight.Client, emulator: Emulator, tmp_path: Path) -> None:
    store = projectinsight.TokenStore(tmp_path / "tokens.json")
    stored = activate(pi, emulator, store)
    store.save(stored._replace(expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)))
    sent = len(emulator.requests("/api/project/active"))
    with pytest.raises(deviceauth.ExpiredError) as expired:
        pi.stored_api_client(store)
    assert expired.value.code == "EXPIRED" and "device activation again" in str(expired.value)
    assert stored.api_token not in str(expired.value) and stored.api_token not in repr(expired.value)
    past = pi.with_api_token(stored.api_token, expires_at=dt.datetime.now(dt.timezone.utc))
    with pytest.raises(deviceauth.ExpiredError):
        past.get("project/active")
    assert len(emulator.requests("/api/project/active")) == sent, "nothing was sent"


def test_a_new_activation_replaces_the_token(pi: projectinsight.Client, emulator: Emulator, tmp_path: Path) -> None:
    store = projectinsight.TokenStore(tmp_path / "tokens.json")
    first = activate(pi, emulator, store, account="alice")
    pending = pi.reactivate(store, "alice")
    second = pi.complete_and_store(store, pending.id, emulator.activation_code(pending.id), first.client_agent, "alice")
    assert second.api_token != first.api_token and store.load(pi.base_url, "alice") == second
    assert store.delete(pi.base_url, "alice") is True
    with pytest.raises(deviceauth.StoreError) as missing:
        pi.stored_api_client(store, "alice")
    assert missing.value.reason == "NOT_STORED"


def test_async_client_stores_and_refuses(api: projectinsight.AsyncClient, emulator: Emulator, tmp_path: Path) -> None:
    store = projectinsight.TokenStore(tmp_path / "tokens.json")

    async def flow() -> None:
        pending = await api.create_device_activation(AGENT)
        stored = await api.complete_and_store(store, pending.id, emulator.activation_code(pending.id), AGENT)
        assert isinstance(await api.stored_api_client(store).get("project/active"), list)
        again = await api.reactivate(store)
        assert again.id != pending.id
        store.save(stored._replace(expires_at=dt.datetime.now(dt.timezone.utc)))
        with pytest.raises(deviceauth.ExpiredError):
            api.stored_api_client(store)

    asyncio.run(flow())


def test_an_insecure_or_damaged_file_is_refused(pi: projectinsight.Client, emulator: Emulator, tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    store = projectinsight.TokenStore(path)
    stored = activate(pi, emulator, store)
    path.chmod(0o644)
    with pytest.raises(deviceauth.StoreError) as insecure:
        store.load(pi.base_url)
    assert insecure.value.reason == "INSECURE" and "644" in str(insecure.value)
    assert stored.api_token not in str(insecure.value)
    path.chmod(0o600)
    path.write_text(path.read_text()[:40])
    with pytest.raises(deviceauth.StoreError) as corrupt:
        store.load(pi.base_url)
    assert corrupt.value.reason == "CORRUPT" and stored.api_token not in str(corrupt.value)
    with pytest.raises(deviceauth.InvalidArgumentError):
        store.load(pi.base_url, "")


def test_the_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert projectinsight.TokenStore.default_path() == tmp_path / "deviceauth" / "projectinsight-tokens.json"


SAVER = """
import sys
from datetime import datetime, timedelta, timezone
from deviceauth import projectinsight
path, name, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
store = projectinsight.TokenStore(path)
base = "http://127.0.0.1:9/api/"
until = datetime.now(timezone.utc) + timedelta(hours=1)
for i in range(rounds):
    account = f"{name}-{i}"
    store.save(projectinsight.StoredToken(base, account, "token-" + account, "d", "u", "agent", until))
    for j in range(i + 1):
        assert store.load(base, f"{name}-{j}") is not None, (name, i, j)
"""


def test_two_processes_saving_at_once_lose_nothing(tmp_path: Path) -> None:
    path, rounds = tmp_path / "tokens.json", 40
    children = [
        subprocess.Popen([sys.executable, "-c", SAVER, str(path), name, str(rounds)]) for name in ("a", "b")
    ]
    assert [child.wait(timeout=120) for child in children] == [0, 0]
    tokens = json.loads(path.read_text())["tokens"]
    assert sorted(t["account"] for t in tokens) == sorted(f"{n}-{i}" for n in "ab" for i in range(rounds))
    store = projectinsight.TokenStore(path)
    assert all(store.load("http://127.0.0.1:9/api/", t["account"]) is not None for t in tokens)
