"""The id a user is known by at the sign-in service."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

from ..web import new_user_id


class DeviceAuthUserManager(models.Manager["DeviceAuthUser"]):
    def for_user(self, user: Any) -> "DeviceAuthUser":
        """The user's row, made (with a new random service id) when missing."""
        row, _ = self.get_or_create(user=user)
        return row


class DeviceAuthUser(models.Model):
    """One user of ``AUTH_USER_MODEL`` as the service knows it: a random token, never the
    user name or e-mail address (as the service's guide advises). The user is added to the
    service when the register page first shows their registration link."""

    user: "models.OneToOneField[Any, Any]" = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="deviceauth", verbose_name="user"
    )
    service_id: "models.CharField[str, str]" = models.CharField(
        "service id", max_length=64, unique=True, default=new_user_id, editable=False,
        help_text="The random id this user has at the sign-in service.",
    )  # fmt: skip
    created_at: "models.DateTimeField[Any, Any]" = models.DateTimeField("created", auto_now_add=True)

    objects = DeviceAuthUserManager()

    class Meta:
        verbose_name = "deviceauth user"
        verbose_name_plural = "deviceauth users"

    def __str__(self) -> str:
        return f"deviceauth user {self.pk}"
