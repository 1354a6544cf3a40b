"""The check on each request of a user signed in through the phone."""

from __future__ import annotations

import logging
from typing import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from .. import DeviceAuthError
from ..web import SIGNED_OUT_MESSAGES
from .conf import sign_ins
from .views import SIGNED_IN, notify

log = logging.getLogger("deviceauth.django")


class DeviceAuthMiddleware:
    """For an authenticated user signed in through :mod:`deviceauth.django`, checks the
    session (:meth:`deviceauth.web.SignIns.check`: a read of the Monitor's store, no call
    to the service) and signs the user out, with a message, after a remote logout, a
    walkaway (``WALKAWAY: "sign_out"``), the end of the session, or when its status cannot
    be known and ``FAIL_MODE`` is ``"closed"``. Never raises. Place it after
    ``AuthenticationMiddleware`` (and after ``MessageMiddleware`` for the message)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        self.check(request)
        return self.get_response(request)

    def check(self, request: HttpRequest) -> None:
        session = getattr(request, "session", None)
        if session is None:
            return
        sealed = session.get(SIGNED_IN)
        if sealed is None:
            return
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            session.pop(SIGNED_IN, None)  # signed out some other way
            return
        try:
            verdict = sign_ins().check(sealed)
        except DeviceAuthError as error:  # e.g. settings that cannot be used
            fail_open = _fail_open()
            log.warning("session check failed (%s); fail mode %s", error.code, "open" if fail_open else "closed")
            if fail_open:
                return
            message = SIGNED_OUT_MESSAGES["unavailable"]
        else:
            if verdict.signed_in:
                if verdict.sealed and verdict.sealed != sealed:
                    session[SIGNED_IN] = verdict.sealed
                return
            message = verdict.message or SIGNED_OUT_MESSAGES["ended"]
        session.pop(SIGNED_IN, None)  # already out of the store: no second sign-out on logout
        logout(request)
        notify(request, message, warning=True)


def _fail_open() -> bool:
    from .conf import configured

    try:
        return str(configured().get("FAIL_MODE", "closed")) == "open"
    except DeviceAuthError:
        return False
