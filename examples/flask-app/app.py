"""Microblog with passwordless sign-in: the Flask Mega-Tutorial's microblog, its password
form replaced by an Activeconnect push to the user's phone, through `deviceauth.flask`
(Flask-Login does the rest).

Run it (the emulator stands in for the service):

    deviceauth-emulator --listen 127.0.0.1:8790 --app demo-app:demo-secret &
    DEVICEAUTH_APPLICATION_ID=demo-app DEVICEAUTH_APPLICATION_SECRET=demo-secret \\
    DEVICEAUTH_BASE_URL=http://127.0.0.1:8790 SECRET_KEY=change-me flask --app app run
    # or: gunicorn 'app:create_app()'   (gunicorn.conf.py: 3 workers of 8 threads)

Settings come from the environment: every DEVICEAUTH_* variable (see
bindings-python/README.md#flask), DATABASE_URL (default a SQLite file next to this one;
`postgresql://...` for Postgres, which then keeps the sign-in sessions too), SECRET_KEY
(cookie signing, and the key sealing the sign-in sessions; random per start when unset,
which signs everyone out at restart and does not work with several workers).
"""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

from flask import Flask, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user
from sqlalchemy import select

from deviceauth.flask import DeviceAuth
from models import Post, User, make_session

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def create_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    here = Path(__file__).resolve().parent
    config = config or {}
    database_url = config.get("DATABASE_URL") or os.environ.get("DATABASE_URL") or f"sqlite:///{here / 'microblog.db'}"
    # The signed-in sessions live in the app's Postgres, else in a SQLite file next to its own.
    store = database_url if database_url.startswith("postgres") else database_url.removesuffix(".db") + "-sessions.db"
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY") or secrets.token_hex(32),
        DATABASE_URL=database_url,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        DEVICEAUTH_STORE=store,
        DEVICEAUTH_BASE_TEMPLATE="base.html",  # the sign-in pages in the app's layout
    )
    app.config.update({key: value for key, value in os.environ.items() if key.startswith("DEVICEAUTH_")})
    app.config.update(config)
    db = make_session(database_url)
    app.teardown_appcontext(lambda _error: db.remove())

    login = LoginManager(app)
    login.user_loader(lambda user_id: db.get(User, int(user_id)))
    deviceauth = DeviceAuth(app)  # sign-in routes under /deviceauth, checks on each request
    deviceauth.display_name(lambda user: f"{user.name} @ microblog")  # what the phone shows

    @deviceauth.user_finder
    def find_user(name: str) -> User | None:
        return db.scalar(select(User).where(User.name == name))

    @app.route("/signup", methods=["GET", "POST"])
    def signup():
        if request.method == "GET":
            return render_template("signup.html")
        name = request.form.get("username", "").strip()
        if not NAME.match(name):
            flash("A user name has 1 to 64 letters, digits, dots, dashes or underscores.")
            return render_template("signup.html", username=name), 400
        if find_user(name) is not None:
            flash(f"The name {name} is taken. Sign in instead, or choose another name.")
            return render_template("signup.html", username=name), 409
        user = User(name=name)
        db.add(user)
        db.commit()
        return deviceauth.signed_up(user)  # to the phone's registration page

    @app.route("/", methods=["GET", "POST"])
    def index():
        if not current_user.is_authenticated:
            return render_template("welcome.html")
        if request.method == "POST":
            body = request.form.get("post", "").strip()
            if not body or len(body) > 280:
                flash("A post has 1 to 280 characters.")
            else:
                db.add(Post(body=body, user_id=current_user.id))
                db.commit()
                flash("Your post is now live!")
            return redirect(url_for("index"))
        posts = db.scalars(select(Post).order_by(Post.timestamp.desc()).limit(50)).all()
        return render_template("index.html", posts=posts)

    return app
