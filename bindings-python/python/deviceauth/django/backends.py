"""The authentication backend: a sealed session whose sign-in was approved names its user."""

from __future__ import annotations

from typing import Any, Optional

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from .. import DeviceAuthError


class DeviceAuthBackend(ModelBackend):
    """``authenticate(request, sealed_session=...)`` returns the user whose phone approved
    the sign-in of ``sealed_session`` (a session sealed by :mod:`deviceauth.web`), or
    ``None``: not sealed by this app, not approved (or signed out since, checked in the
    Monitor's store), no such user, or an inactive one. It never takes a password (user
    names and passwords are ``ModelBackend``'s); permissions and ``get_user`` are
    ``ModelBackend``'s."""

    def authenticate(  # type: ignore[override]
        self, request: Optional[HttpRequest], sealed_session: Optional[str] = None, **kwargs: Any
    ) -> Any:
        if not sealed_session or not isinstance(sealed_session, str):
            return None
        from .conf import sign_ins
        from .models import DeviceAuthUser

        try:
            flow = sign_ins()
            service_id = flow.user_of(sealed_session)
            if service_id is None or not flow.check(sealed_session).signed_in:
                return None
        except DeviceAuthError:
            return None
        row = DeviceAuthUser.objects.select_related("user").filter(service_id=service_id).first()
        if row is None or not self.user_can_authenticate(row.user):
            return None
        return row.user
