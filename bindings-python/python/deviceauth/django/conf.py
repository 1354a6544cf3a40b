"""The ``DEVICEAUTH`` setting, mapped onto :meth:`deviceauth.web.Settings.from_config`, and
the one :class:`deviceauth.web.SignIns` of this process, made on first use (so it is made
in each runserver or gunicorn worker process, after any fork)."""

from __future__ import annotations

import atexit
import os
import threading
import urllib.parse
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from django.conf import settings as django_settings

from .. import InvalidArgumentError
from ..web import Settings, SignIns

#: The keys of the ``DEVICEAUTH`` setting (``from_config`` names without ``DEVICEAUTH_``).
KEYS = (
    "APPLICATION_ID", "APPLICATION_SECRET", "APP_ID", "APP_SECRET", "BASE_URL", "STORE", "SEAL_KEY",
    "WALKAWAY", "FAIL_MODE", "CHECK_BUDGET", "ATTEMPTS", "ATTEMPT_WINDOW", "MONITOR", "MONITOR_INTERVAL", "CA_FILE",
)  # fmt: skip
#: The file name of the default SQLite store, next to the SQLite database (or in BASE_DIR).
STORE_FILE = "deviceauth-sessions.sqlite3"

_lock = threading.Lock()
_sign_ins: Optional[SignIns] = None


def configured() -> Dict[str, Any]:
    """The ``DEVICEAUTH`` setting (a dict); unknown keys raise :class:`InvalidArgumentError`."""
    config = getattr(django_settings, "DEVICEAUTH", None) or {}
    if not isinstance(config, Mapping):
        raise InvalidArgumentError("settings.DEVICEAUTH must be a dict")
    unknown = sorted(str(key) for key in config if key not in KEYS)
    if unknown:
        raise InvalidArgumentError(f"unknown keys in settings.DEVICEAUTH: {unknown}; known: {list(KEYS)}")
    return dict(config)


def default_store() -> str:
    """A SQLite store next to the default database when it is a SQLite file, else in
    ``BASE_DIR``: one file every process of the app on this machine shares."""
    database = getattr(django_settings, "DATABASES", {}).get("default", {})
    name = database.get("NAME")
    folder: Optional[Path] = None
    if str(database.get("ENGINE", "")).endswith("sqlite3") and name:
        text = str(name)
        if text != ":memory:" and not text.startswith("file:") and "mode=memory" not in text:
            folder = Path(text).resolve().parent
    if folder is None and getattr(django_settings, "BASE_DIR", None):
        folder = Path(django_settings.BASE_DIR).resolve()
    if folder is None:
        raise InvalidArgumentError(
            "DEVICEAUTH['STORE'] is needed: the default database is not a SQLite file and BASE_DIR is not set"
        )
    return "sqlite://" + urllib.parse.quote(str(folder / STORE_FILE))


def read_settings() -> Settings:
    """The :class:`deviceauth.web.Settings` of ``settings.DEVICEAUTH``: the seal key
    defaults to one derived from ``SECRET_KEY``, the store to :func:`default_store`;
    ``"STORE": None`` means no store (each request then checks the service within the
    budget). Bad values raise :class:`InvalidArgumentError` naming the setting."""
    config = configured()
    overrides: Dict[str, Any] = {}
    if "STORE" in config and config["STORE"] is None:
        overrides["store"] = None  # from_config leaves a None override to the default: no store
        store: Optional[str] = None
    else:
        store = None if config.get("STORE") else default_store()

    def get(name: str) -> Any:
        return config.get(name[len("DEVICEAUTH_") :]) if name.startswith("DEVICEAUTH_") else None

    secret_key = getattr(django_settings, "SECRET_KEY", None) or None
    return Settings.from_config(get, secret_key=secret_key, default_store=store, **overrides)


def sign_ins() -> SignIns:
    """This process's :class:`deviceauth.web.SignIns`, made on first use. Its client and
    monitor are opened on first use in each process (after a fork, again)."""
    global _sign_ins
    with _lock:
        if _sign_ins is None:
            _sign_ins = SignIns(read_settings())
            atexit.register(reset)  # this process's monitor hands its sessions on at exit
        return _sign_ins


def reset() -> None:
    """Closes this process's :class:`SignIns`; the next use makes one from the settings."""
    global _sign_ins
    with _lock:
        current, _sign_ins = _sign_ins, None
    if current is not None:
        current.close()


def settings_changed(*, setting: str, **_: Any) -> None:
    """``override_settings`` of DEVICEAUTH, SECRET_KEY or DATABASES: a new :class:`SignIns`."""
    if setting in ("DEVICEAUTH", "SECRET_KEY", "DATABASES", "BASE_DIR"):
        reset()


if hasattr(os, "register_at_fork"):  # a forked child starts with no SignIns of its parent's lock state
    os.register_at_fork(after_in_child=lambda: globals().update(_lock=threading.Lock()))
