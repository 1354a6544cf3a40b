"""The store-backed session monitor of the app: where it keeps the signed-in sessions, the
key that seals them there, and the monitor each process runs.

After sign-in the app adds the session to the store under the sign-in's id; monitors (one
per gunicorn worker here; they share the work through the store's leases) poll the
service; each request reads the last known status from the store, with no call to the
service. The store is SQLite (a file next to the app's database) unless DATABASE_URL is a
Postgres URL, then that database.
"""

from __future__ import annotations

import atexit
import os
import secrets
from pathlib import Path

from flask import Flask

from deviceauth import activeconnect


def store_url(app: Flask) -> str:
    """The monitor's store: the app's Postgres database, else a SQLite file next to the
    app's SQLite file (or in the instance folder for another database)."""
    database_url: str = app.config["DATABASE_URL"]
    if database_url.startswith(("postgresql://", "postgres://")):
        return database_url
    if database_url.startswith("sqlite:///"):
        folder = Path(database_url.removeprefix("sqlite:///")).resolve().parent
    else:
        folder = Path(app.instance_path)
        folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite://{folder / 'sessions-monitor.db'}"


def seal_key(app: Flask) -> bytes:
    """DEVICEAUTH_SEAL_KEY (64 hex digits; set the same in every process of the app), else
    a key made once in the instance folder (mode 0600; workers racing to make it agree
    through an atomic link)."""
    configured = os.environ.get("DEVICEAUTH_SEAL_KEY")
    if configured:
        return bytes.fromhex(configured)
    path = Path(app.instance_path) / "deviceauth-seal.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        with os.fdopen(os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
            file.write(secrets.token_hex(32))
        try:
            os.link(draft, path)
        except FileExistsError:
            pass  # another worker made it first: use theirs
        finally:
            draft.unlink()
    return bytes.fromhex(path.read_text().strip())


def start(app: Flask, client: activeconnect.Client) -> activeconnect.Monitor:
    """This process's monitor, polling every STATUS_CHECK_SECONDS; closed at exit so its
    claims go back to the other workers at once. Start it in each worker (gunicorn
    without --preload), never before a fork."""
    monitor = activeconnect.Monitor(
        client,
        interval=app.config["STATUS_CHECK_SECONDS"],
        store=store_url(app),
        seal_key=seal_key(app),
    )
    atexit.register(monitor.close)
    return monitor
