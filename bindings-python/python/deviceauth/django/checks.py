"""System checks (``manage.py check``, run before runserver and migrate): the DEVICEAUTH
setting, the backend and the middleware order."""

from __future__ import annotations

from typing import Any, List

from django.conf import settings
from django.core import checks

from .. import DeviceAuthError

BACKEND = "deviceauth.django.backends.DeviceAuthBackend"
MIDDLEWARE = "deviceauth.django.middleware.DeviceAuthMiddleware"


def deviceauth_settings(app_configs: Any = None, **kwargs: Any) -> List[checks.CheckMessage]:
    from .conf import configured, read_settings

    try:
        config = configured()
    except DeviceAuthError as error:
        return [checks.Error(str(error), id="deviceauth.E001")]
    if not (config.get("APPLICATION_ID") or config.get("APP_ID")) or not (
        config.get("APPLICATION_SECRET") or config.get("APP_SECRET")
    ):
        return [
            checks.Warning(
                "DEVICEAUTH['APPLICATION_ID'] and DEVICEAUTH['APPLICATION_SECRET'] are not set: sign-in will fail.",
                hint="Set them in settings.py (e.g. from environment variables).",
                id="deviceauth.W001",
            )
        ]
    try:
        read_settings()
    except DeviceAuthError as error:
        return [checks.Error(f"settings.DEVICEAUTH: {error}", id="deviceauth.E001")]
    return []


def wiring(app_configs: Any = None, **kwargs: Any) -> List[checks.CheckMessage]:
    found: List[checks.CheckMessage] = []
    if BACKEND not in getattr(settings, "AUTHENTICATION_BACKENDS", []):
        found.append(
            checks.Error(
                f"{BACKEND} is not in AUTHENTICATION_BACKENDS: users signed in through the phone cannot stay signed in.",
                hint=f'AUTHENTICATION_BACKENDS = ["{BACKEND}", "django.contrib.auth.backends.ModelBackend"]',
                id="deviceauth.E002",
            )
        )
    middleware = list(getattr(settings, "MIDDLEWARE", None) or [])
    auth = "django.contrib.auth.middleware.AuthenticationMiddleware"
    if MIDDLEWARE not in middleware:
        found.append(
            checks.Warning(
                f"{MIDDLEWARE} is not in MIDDLEWARE: remote logout and walkaway will not sign users out.",
                hint=f'Add "{MIDDLEWARE}" after "{auth}".',
                id="deviceauth.W002",
            )
        )
    elif auth not in middleware or middleware.index(auth) > middleware.index(MIDDLEWARE):
        found.append(
            checks.Error(f"{MIDDLEWARE} must come after {auth} in MIDDLEWARE.", id="deviceauth.E003")
        )
    return found


def register() -> None:
    checks.register(deviceauth_settings, "deviceauth")
    checks.register(wiring, "deviceauth")
