"""Django app ``deviceauth.django``: passwordless sign-in through the user's phone
(Activeconnect / IAMPASS push), on the shared flow of :mod:`deviceauth.web`.

Add it to a project (``pip install "deviceauth[django]"``)::

    INSTALLED_APPS += ["deviceauth.django"]                       # app label "deviceauth"
    MIDDLEWARE += ["deviceauth.django.middleware.DeviceAuthMiddleware"]   # after AuthenticationMiddleware
    AUTHENTICATION_BACKENDS = ["deviceauth.django.backends.DeviceAuthBackend",
                               "django.contrib.auth.backends.ModelBackend"]
    DEVICEAUTH = {"APPLICATION_ID": "...", "APPLICATION_SECRET": "..."}
    LOGIN_URL = "deviceauth:signin"

    # urls.py
    path("auth/", include("deviceauth.django.urls")),

then ``python manage.py migrate``. The pieces:

- :class:`~deviceauth.django.models.DeviceAuthUser`: the random id a user is known by at
  the service (one per user of ``AUTH_USER_MODEL``).
- :func:`signed_up`: call it from your sign-up view; the register page then shows the new
  user the QR code and link that register their phone.
- :mod:`deviceauth.django.urls` (namespace ``deviceauth``): ``signin`` (GET form, POST
  ``username``), ``wait`` (the waiting page), ``events`` (SSE), ``status`` (JSON),
  ``ended``, ``signout`` (POST), ``register``, ``register_status``, ``script``.
- :class:`~deviceauth.django.backends.DeviceAuthBackend`:
  ``authenticate(request, sealed_session=...)``.
- :class:`~deviceauth.django.middleware.DeviceAuthMiddleware`: the check on each request
  of a signed-in user (remote logout, walkaway, ended session), never a 500.
- :func:`sign_ins`: this process's :class:`deviceauth.web.SignIns`, made on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .conf import read_settings, sign_ins
    from .views import signed_up

__all__ = ["sign_ins", "read_settings", "signed_up"]


def __getattr__(name: str) -> Any:
    # Lazy: Django imports this package while it loads INSTALLED_APPS, before models may be.
    if name in ("sign_ins", "read_settings"):
        from . import conf

        return getattr(conf, name)
    if name == "signed_up":
        from .views import signed_up

        return signed_up
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
