"""Sign up: create the user and the random token registered with Activeconnect, then
show the device-registration link as a QR code to scan with the phone."""

from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup
from sqlalchemy import select

from deviceauth import DeviceAuthError, qr
from models import ActiveconnectToken, User

bp = Blueprint("accounts", __name__)

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def client():
    return current_app.extensions["activeconnect"]


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if request.method == "GET":
        return render_template("signup.html")
    name = request.form.get("username", "").strip()
    if not NAME.match(name):
        flash("A user name has 1 to 64 letters, digits, dots, dashes or underscores.")
        return render_template("signup.html", username=name), 400
    if g.db.scalar(select(User).where(User.name == name)) is not None:
        flash(f"The name {name} is taken. Sign in instead, or choose another name.")
        return render_template("signup.html", username=name), 409
    user = User(name=name, token=ActiveconnectToken())
    g.db.add(user)
    g.db.flush()
    try:
        client().add_users([user.token.token])
    except DeviceAuthError as error:
        g.db.rollback()
        flash(f"Could not register {name} with the sign-in service: {error}")
        return render_template("signup.html", username=name), 502
    g.db.commit()
    return redirect(url_for("accounts.register_device", name=name))


@bp.route("/register/<name>")
def register_device(name: str):
    """The registration link of a user, as a QR code and a link, and whether a phone is
    registered yet (the page checks again by itself)."""
    user = g.db.scalar(select(User).where(User.name == name))
    if user is None:
        abort(404)
    link = client().device_registration_link(user.token.token, display_name=f"{user.name} @ microblog")
    registered = client().has_registered_mobile_device(user.token.token)
    return render_template(
        "register.html", user=user, link=link, qr_svg=Markup(qr.svg(link)), registered=registered
    )


@bp.route("/register/<name>/status")
def device_status(name: str):
    user = g.db.scalar(select(User).where(User.name == name))
    if user is None:
        abort(404)
    return jsonify(registered=client().has_registered_mobile_device(user.token.token))
