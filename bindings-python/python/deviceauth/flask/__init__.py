"""Flask + Flask-Login: push sign-in through the user's phone (Activeconnect / IAMPASS).

::

    from flask_login import LoginManager
    from deviceauth.flask import DeviceAuth, DeviceAuthUserMixin

    login = LoginManager(app)
    login.user_loader(lambda user_id: db.session.get(User, int(user_id)))
    deviceauth = DeviceAuth(app)            # reads DEVICEAUTH_* from app.config

    @deviceauth.user_finder
    def find(name):                          # the account the sign-in form names
        return db.session.scalar(select(User).where(User.name == name))

The extension registers a blueprint (``/deviceauth`` by default) with the sign-in form and
its ``POST`` (push to the phone), the waiting page (server-sent events with a JSON
fallback), the registration page (QR code + link), the end-of-sign-in page and sign-out;
it logs the user in with Flask-Login once the phone approves, and checks on every request
that the session is still alive (remote logout, walkaway, end), logging the user out with
a flashed message when it is not. The flow and its policies are :mod:`deviceauth.web`'s;
every failure of the service becomes a page with a status code, never a 500.

Needs ``pip install deviceauth[flask]`` (Flask >= 3, Flask-Login >= 0.6.3).
"""

from __future__ import annotations

try:
    import flask as _flask  # noqa: F401
    import flask_login as _flask_login  # noqa: F401
except ImportError as _error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "deviceauth.flask needs Flask and Flask-Login: pip install deviceauth[flask]"
        f" ({_error.name or 'a dependency'} is missing)"
    ) from _error

from typing import TYPE_CHECKING, Any

from ._extension import SETTINGS, DeviceAuth

if TYPE_CHECKING:
    from ._mixin import DeviceAuthUserMixin

__all__ = ["DeviceAuth", "DeviceAuthUserMixin", "SETTINGS"]


def __getattr__(name: str) -> Any:
    # The mixin needs SQLAlchemy, which an app without a database does not: import it on use.
    if name == "DeviceAuthUserMixin":
        from ._mixin import DeviceAuthUserMixin

        return DeviceAuthUserMixin
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
