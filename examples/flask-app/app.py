"""Microblog with passwordless sign-in: the Flask Mega-Tutorial's microblog, its password
form replaced by an Activeconnect push to the user's phone, through `deviceauth`.

Run it (the emulator stands in for the service):

    DEVICEAUTH_APP_ID=... DEVICEAUTH_APP_SECRET=... ACTIVE_CONNECT_SERVER=http://127.0.0.1:8790 \\
        flask --app app run            # or: gunicorn -w 4 'app:create_app()' (no --preload:
                                       # each worker starts its own monitor)

Settings come from the environment: DEVICEAUTH_APP_ID, DEVICEAUTH_APP_SECRET,
ACTIVE_CONNECT_SERVER (the service; production when unset), DATABASE_URL (default a
SQLite file next to this one; `postgresql://...` for Postgres), SECRET_KEY (cookie
signing; random per start when unset, which signs everyone out at restart and does not
work with several workers), DEVICEAUTH_SEAL_KEY (64 hex digits sealing the sessions in the
monitor's store; made in the instance folder when unset), and STATUS_CHECK_SECONDS (how
often the monitor checks a signed-in user's session, default 5).

Signed-in sessions are watched by a store-backed monitor (see monitor.py): each request
reads the session's last known status from the store instead of calling the service.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

import accounts
import monitor
import signin
from deviceauth import activeconnect
from models import Post, make_sessionmaker


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    here = Path(__file__).resolve().parent
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        DATABASE_URL=os.environ.get("DATABASE_URL") or f"sqlite:///{here / 'microblog.db'}",
        DEVICEAUTH_APP_ID=os.environ.get("DEVICEAUTH_APP_ID", ""),
        DEVICEAUTH_APP_SECRET=os.environ.get("DEVICEAUTH_APP_SECRET", ""),
        ACTIVE_CONNECT_SERVER=os.environ.get("ACTIVE_CONNECT_SERVER"),
        STATUS_CHECK_SECONDS=float(os.environ.get("STATUS_CHECK_SECONDS", "5")),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.config.update(config or {})
    app.extensions["db"] = make_sessionmaker(app.config["DATABASE_URL"])
    # One client per process: the package rebuilds its runtime and connections after a
    # fork, so gunicorn's preforked workers can share this object safely.
    app.extensions["activeconnect"] = activeconnect.Client(
        app.config["DEVICEAUTH_APP_ID"],
        app.config["DEVICEAUTH_APP_SECRET"],
        base_url=app.config["ACTIVE_CONNECT_SERVER"],
    )
    app.extensions["monitor"] = monitor.start(app, app.extensions["activeconnect"])
    app.register_blueprint(accounts.bp)
    app.register_blueprint(signin.bp)

    @app.before_request
    def open_database() -> None:
        g.db = app.extensions["db"]()
        signin.load_current_user()

    @app.teardown_request
    def close_database(_error: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.route("/", methods=["GET", "POST"])
    def index():
        if g.user is None:
            return render_template("welcome.html")
        if request.method == "POST":
            body = request.form.get("post", "").strip()
            if not body or len(body) > 280:
                flash("A post has 1 to 280 characters.")
            else:
                g.db.add(Post(body=body, author=g.db.merge(g.user)))
                g.db.commit()
                flash("Your post is now live!")
            return redirect(url_for("index"))
        posts = g.db.scalars(select(Post).order_by(Post.timestamp.desc()).limit(50)).all()
        return render_template("index.html", posts=posts)

    return app
