"""Settings of the example: a Django site whose users sign in by approving a request on
their phone (Activeconnect / IAMPASS, through deviceauth.django). No passwords.

Environment: DEVICEAUTH_APP_ID, DEVICEAUTH_APP_SECRET (the application at the service),
ACTIVE_CONNECT_SERVER (the service; e.g. the emulator's http://127.0.0.1:8790; production
when unset), DEVICEAUTH_STORE (the sessions' store; default a SQLite file next to the
database), DEVICEAUTH_WALKAWAY (sign_out | keep), DEVICEAUTH_FAIL_MODE (closed | open),
DJANGO_SECRET_KEY, DJANGO_DB (the SQLite database file), DJANGO_DEBUG (1 | 0).
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-example-only-set-DJANGO_SECRET_KEY")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["127.0.0.1", "localhost", *filter(None, os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(","))]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "deviceauth.django",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "deviceauth.django.middleware.DeviceAuthMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mysite.urls"
WSGI_APPLICATION = "mysite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB") or BASE_DIR / "db.sqlite3",
    }
}

# Sign in through the phone; ModelBackend stays for permissions (nobody here has a password).
AUTHENTICATION_BACKENDS = [
    "deviceauth.django.backends.DeviceAuthBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "deviceauth:signin"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

DEVICEAUTH = {
    "APPLICATION_ID": os.environ.get("DEVICEAUTH_APP_ID", ""),
    "APPLICATION_SECRET": os.environ.get("DEVICEAUTH_APP_SECRET", ""),
    "BASE_URL": os.environ.get("ACTIVE_CONNECT_SERVER") or None,
    "STORE": os.environ.get("DEVICEAUTH_STORE") or "",  # "": a SQLite file next to the database
    "WALKAWAY": os.environ.get("DEVICEAUTH_WALKAWAY", "sign_out"),
    "FAIL_MODE": os.environ.get("DEVICEAUTH_FAIL_MODE", "closed"),
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"deviceauth": {"handlers": ["console"], "level": "WARNING"}},
}
