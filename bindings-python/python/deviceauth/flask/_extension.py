"""The Flask extension: settings, the per-process flow, the blueprint and the per-request check."""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Tuple, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_user, logout_user
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from .. import web
from ..web import _settings as web_settings
from .._errors import DeviceAuthError, InvalidArgumentError

#: Every setting the extension reads from ``app.config`` (``DEVICEAUTH_`` + the name) or
#: takes as a keyword of :class:`DeviceAuth` (the name in lower case), with its default.
#: The first ones are :class:`deviceauth.web.Settings`'; the last ones are Flask's own.
SETTINGS: Dict[str, Any] = {
    "APPLICATION_ID": None,
    "APPLICATION_SECRET": None,
    "BASE_URL": None,
    "STORE": "sqlite:///<app.instance_path>/deviceauth.db",
    "SEAL_KEY": "HMAC-SHA256(app.secret_key, 'deviceauth seal key v1')",
    "WALKAWAY": "sign_out",
    "FAIL_MODE": "closed",
    "CHECK_BUDGET": web.DEFAULT_CHECK_BUDGET,
    "ATTEMPTS": 5,
    "ATTEMPT_WINDOW": 600,
    "MONITOR": True,
    "MONITOR_INTERVAL": None,
    "CA_FILE": None,
    "URL_PREFIX": "/deviceauth",
    "ACCOUNT_FIELD": "username",
    "HOME_URL": "/",
    "BASE_TEMPLATE": "deviceauth/base.html",
    "EVENTS": True,
}
_ALIASES = {"APP_ID": "APPLICATION_ID", "APP_SECRET": "APPLICATION_SECRET"}

# Keys of the Flask session (a signed cookie: the sessions in it are sealed).
_SIGNED_IN = "deviceauth.session"  # the signed-in user's session, sealed
_PENDING = "deviceauth.pending"  # the sign-in waiting on the phone, sealed
_PENDING_USER = "deviceauth.user"  # Flask-Login id of the user signing in
_ACCOUNT = "deviceauth.account"  # the account name typed in the form
_NEXT = "deviceauth.next"  # where to go once signed in
_SIGNED_UP = "deviceauth.signed_up"  # [Flask-Login id, time]: may register a phone
_SIGN_IN_KEYS = (_PENDING, _PENDING_USER, _ACCOUNT, _NEXT)
#: How long after sign-up the new user may open the registration page unsigned-in, in seconds.
SIGNED_UP_FOR = 3600.0
_MAX_ACCOUNT = 256
# Endpoints that never need the check (no page for a signed-in user).
_UNCHECKED = {"static", "deviceauth.static", "deviceauth.signout"}

_F = TypeVar("_F", bound=Callable[..., Any])
_PACKAGE = Path(__file__).resolve().parent


class _AppState:
    """One app's settings and its flow, made once per process on first use."""

    def __init__(self, settings: web.Settings, options: Dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        self._lock = threading.Lock()
        self._flow: Optional[web.SignIns] = None
        self._pid = 0

    def signins(self) -> web.SignIns:
        # Per process: a gunicorn worker forked from a master that loaded the app makes its
        # own (nothing runs before the fork; the monitor starts on the first check).
        pid = os.getpid()
        if self._flow is None or self._pid != pid:
            with self._lock:
                if self._flow is None or self._pid != pid:
                    flow = web.SignIns(self.settings)
                    atexit.register(flow.close)
                    self._flow, self._pid = flow, pid
        return self._flow


class DeviceAuth:
    """The Flask extension: ``DeviceAuth(app)`` or ``DeviceAuth()`` then ``init_app(app)``.

    Settings come from ``app.config`` (``DEVICEAUTH_APPLICATION_ID``, ... see
    :data:`SETTINGS`); keywords override them (``DeviceAuth(app, walkaway="keep",
    url_prefix="/auth")``). Bad values raise :class:`deviceauth.InvalidArgumentError` here,
    at startup. Nothing connects to the service or the store before the first request.

    The app says how to find a user by the account name typed in the sign-in form
    (:meth:`user_finder`) and, unless its user model has a ``deviceauth_id`` attribute
    (:class:`DeviceAuthUserMixin`), the id the user is registered under at the service
    (:meth:`service_id`). Flask-Login's ``LoginManager`` with its ``user_loader`` must be set
    up on the app.
    """

    def __init__(self, app: Optional[Flask] = None, **overrides: Any) -> None:
        unknown = [k for k in overrides if k.upper() not in SETTINGS and k.upper() not in _ALIASES]
        if unknown:
            raise TypeError(f"DeviceAuth() got unknown settings {sorted(unknown)}; known: {sorted(SETTINGS)}")
        self._overrides = {_ALIASES.get(k.upper(), k.upper()): v for k, v in overrides.items()}
        self._find_user: Optional[Callable[[str], Any]] = None
        self._service_id: Callable[[Any], Optional[str]] = _deviceauth_id
        self._display_name: Callable[[Any], Optional[str]] = lambda user: None
        if app is not None:
            self.init_app(app)

    # -- set-up ---------------------------------------------------------------------------

    def init_app(self, app: Flask) -> None:
        """Reads and checks the settings, registers the blueprint and the per-request check."""

        def get(name: str) -> Any:
            key = name[len("DEVICEAUTH_") :]
            key = _ALIASES.get(key, key)
            return self._overrides[key] if key in self._overrides else app.config.get(name)

        store = get("DEVICEAUTH_STORE")
        default_store = _default_store(app) if store is None or store == "" else None
        settings = web.Settings.from_config(get, secret_key=app.secret_key or None, default_store=default_store)
        flask_keys = ("URL_PREFIX", "ACCOUNT_FIELD", "HOME_URL", "BASE_TEMPLATE", "EVENTS")
        options = {key: get("DEVICEAUTH_" + key) for key in flask_keys}
        options = {key: SETTINGS[key] if value is None else value for key, value in options.items()}
        options["EVENTS"] = web_settings.flag(options["EVENTS"], "EVENTS")
        prefix = str(options["URL_PREFIX"]).rstrip("/")
        if prefix and not prefix.startswith("/"):
            raise InvalidArgumentError("DEVICEAUTH_URL_PREFIX must start with / (or be empty)")
        if not str(options["ACCOUNT_FIELD"]):
            raise InvalidArgumentError("DEVICEAUTH_ACCOUNT_FIELD must name a form field")
        app.extensions["deviceauth"] = _AppState(settings, options)
        app.register_blueprint(self._blueprint(), url_prefix=prefix or None)
        app.before_request(self._check)
        manager = getattr(app, "login_manager", None)
        if manager is not None and manager.login_view is None:
            manager.login_view = "deviceauth.signin"

    def user_finder(self, finder: _F) -> _F:
        """Decorator: ``finder(account_name) -> user or None``, the user the sign-in form
        names (a Flask-Login user object)."""
        self._find_user = finder
        return finder

    def service_id(self, getter: _F) -> _F:
        """Decorator: ``getter(user) -> str``, the id the user is registered under at the
        service (default: ``user.deviceauth_id``, see :class:`DeviceAuthUserMixin`). Use a
        random token, never a name or an e-mail address."""
        self._service_id = getter
        return getter

    def display_name(self, getter: _F) -> _F:
        """Decorator: ``getter(user) -> str``, the name the phone app shows for the account
        (default: the service's)."""
        self._display_name = getter
        return getter

    # -- for the app ----------------------------------------------------------------------

    @property
    def settings(self) -> web.Settings:
        """The current app's :class:`deviceauth.web.Settings`."""
        return _state().settings

    @property
    def signins(self) -> web.SignIns:
        """The current app's :class:`deviceauth.web.SignIns` in this process."""
        return _state().signins()

    def signed_up(self, user: Any) -> BaseResponse:
        """After the app created ``user``: lets this browser open the registration page for
        an hour without signing in, and returns the redirect to it."""
        session[_SIGNED_UP] = [str(user.get_id()), time.time()]
        return redirect(url_for("deviceauth.register"))

    def sign_out(self) -> None:
        """Signs the current user out of the app and logs the service session out (for an
        app's own sign-out view; the blueprint's ``deviceauth.signout`` does it too)."""
        sealed = session.pop(_SIGNED_IN, None)
        for key in _SIGN_IN_KEYS:
            session.pop(key, None)
        if sealed:
            _state().signins().sign_out(sealed)
        logout_user()

    # -- the check on each request ----------------------------------------------------------

    def _check(self) -> None:
        if request.endpoint in _UNCHECKED or _SIGNED_IN not in session:
            return
        sealed = session[_SIGNED_IN]
        flow = _state().signins()
        if not current_user.is_authenticated or flow.user_of(sealed) != self._service_id_of(current_user):
            # The app logged the user out (or someone else in) by itself: end the session.
            session.pop(_SIGNED_IN, None)
            flow.sign_out(sealed)
            return
        verdict = flow.check(sealed)
        if verdict.signed_in:
            if verdict.sealed and verdict.sealed != sealed:
                session[_SIGNED_IN] = verdict.sealed
            return
        session.pop(_SIGNED_IN, None)
        logout_user()
        flash(verdict.message or "You were signed out.", "deviceauth")

    # -- helpers ----------------------------------------------------------------------------

    def _service_id_of(self, user: Any) -> Optional[str]:
        value = self._service_id(user)
        return str(value) if value else None

    def _load(self, user_id: Optional[str], account: Optional[str]) -> Any:
        """The user signing in: through Flask-Login's user loader, else the finder."""
        manager = _login_manager()
        user = None
        if user_id is not None and manager.user_callback is not None:
            user = manager.user_callback(user_id)
        if user is None and account and self._find_user is not None:
            user = self._find_user(account)
        return user

    def _log_in(self, progress: web.Progress) -> bool:
        """Signs in the user of an approved sign-in; False (and the session ended) when the
        user is gone, inactive, or not the one the session belongs to."""
        sealed = progress.sealed
        user = self._load(session.get(_PENDING_USER), session.get(_ACCOUNT))
        flow = _state().signins()
        if sealed is None or user is None or flow.user_of(sealed) != self._service_id_of(user) or not login_user(user):
            if sealed is not None:
                flow.sign_out(sealed)
            _forget_sign_in()
            return False
        previous = session.get(_SIGNED_IN)
        if previous and flow.user_of(previous) != flow.user_of(sealed):  # someone else was signed in here
            flow.sign_out(previous)
        session[_SIGNED_IN] = sealed
        for key in (_PENDING, _PENDING_USER, _ACCOUNT, _SIGNED_UP):  # _NEXT: for the finish route
            session.pop(key, None)
        return True

    def _advance(self, progress: web.Progress) -> web.Progress:
        """Keeps what one check of a pending sign-in says: the session sealed again, the user
        signed in once approved, the sign-in forgotten once done."""
        if progress.approved:
            if not self._log_in(progress):
                return web.Progress("ended", progress.status, web.PROGRESS_MESSAGES["ended"])
            return progress
        if progress.done:
            _forget_sign_in()
        elif progress.sealed is not None:
            session[_PENDING] = progress.sealed
        return progress

    def _registering_user(self) -> Any:
        """The user whose phone the registration page registers: the signed-in user, else
        the one this browser signed up within the hour."""
        if current_user.is_authenticated:
            return current_user._get_current_object()
        signed_up = session.get(_SIGNED_UP)
        if not signed_up or time.time() - float(signed_up[1]) > SIGNED_UP_FOR:
            return None
        return self._load(str(signed_up[0]), None)

    # -- the blueprint ----------------------------------------------------------------------

    def _blueprint(self) -> Blueprint:
        bp = Blueprint(
            "deviceauth",
            __name__,
            template_folder=str(_PACKAGE / "templates"),
            static_folder=str(web.WAIT_SCRIPT_PATH.parent),
            static_url_path="/static",
        )

        @bp.context_processor
        def base_template() -> Dict[str, Any]:
            return {"deviceauth_base": _state().options["BASE_TEMPLATE"]}

        @bp.route("/signin", methods=["GET", "POST"])
        def signin() -> Any:
            field = _state().options["ACCOUNT_FIELD"]
            target = _next_url(request.values.get("next"))
            if request.method == "GET":
                if current_user.is_authenticated:
                    return redirect(target)
                return render_template("deviceauth/signin.html", field=field, account="", next=request.args.get("next"))
            account = request.form.get(field, "").strip()
            if not account or len(account) > _MAX_ACCOUNT:
                return _problem(400, "Enter the name of your account.", account=account)
            if self._find_user is None:
                raise RuntimeError("DeviceAuth needs a user finder: decorate one with @deviceauth.user_finder")
            user = self._find_user(account)
            service_id = self._service_id_of(user) if user is not None else None
            if user is None or service_id is None:
                return _problem(404, f'There is no account named "{account}". Sign up first.', account=account)
            try:
                sealed = _state().signins().start(service_id)
            except DeviceAuthError as error:
                status, message = web.problem(error)
                return _problem(status, message, account=account, error=error)
            _forget_sign_in()
            session.update({_PENDING: sealed, _PENDING_USER: str(user.get_id()), _ACCOUNT: account, _NEXT: target})
            return redirect(url_for("deviceauth.wait"))

        @bp.route("/wait")
        def wait() -> Any:
            if _PENDING not in session:
                if current_user.is_authenticated:
                    return redirect(_next_url(None))
                return redirect(_login_url())
            events = url_for("deviceauth.events") if _state().options["EVENTS"] else ""
            snippet = web.waiting_html(
                events,
                url_for("deviceauth.status"),
                url_for("deviceauth.finish"),
                url_for("deviceauth.ended"),
                url_for("deviceauth.static", filename="deviceauth-wait.js"),
            )
            page = render_template("deviceauth/wait.html", waiting=Markup(snippet), account=session.get(_ACCOUNT, ""))
            return _no_store(page)

        @bp.route("/events")
        def events() -> Any:
            sealed = session.get(_PENDING)
            flow = _state().signins()
            if sealed is None:
                chunks: Iterator[str] = iter([web.sse(_settled())])
            else:
                chunks = flow.stream(sealed)
            response = Response(stream_with_context(chunks), mimetype="text/event-stream")
            response.headers["Cache-Control"] = "no-store"
            response.headers["X-Accel-Buffering"] = "no"
            return response

        @bp.route("/status")
        def status() -> Any:
            sealed = session.get(_PENDING)
            progress = _settled() if sealed is None else self._advance(_state().signins().progress(sealed))
            return _no_store(jsonify(progress.to_dict()))

        @bp.route("/finish")
        def finish() -> Any:
            """Where the waiting page goes once approved: one more check, then sign in."""
            sealed = session.get(_PENDING)
            if sealed is None:
                if current_user.is_authenticated and _SIGNED_IN in session:
                    return redirect(_next_url(session.pop(_NEXT, None)))
                return redirect(_login_url())
            target = session.get(_NEXT)
            progress = self._advance(_state().signins().progress(sealed))
            if progress.approved:
                return redirect(_next_url(target))
            if progress.done:
                return redirect(url_for("deviceauth.ended", state=progress.state))
            return redirect(url_for("deviceauth.wait"))

        @bp.route("/ended")
        def ended() -> Any:
            state = request.args.get("state", "ended")
            if state not in ("refused", "timeout", "ended"):
                state = "ended"
            sealed = session.get(_PENDING)
            if sealed is not None:
                _state().signins().sign_out(sealed)
            _forget_sign_in()
            return render_template(
                "deviceauth/ended.html", state=state, message=web.PROGRESS_MESSAGES[state], login_url=_login_url()
            )

        @bp.route("/signout", methods=["POST"])
        def signout() -> Any:
            self.sign_out()
            flash("You are signed out.", "deviceauth")
            return redirect(_next_url(request.form.get("next")))

        @bp.route("/register")
        def register() -> Any:
            user = self._registering_user()
            service_id = self._service_id_of(user) if user is not None else None
            if service_id is None:
                return _problem(403, "Sign in, or sign up, to register your phone.")
            try:
                link = _state().signins().registration_link(service_id, self._display_name(user))
                registered = _state().signins().is_registered(service_id)
            except DeviceAuthError as error:
                return _problem(*web.problem(error))
            page = render_template(
                "deviceauth/register.html",
                user=user,
                link=link,
                qr_svg=Markup(web.registration_qr(link)),
                registered=registered,
                status_url=url_for("deviceauth.register_status"),
                login_url=_login_url(),
            )
            return _no_store(page)

        @bp.route("/register/status")
        def register_status() -> Any:
            user = self._registering_user()
            service_id = self._service_id_of(user) if user is not None else None
            if service_id is None:
                return _no_store(jsonify(registered=False, message="Sign in, or sign up, first.")), 403
            try:
                return _no_store(jsonify(registered=_state().signins().is_registered(service_id)))
            except DeviceAuthError as error:
                code, message = web.problem(error)
                return _no_store(jsonify(registered=False, message=message)), code

        return bp


# -- module helpers ---------------------------------------------------------------------------


def _state() -> _AppState:
    try:
        return current_app.extensions["deviceauth"]  # type: ignore[no-any-return]
    except KeyError:
        raise RuntimeError("DeviceAuth is not set up on this app: call DeviceAuth(app) or init_app(app)") from None


def _login_manager() -> Any:
    manager = getattr(current_app, "login_manager", None)
    if manager is None:
        raise RuntimeError("DeviceAuth signs users in with Flask-Login: set up a LoginManager on the app")
    return manager


def _deviceauth_id(user: Any) -> Optional[str]:
    value = getattr(user, "deviceauth_id", None)
    if value is None and not hasattr(user, "deviceauth_id"):
        raise RuntimeError(
            "the user has no deviceauth_id: add DeviceAuthUserMixin to the model or decorate a @deviceauth.service_id"
        )
    return None if value is None else str(value)


def _default_store(app: Flask) -> str:
    folder = Path(app.instance_path).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return "sqlite://" + (folder / "deviceauth.db").as_posix()


def _needs_phone(error: Optional[DeviceAuthError]) -> bool:
    """Whether a failed start means the user must register a phone first (no phone yet, or
    not known to the service yet: never shown a registration link)."""
    if error is None:
        return False
    return error.code == "NOT_FOUND" or (error.code == "NOT_STARTED" and error.reason == "NO_MOBILE_DEVICE")


def _forget_sign_in() -> None:
    for key in _SIGN_IN_KEYS:
        session.pop(key, None)


def _settled() -> web.Progress:
    """The progress to report when no sign-in is pending: approved if this browser is signed
    in (the page then moves on), else ended."""
    state = "approved" if current_user.is_authenticated and _SIGNED_IN in session else "ended"
    return web.Progress(state, None, web.PROGRESS_MESSAGES[state])


def _next_url(candidate: Optional[str]) -> str:
    """``candidate`` when it is a path on this site, else the home URL."""
    if candidate:
        parts = urlsplit(candidate)
        if (
            not parts.scheme
            and not parts.netloc
            and candidate.startswith("/")
            and not candidate.startswith("//")
            and "\\" not in candidate
        ):
            return candidate
    home = str(_state().options["HOME_URL"])
    return request.script_root + home if home.startswith("/") else home


def _login_url() -> str:
    manager = getattr(current_app, "login_manager", None)
    view = getattr(manager, "login_view", None) or "deviceauth.signin"
    return url_for(view)


def _no_store(body: Any) -> Response:
    response: Response = current_app.make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


def _problem(
    status: int,
    message: str,
    account: str = "",
    error: Optional[DeviceAuthError] = None,
) -> Tuple[Response, int]:
    """The page for a sign-in that could not start (or a registration page that cannot
    show), with its status code."""
    page = render_template(
        "deviceauth/problem.html",
        status=status,
        message=message,
        account=account,
        no_phone=_needs_phone(error),
        login_url=_login_url(),
        register_url=url_for("deviceauth.register"),
    )
    response = _no_store(page)
    seconds = getattr(error, "retry_after", None)
    if status == 429 and seconds:
        response.headers["Retry-After"] = str(max(1, math.ceil(float(seconds))))
    return response, status
