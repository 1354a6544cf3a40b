"""Sign in with a push to the phone, the waiting page, sign out, and the check on each
request (a read of the monitor's store) that signs a user out on remote logout, walkaway
or the end of the session."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from sqlalchemy import select

from deviceauth import DeviceAuthError, NotStartedError
from deviceauth.activeconnect import Status
from models import SignInSession, User, utcnow

bp = Blueprint("signin", __name__)
log = logging.getLogger(__name__)

ENDED = {
    "failed": "The sign-in was refused on your phone.",
    "cancelled": "The sign-in was cancelled on your phone.",
    "timeout": "Your phone did not answer in time.",
    "closed": "The sign-in session was closed before it completed.",
}
SIGNED_OUT = {
    Status.WALKAWAY: "your phone is no longer near this computer",
    Status.CLOSED: "your session was ended (remote logout or expiry)",
}


def client():
    return current_app.extensions["activeconnect"]


def monitor():
    return current_app.extensions["monitor"]


def current_row() -> SignInSession | None:
    sid = session.get("sid")
    row = g.db.get(SignInSession, sid) if sid else None
    if sid and row is None:
        session.pop("sid", None)
    return row


def end(row: SignInSession) -> None:
    try:
        monitor().remove(row.id)
    except DeviceAuthError as error:
        log.warning("could not remove the session from the monitor's store (%s)", error.code)
    g.db.delete(row)
    g.db.commit()
    session.pop("sid", None)


def load_current_user() -> None:
    """Sets g.user. A signed-in user's status is the one the monitors last saw, read from
    their store (no call to the service); anything but `active` signs the user out."""
    g.user = None
    row = current_row()
    if row is None or row.status != Status.ACTIVE.value:
        return
    try:
        stored = monitor().status(row.id)
    except DeviceAuthError as error:
        log.warning("session check failed (%s); keeping the user signed in", error.code)
        g.user = row.user
        return
    status = stored.status if stored is not None else Status.CLOSED
    if status is not Status.ACTIVE:
        if status.is_authenticated:
            try:
                client().resume(row.data).logout()
            except DeviceAuthError:
                pass
        end(row)
        flash(f"You were signed out: {SIGNED_OUT.get(status, 'your session ended')}.")
        return
    g.user = row.user


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if g.user is not None:
        return redirect(url_for("index"))
    if request.method == "GET":
        return render_template("signin.html")
    name = request.form.get("username", "").strip()
    user = g.db.scalar(select(User).where(User.name == name))
    if user is None:
        flash(f"There is no account named {name!r}. Sign up first.")
        return render_template("signin.html", username=name), 404
    try:
        signin_session = client().authenticate_user(user.token.token)
    except NotStartedError as error:
        if error.reason == "NO_MOBILE_DEVICE":
            return render_template("no_device.html", user=user), 409
        flash(f"The sign-in could not start ({error.reason}).")
        return render_template("signin.html", username=name), 409
    except DeviceAuthError as error:
        flash(f"The sign-in service is not available right now ({error.code}). Try again in a moment.")
        return render_template("signin.html", username=name), 502
    row = SignInSession(user=user, data=signin_session.to_json(), status=signin_session.status.value)
    g.db.add(row)
    g.db.commit()
    session["sid"] = row.id
    return redirect(url_for("signin.waiting"))


@bp.route("/signin/wait")
def waiting():
    row = current_row()
    if row is None:
        return redirect(url_for("signin.signin"))
    if row.status == Status.ACTIVE.value:
        return redirect(url_for("index"))
    return render_template("waiting.html", user=row.user, status=row.status)


@bp.route("/signin/status")
def status():
    """Polled by the waiting page: one status check of the pending sign-in."""
    row = current_row()
    if row is None:
        return jsonify(state="none", redirect=url_for("signin.signin"))
    signin_session = client().resume(row.data)
    try:
        current = signin_session.refresh()
    except DeviceAuthError as error:
        return jsonify(state="waiting", status=row.status, problem=error.code), 503
    if current is Status.ACTIVE:
        # From now on the monitors watch it, under the sign-in's id.
        try:
            monitor().add(signin_session, key=row.id)
        except DeviceAuthError as error:
            return jsonify(state="waiting", status=row.status, problem=error.code), 503
    row.status = current.value
    row.data = signin_session.to_json()
    row.checked_at = utcnow()
    g.db.commit()
    if current is Status.ACTIVE:
        return jsonify(state="signed-in", status=current.value, redirect=url_for("index"))
    if current.is_in_progress:
        return jsonify(state="waiting", status=current.value)
    if current is Status.WALKAWAY:
        signin_session.logout()
    end(row)
    return jsonify(state="ended", status=current.value, redirect=url_for("signin.ended", status=current.value))


@bp.route("/signin/ended/<status>")
def ended(status: str):
    message = ENDED.get(status, "The sign-in did not complete.")
    return render_template("ended.html", message=message, status=status)


@bp.route("/signout", methods=["POST"])
def signout():
    row = current_row()
    if row is not None:
        try:
            client().resume(row.data).logout()
        except DeviceAuthError as error:
            log.warning("logout failed (%s); signing out locally", error.code)
        end(row)
    flash("You are signed out.")
    return redirect(url_for("index"))
