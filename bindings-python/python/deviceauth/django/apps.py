"""The app's configuration: label ``deviceauth``, system checks of the settings."""

from __future__ import annotations

from django.apps import AppConfig


class DeviceAuthConfig(AppConfig):
    name = "deviceauth.django"
    label = "deviceauth"
    verbose_name = "deviceauth sign-in"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out
        from django.core.signals import setting_changed

        from . import checks, conf, views

        checks.register()
        setting_changed.connect(conf.settings_changed, dispatch_uid="deviceauth.django.settings_changed")
        user_logged_out.connect(views.logged_out, dispatch_uid="deviceauth.django.logged_out")
