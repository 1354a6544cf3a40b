"""Sign up and the home page. Signing in, out and registering the phone are
deviceauth.django's pages (mysite/urls.py)."""

import re

from django.contrib.auth import get_user_model
from django.db import transaction
from django.shortcuts import redirect, render

import deviceauth.django

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def home(request):
    return render(request, "accounts/home.html")


def signup(request):
    if request.method != "POST":
        return render(request, "accounts/signup.html")
    name = request.POST.get("username", "").strip()
    users = get_user_model().objects
    if not NAME.match(name):
        error, status = "A user name has 1 to 64 letters, digits, dots, dashes or underscores.", 400
    elif users.filter(username=name).exists():
        error, status = f"The name {name} is taken. Sign in instead, or choose another name.", 409
    else:
        with transaction.atomic():
            user = users.create_user(username=name)  # no password: the phone is the way in
            deviceauth.django.signed_up(request, user)  # its service id; the register page may show it
        return redirect("deviceauth:register")  # the QR code and link that register the phone
    return render(request, "accounts/signup.html", {"error": error, "username": name}, status=status)
