"""``path("auth/", include("deviceauth.django.urls"))``: the sign-in pages, namespace ``deviceauth``."""

from __future__ import annotations

from django.urls import path

from . import views

app_name = "deviceauth"

urlpatterns = [
    path("signin/", views.signin, name="signin"),
    path("signin/wait/", views.wait, name="wait"),
    path("signin/events/", views.events, name="events"),
    path("signin/status/", views.status, name="status"),
    path("signin/ended/", views.ended, name="ended"),
    path("signout/", views.signout, name="signout"),
    path("register/", views.register, name="register"),
    path("register/status/", views.register_status, name="register_status"),
    path("deviceauth-wait.js", views.script, name="script"),
]
