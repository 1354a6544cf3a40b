"""Sign users in to a FastAPI app with a push to their phone (Activeconnect / IAMPASS).

A thin adapter over :mod:`deviceauth.web` (the flow and the policies every adapter
shares), async throughout::

    from fastapi import Depends, FastAPI
    from starlette.middleware.sessions import SessionMiddleware
    from deviceauth.fastapi import DeviceAuth

    auth = DeviceAuth(find_user=find_user, secret_key=SECRET)   # DEVICEAUTH_* from the environment
    app = FastAPI(lifespan=auth.lifespan)
    app.add_middleware(SessionMiddleware, secret_key=SECRET)    # required: holds the sealed session
    app.include_router(auth.router)                              # /auth/signin, /auth/wait, ...

    @app.get("/private")
    async def private(user: str = Depends(auth.require_user)): ...

``find_user(name)`` (sync or async) maps the name typed into the sign-in form to
``(user_id, service_id)``: your own id for the user, and the random id the user is
registered under at the service (:func:`deviceauth.web.new_user_id`); ``None`` for no such
user.

The router (default prefix ``/auth``):

=====================  ====================================================================
``GET  signin``        a minimal sign-in form (or use your own page posting to ``POST signin``)
``POST signin``        form field ``username`` (and ``next``): pushes the sign-in, then the waiting page
``GET  wait``          the waiting page (SSE, JSON fallback)
``GET  wait.js``       its script
``GET  events``        server-sent events of the sign-in's progress
``GET  status``        the progress as JSON (one status check; stores the sealed session again)
``GET  complete``      where the waiting page goes once approved: signs the user in
``GET  ended``         why the sign-in did not complete (``?state=refused`` ...)
``POST signout``       signs out (the service session is logged out in the background)
``GET  register``      the phone registration page: QR code and link
``GET  register/status``  ``{"registered": bool}``
=====================  ====================================================================

The sealed session (encrypted with the seal key) lives in Starlette's session, a signed
cookie: install ``SessionMiddleware`` (``pip install itsdangerous``), or every route raises
a :class:`RuntimeError` saying so. Nothing secret ever goes into a response body.

No failure of the service, the store, or a user's input becomes a 500: the status and
sentence come from :func:`deviceauth.web.problem` (404 unknown user, 409 no phone, 429
rate limited, 503 service unreachable, ...).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import math
import os
from html import escape
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, Optional, Tuple, Union

try:
    from fastapi import APIRouter, HTTPException, Request
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse, Response
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import StreamingResponse
except ImportError as error:  # pragma: no cover - depends on the environment
    raise ImportError(
        "deviceauth.fastapi needs FastAPI: pip install 'deviceauth[fastapi]' "
        "(fastapi, itsdangerous for SessionMiddleware, python-multipart for forms)"
    ) from error

from .. import web
from .._errors import DeviceAuthError, InvalidArgumentError

__all__ = ["DeviceAuth", "SignInRequired", "FindUser", "Pages"]

log = logging.getLogger("deviceauth.fastapi")

#: ``find_user(name) -> (user_id, service_id) | None``, sync or async.
FindUser = Callable[[str], Union[Optional[Tuple[str, str]], Awaitable[Optional[Tuple[str, str]]]]]
#: ``pages(request, page, context) -> Response | str | None`` (or awaitable): renders one of
#: the adapter's pages (``signin``, ``wait``, ``ended``, ``problem``, ``register``); ``None``
#: keeps the built-in one.
Pages = Callable[[Request, str, Dict[str, Any]], Any]

# Keys of the adapter in Starlette's session.
PENDING = "deviceauth.pending"  # the sealed pending sign-in
PENDING_USER = "deviceauth.pending_user"  # the app's user id of that sign-in
SEALED = "deviceauth.sealed"  # the sealed signed-in session
USER = "deviceauth.user"  # the app's user id of the signed-in user
NEXT = "deviceauth.next"  # where to go once signed in
REGISTER = "deviceauth.register"  # [service_id, display name]: this browser may register that phone
FLASH = "deviceauth.flash"  # a message for the next page
_KEYS = (PENDING, PENDING_USER, SEALED, USER, NEXT)

_NO_SESSION = (
    "deviceauth.fastapi keeps the sealed session in Starlette's session: add "
    "app.add_middleware(SessionMiddleware, secret_key=...) "
    "(from starlette.middleware.sessions; pip install itsdangerous)"
)
# What a signed-out message is when the check itself ran out of time.
_SIGNED_OUT = "You are signed out."
_SIGN_IN_FIRST = "Sign in first."
_OPTION_NAMES = (
    "application_id", "application_secret", "base_url", "store", "seal_key", "walkaway", "fail_mode",
    "check_budget", "attempts", "attempt_window", "monitor", "monitor_interval", "http",
)  # fmt: skip


class SignInRequired(HTTPException):
    """Raised by :meth:`DeviceAuth.require_user` for a request without a signed-in user:
    a 303 redirect to the sign-in page for a browser (``Accept: text/html``), else a 401
    with ``{"detail": message}``. ``reason`` is the check's (``remote_logout``,
    ``walkaway``, ``ended``, ``unavailable``) or ``None`` when nobody was signed in.
    Register an exception handler for it to answer differently."""

    def __init__(self, status_code: int, message: str, reason: Optional[str], location: Optional[str]) -> None:
        headers = {"Location": location} if location else {"WWW-Authenticate": "Session"}
        super().__init__(status_code=status_code, detail=message, headers=headers)
        self.message = message
        self.reason = reason


class DeviceAuth:
    """Push sign-in for one FastAPI app: :attr:`router`, :meth:`lifespan`, and the
    dependencies :meth:`require_user` and :meth:`current_user`.

    Settings: ``settings`` (a :class:`deviceauth.web.Settings`), else the ``DEVICEAUTH_*``
    environment variables (``DEVICEAUTH_APPLICATION_ID``, ``DEVICEAUTH_APPLICATION_SECRET``,
    ``DEVICEAUTH_BASE_URL``, ``DEVICEAUTH_STORE`` (default ``memory``: one process),
    ``DEVICEAUTH_SEAL_KEY`` (else derived from ``secret_key``), ``DEVICEAUTH_WALKAWAY``,
    ``DEVICEAUTH_FAIL_MODE``, ``DEVICEAUTH_CHECK_BUDGET``, ``DEVICEAUTH_ATTEMPTS``,
    ``DEVICEAUTH_ATTEMPT_WINDOW``, ``DEVICEAUTH_MONITOR``, ``DEVICEAUTH_CA_FILE``), with
    ``**options`` (the same names in snake case, e.g. ``store=None``, ``walkaway="keep"``)
    winning over them. ``get`` reads the variables (default ``os.environ.get``). Bad values
    raise :class:`deviceauth.InvalidArgumentError` here, at startup.

    - ``find_user``: see the module.
    - ``secret_key``: the app's secret (the one given to ``SessionMiddleware``), from which
      the seal key is derived when ``DEVICEAUTH_SEAL_KEY`` is not set.
    - ``prefix``: the router's prefix (default ``/auth``); ``name``: prefix of its route names.
    - ``home``: where a signed-in user goes by default (and after signing out).
    - ``signin_page``: where :meth:`require_user` sends a browser (default: the router's
      ``GET signin`` form); it gets ``?next=`` the page asked for.
    - ``pages``: renders the pages yourself (see :data:`Pages`); ``layout(title, body_html)``
      wraps the built-in ones in your page layout.
    """

    def __init__(
        self,
        settings: Optional[web.Settings] = None,
        *,
        find_user: Optional[FindUser] = None,
        secret_key: Union[str, bytes, None] = None,
        prefix: str = "/auth",
        name: str = "deviceauth",
        home: str = "/",
        signin_page: Optional[str] = None,
        pages: Optional[Pages] = None,
        layout: Optional[Callable[[str, str], str]] = None,
        get: Optional[Callable[[str], Any]] = None,
        **options: Any,
    ) -> None:
        unknown = set(options) - set(_OPTION_NAMES)
        if unknown:
            raise InvalidArgumentError(f"unknown DeviceAuth options: {sorted(unknown)}")
        if settings is None:
            settings = _settings(get or os.environ.get, secret_key, options)
        elif options:
            raise InvalidArgumentError("give either settings or options, not both")
        self.settings: web.Settings = settings
        self.find_user = find_user
        self.home = home
        self.signin_page = signin_page
        self.pages = pages
        self.layout = layout or _layout
        self._name = name
        self._signins: Optional[web.AsyncSignIns] = None
        self._tasks: "set[asyncio.Task[Any]]" = set()
        self.router = self._routes(APIRouter(prefix=prefix, tags=["sign-in"]))

    # -- life cycle --------------------------------------------------------------------

    @property
    def signins(self) -> web.AsyncSignIns:
        """The sign-in flow (opened by :meth:`lifespan`, else lazily on first use)."""
        if self._signins is None:
            self._signins = web.AsyncSignIns(self.settings)
        return self._signins

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Any = None) -> AsyncIterator[None]:
        """Opens the flow (the client, this process's monitor on the store, the attempt
        limit) at startup and closes it at shutdown: ``FastAPI(lifespan=auth.lifespan)``,
        or ``async with auth.lifespan(app):`` inside your own lifespan. Raises at startup
        when ``app`` has no ``SessionMiddleware`` or the store cannot be opened."""
        if app is not None and not _has_session_middleware(app):
            raise RuntimeError(_NO_SESSION)
        if self._signins is not None:  # opened lazily before the startup
            self._signins.close()
        self._signins = await web.AsyncSignIns.open(self.settings)
        try:
            yield
        finally:
            for task in list(self._tasks):
                task.cancel()
            self._signins.close()
            self._signins = None

    # -- dependencies --------------------------------------------------------------------

    async def require_user(self, request: Request) -> str:
        """The signed-in user's id (your ``user_id`` from ``find_user``), after the check
        of this request (a store read, or one status check within the check budget). Else
        raises :class:`SignInRequired`: a browser is redirected to the sign-in page (the
        reason shown there, see :meth:`pop_message`), an API client gets a 401 JSON
        ``{"detail": message}``."""
        user, message, reason = await self._user(request)
        if user is not None:
            return user
        if _wants_html(request):
            target = self._signin_url(request)
            if request.method in ("GET", "HEAD"):  # back to this page after the sign-in
                path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                target += ("&" if "?" in target else "?") + "next=" + _quote(path)
            raise SignInRequired(303, message or _SIGN_IN_FIRST, reason, target)
        if message is not None:
            _session(request).pop(FLASH, None)  # the 401 says it
        raise SignInRequired(401, message or _SIGN_IN_FIRST, reason, None)

    async def current_user(self, request: Request) -> Optional[str]:
        """The signed-in user's id, or ``None`` (the check runs as for :meth:`require_user`;
        a user it signs out gets the reason as the next :meth:`pop_message`)."""
        user, _, _ = await self._user(request)
        return user

    def pop_message(self, request: Request) -> Optional[str]:
        """The message left for the user (signed out elsewhere, signed out, ...), once."""
        message = _session(request).pop(FLASH, None)
        return None if message is None else str(message)

    def allow_registration(self, request: Request, service_id: str, display_name: Optional[str] = None) -> str:
        """Lets this browser open the registration page of ``service_id`` (call it when the
        user signs up, then redirect to the URL returned). A signed-in user may always
        register their own phone; nobody else gets a registration link."""
        _session(request)[REGISTER] = [service_id, display_name]
        return self._url(request, "register")

    async def sign_out(self, request: Request) -> None:
        """Signs the user out (for an app's own sign-out route); never raises."""
        session = _session(request)
        for key in (SEALED, PENDING):
            sealed = session.get(key)
            if sealed:  # the store removal within the budget; the service logout runs on
                await self._quietly(asyncio.wait_for(self.signins.sign_out(sealed), self.settings.check_budget))
        for key in _KEYS:
            session.pop(key, None)

    # -- the check ---------------------------------------------------------------------

    async def _user(self, request: Request) -> Tuple[Optional[str], Optional[str], Optional[str]]:
        """(user id, None, None) for a signed-in user, else (None, message, reason)."""
        session = _session(request)
        sealed, user = session.get(SEALED), session.get(USER)
        if not sealed or not user:
            return None, None, None
        verdict = await self._check(sealed)
        if verdict.signed_in:
            if verdict.sealed and verdict.sealed != sealed:
                session[SEALED] = verdict.sealed
            return user, None, None
        for key in _KEYS:
            session.pop(key, None)
        message = verdict.message or _SIGNED_OUT
        session[FLASH] = message
        return None, message, verdict.reason

    async def _check(self, sealed: str) -> web.Check:
        """The web check, never longer than the check budget (a little margin for the
        store read): past it, the fail mode decides, as for any check that fails."""
        budget = self.settings.check_budget + 0.25
        try:
            return await asyncio.wait_for(self.signins.check(sealed), timeout=budget)
        except asyncio.TimeoutError:
            failure = "the check took longer than the check budget"
        except DeviceAuthError as error:
            failure = f"the check failed ({error.code})"
        if self.settings.fail_mode == "open":
            log.warning("%s; fail mode open: the user stays signed in", failure)
            return web.Check(True, None, None, sealed)
        log.warning("%s; fail mode closed: the user is signed out", failure)
        return web.Check(False, None, "unavailable")

    async def _progress(self, sealed: str) -> web.Progress:
        """One status check of the pending sign-in, within the budget."""
        budget = self.settings.check_budget + 0.25
        try:
            return await asyncio.wait_for(self.signins.progress(sealed), timeout=budget)
        except (asyncio.TimeoutError, DeviceAuthError):
            return web.Progress("unavailable", None, web.PROGRESS_MESSAGES["unavailable"], sealed)

    def _settle(self, request: Request, progress: web.Progress) -> None:
        """Stores what a progress check means in the session: the new sealed pending
        session, the signed-in user once approved, nothing once it ended."""
        session = _session(request)
        if progress.approved and progress.sealed:
            old = session.get(SEALED)
            if old and old != progress.sealed:
                self._later(self.signins.sign_out(old))
            session[SEALED] = progress.sealed
            session[USER] = session.pop(PENDING_USER, None)
            session.pop(PENDING, None)
        elif progress.done:
            session.pop(PENDING, None)
            session.pop(PENDING_USER, None)
        elif progress.sealed:
            session[PENDING] = progress.sealed

    # -- routes --------------------------------------------------------------------------

    def _routes(self, router: APIRouter) -> APIRouter:
        n = self._name

        @router.get("/signin", name=f"{n}.signin", response_class=HTMLResponse)
        async def signin_form(request: Request, next: str = "") -> Response:
            return await self._page(
                request, "signin", "Sign in",
                {"action": self._url(request, "start"), "next": _safe_next(next, ""), "message": self.pop_message(request)},
            )  # fmt: skip

        @router.post("/signin", name=f"{n}.start")
        async def start(request: Request) -> Response:
            form = await request.form()
            name = str(form.get("username") or "").strip()
            next_url = _safe_next(str(form.get("next") or request.query_params.get("next") or ""), self.home)
            if not name:
                return await self._problem(request, 400, "Enter your user name.")
            if self.find_user is None:
                raise RuntimeError("DeviceAuth needs find_user(name) -> (user_id, service_id) | None")
            found = await _call(self.find_user, name)
            if found is None:
                return await self._problem(request, 404, f"There is no account named {name!r}.")
            user_id, service_id = found
            try:
                sealed = await self.signins.start(service_id)
            except DeviceAuthError as error:
                status, message = web.problem(error)
                headers = {}
                if error.code == "RATE_LIMITED":
                    headers["Retry-After"] = str(math.ceil(getattr(error, "retry_after", None) or 1))
                register = None
                if getattr(error, "reason", None) == "NO_MOBILE_DEVICE" and self._may_register(request, service_id):
                    register = self._url(request, "register")
                return await self._problem(request, status, message, headers=headers, register_url=register)
            session = _session(request)
            old = session.get(PENDING)
            if old:
                self._later(self.signins.sign_out(old))
            session[PENDING], session[PENDING_USER], session[NEXT] = sealed, str(user_id), next_url
            if _wants_json(request):
                body = dict(web.Progress("pending", None, web.PROGRESS_MESSAGES["pending"]).to_dict())
                body.update(wait=self._url(request, "wait"), events=self._url(request, "events"),
                            status=self._url(request, "status"))  # fmt: skip
                return JSONResponse(body, status_code=202)
            return RedirectResponse(self._url(request, "wait"), status_code=303)

        @router.get("/wait", name=f"{n}.wait", response_class=HTMLResponse)
        async def wait(request: Request) -> Response:
            session = _session(request)
            if not session.get(PENDING):
                if session.get(SEALED):
                    return RedirectResponse(session.pop(NEXT, None) or self.home, status_code=303)
                return RedirectResponse(self._signin_url(request), status_code=303)
            snippet = web.waiting_html(
                events_url=self._url(request, "events"),
                status_url=self._url(request, "status"),
                next_url=self._url(request, "complete"),
                ended_url=self._url(request, "ended"),
                script_url=self._url(request, "script"),
            )
            return await self._page(request, "wait", "Signing in", {"waiting_html": snippet})

        @router.get("/wait.js", name=f"{n}.script", include_in_schema=False)
        async def script() -> Response:
            return PlainTextResponse(
                web.wait_script(), media_type="application/javascript", headers={"Cache-Control": "public, max-age=3600"}
            )

        @router.get("/events", name=f"{n}.events")
        async def events(request: Request) -> Response:
            pending = _session(request).get(PENDING)
            chunks = self._stream(pending) if pending else _once(web.sse(self._no_pending(request)))
            headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
            return StreamingResponse(chunks, media_type="text/event-stream", headers=headers)

        @router.get("/status", name=f"{n}.status")
        async def status(request: Request) -> Response:
            pending = _session(request).get(PENDING)
            if not pending:
                return _json(self._no_pending(request).to_dict())
            progress = await self._progress(pending)
            self._settle(request, progress)
            return _json(progress.to_dict())

        @router.get("/complete", name=f"{n}.complete")
        async def complete(request: Request) -> Response:
            session = _session(request)
            pending = session.get(PENDING)
            if pending:
                progress = await self._progress(pending)
                self._settle(request, progress)
                if not progress.done:
                    return RedirectResponse(self._url(request, "wait"), status_code=303)
                if not progress.approved:
                    return RedirectResponse(f"{self._url(request, 'ended')}?state={progress.state}", status_code=303)
            if session.get(SEALED):
                return RedirectResponse(session.pop(NEXT, None) or self.home, status_code=303)
            return RedirectResponse(self._signin_url(request), status_code=303)

        @router.get("/ended", name=f"{n}.ended", response_class=HTMLResponse)
        async def ended(request: Request, state: str = "ended") -> Response:
            pending = _session(request).get(PENDING)
            if pending:
                # The stream only reports: settle it here (a walked-away session is logged out).
                progress = await self._progress(pending)
                if progress.approved:
                    self._settle(request, progress)
                    return RedirectResponse(_session(request).pop(NEXT, None) or self.home, status_code=303)
                if progress.done:
                    state = progress.state
                _session(request).pop(PENDING, None)
                _session(request).pop(PENDING_USER, None)
            if state not in web.PROGRESS_MESSAGES or state in ("pending", "identifying", "approved"):
                state = "ended"
            message = web.PROGRESS_MESSAGES[state]
            if state == "unavailable":
                message = "The sign-in service cannot be reached right now. Try again in a moment."
            context = {"state": state, "message": message, "signin_url": self._signin_url(request)}
            return await self._page(request, "ended", "Not signed in", context)

        @router.post("/signout", name=f"{n}.signout")
        async def signout(request: Request) -> Response:
            await self.sign_out(request)
            _session(request)[FLASH] = "You are signed out."
            if _wants_json(request):
                return _json({"signed_out": True})
            form = await request.form()
            return RedirectResponse(_safe_next(str(form.get("next") or ""), self.home), status_code=303)

        @router.get("/register", name=f"{n}.register", response_class=HTMLResponse)
        async def register(request: Request) -> Response:
            target = self._registration_target(request)
            if target is None:
                return RedirectResponse(self._signin_url(request), status_code=303)
            service_id, display_name = target
            try:
                link = await self.signins.registration_link(service_id, display_name)
                registered = await self.signins.is_registered(service_id)
            except DeviceAuthError as error:
                status, message = web.problem(error)
                return await self._problem(request, status, message)
            context = {
                "link": link,
                "qr_svg": web.registration_qr(link),
                "registered": registered,
                "status_url": self._url(request, "register_status"),
                "signin_url": self._signin_url(request),
            }
            return await self._page(request, "register", "Register your phone", context)

        @router.get("/register/status", name=f"{n}.register_status")
        async def register_status(request: Request) -> Response:
            target = self._registration_target(request)
            if target is None:
                return _json({"detail": _SIGN_IN_FIRST}, 401)
            try:
                return _json({"registered": await self.signins.is_registered(target[0])})
            except DeviceAuthError as error:
                status, message = web.problem(error)
                return _json({"detail": message}, status)

        return router

    # -- helpers ---------------------------------------------------------------------------

    async def _stream(self, sealed: str) -> AsyncIterator[str]:
        """The flow's SSE stream; a failure ends it (the page then polls the JSON endpoint)."""
        try:
            async for chunk in self.signins.stream(sealed):
                yield chunk
        except DeviceAuthError as error:
            log.warning("sign-in event stream ended early (%s)", error.code)

    def _no_pending(self, request: Request) -> web.Progress:
        """The progress shown when this browser has no sign-in waiting."""
        state = "approved" if _session(request).get(SEALED) else "ended"
        return web.Progress(state, None, web.PROGRESS_MESSAGES[state])

    def _registration_target(self, request: Request) -> Optional[Tuple[str, Optional[str]]]:
        """(service id, display name) whose phone this browser may register."""
        session = _session(request)
        granted = session.get(REGISTER)
        if isinstance(granted, list) and len(granted) == 2 and granted[0]:
            return str(granted[0]), granted[1]
        sealed = session.get(SEALED)
        service_id = self.signins.user_of(sealed) if sealed else None
        return (service_id, None) if service_id else None

    def _may_register(self, request: Request, service_id: str) -> bool:
        target = self._registration_target(request)
        return target is not None and target[0] == service_id

    def _url(self, request: Request, route: str) -> str:
        return request.url_for(f"{self._name}.{route}").path

    def _signin_url(self, request: Request) -> str:
        return self.signin_page or self._url(request, "signin")

    async def _problem(
        self,
        request: Request,
        status: int,
        message: str,
        headers: Optional[Dict[str, str]] = None,
        register_url: Optional[str] = None,
    ) -> Response:
        """A failed sign-in: JSON ``{"detail": message}`` for an API client, else a page."""
        if _wants_json(request):
            return _json({"detail": message}, status, headers)
        context = {"message": message, "register_url": register_url, "signin_url": self._signin_url(request)}
        response = await self._page(request, "problem", "Sign-in failed", context, status)
        response.headers.update(headers or {})
        return response

    async def _page(
        self, request: Request, page: str, title: str, context: Dict[str, Any], status_code: int = 200
    ) -> Response:
        context = {"request": request, "title": title, "status_code": status_code, **context}
        if self.pages is not None:
            made = await _call(self.pages, request, page, context)
            if isinstance(made, Response):
                return made
            if isinstance(made, str):
                return HTMLResponse(made, status_code=status_code)
        body = _BUILT_IN[page](context)
        return HTMLResponse(self.layout(title, body), status_code=status_code, headers={"Cache-Control": "no-store"})

    def _later(self, work: Awaitable[Any]) -> None:
        """Runs ``work`` in the background (sign-outs the page never waits for)."""
        task = asyncio.ensure_future(self._quietly(work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _quietly(work: Awaitable[Any]) -> None:
        try:
            await work
        except Exception as error:  # never raised into a page: logged
            log.warning("background sign-in work failed (%s)", getattr(error, "code", type(error).__name__))


# -- module helpers ---------------------------------------------------------------------------


def _settings(get: Callable[[str], Any], secret_key: Union[str, bytes, None], options: Dict[str, Any]) -> web.Settings:
    """Settings from ``get`` (``DEVICEAUTH_*``), the explicit ``options`` winning; the
    default store is ``memory`` (one process)."""
    given = {"DEVICEAUTH_" + k.upper(): v for k, v in options.items() if v is not None and k != "http"}
    cleared = {k: None for k, v in options.items() if v is None}  # e.g. store=None: no store
    if "http" in options:
        cleared["http"] = options["http"]

    def read(name: str) -> Any:
        return given[name] if name in given else get(name)

    return web.Settings.from_config(read, secret_key=secret_key, default_store="memory", **cleared)



def _session(request: Request) -> Dict[str, Any]:
    if "session" not in request.scope:
        raise RuntimeError(_NO_SESSION)
    return request.session


def _has_session_middleware(app: Any) -> bool:
    """Whether ``app`` (FastAPI/Starlette) lists a session middleware."""
    middleware = getattr(app, "user_middleware", None)
    if middleware is None:
        return True  # not a Starlette app: nothing to look at
    return any("SessionMiddleware" in getattr(getattr(m, "cls", None), "__name__", "") for m in middleware)


async def _call(function: Callable[..., Any], *args: Any) -> Any:
    """Calls a sync (in the thread pool) or async function and awaits what it gives."""
    if inspect.iscoroutinefunction(function) or inspect.iscoroutinefunction(getattr(function, "__call__", None)):
        result = await function(*args)
    else:
        result = await run_in_threadpool(function, *args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def _once(chunk: str) -> AsyncIterator[str]:
    yield chunk


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _json(body: Dict[str, Any], status_code: int = 200, headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers={"Cache-Control": "no-store", **(headers or {})})


def _safe_next(target: str, default: str) -> str:
    """``target`` when it is a path on this site, else ``default`` (no open redirect)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and "\n" not in target:
        return target
    return default


def _quote(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="/")


# -- built-in pages ---------------------------------------------------------------------------


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}"
        "svg{width:14rem;height:14rem}input,button{font:inherit;padding:.3rem .6rem}</style>"
        f"</head><body><main>\n{body}\n</main></body></html>"
    )


def _signin_page(c: Dict[str, Any]) -> str:
    flash = f'<p data-testid="flash">{escape(c["message"])}</p>\n' if c.get("message") else ""
    return (
        f"<h1>Sign in</h1>\n{flash}"
        f'<form method="post" action="{escape(c["action"])}">\n'
        f'<input type="hidden" name="next" value="{escape(c["next"])}">\n'
        '<label for="username">User name</label> '
        '<input id="username" name="username" autocomplete="username" required autofocus>\n'
        '<button type="submit" data-testid="sign-in">Sign in with my phone</button>\n</form>'
    )


def _wait_page(c: Dict[str, Any]) -> str:
    return f"<h1>Signing in</h1>\n{c['waiting_html']}"


def _ended_page(c: Dict[str, Any]) -> str:
    return (
        f'<h1 data-testid="sign-in-ended" data-state="{escape(c["state"])}">Not signed in</h1>\n'
        f"<p>{escape(c['message'])}</p>\n"
        f'<p><a href="{escape(c["signin_url"])}">Try again</a></p>'
    )


def _problem_page(c: Dict[str, Any]) -> str:
    register = ""
    if c.get("register_url"):
        register = f' <a href="{escape(c["register_url"])}" data-testid="register-now">Register your phone</a>.'
    return (
        f'<h1>Sign-in failed</h1>\n<p data-testid="problem">{escape(c["message"])}{register}</p>\n'
        f'<p><a href="{escape(c["signin_url"])}">Back to sign-in</a></p>'
    )


def _register_page(c: Dict[str, Any]) -> str:
    registered = "yes" if c["registered"] else "no"
    signin = escape(c["signin_url"])
    state = f'A phone is registered. <a href="{signin}">Sign in</a>' if c["registered"] else "Waiting for your phone..."
    # The QR code is an SVG drawn locally from the link (no user input in it).
    return (
        "<h1>Register your phone</h1>\n"
        f'<figure data-testid="registration-qr">{c["qr_svg"]}</figure>\n'
        "<p>Scan this code with your phone, or open this link on it:</p>\n"
        f'<p><a href="{escape(c["link"])}" data-testid="registration-link" rel="noopener">{escape(c["link"])}</a></p>\n'
        f'<p id="deviceauth-device" data-testid="device-state" data-registered="{registered}">{state}</p>\n'
        "<script>(function poll(){var s=document.getElementById('deviceauth-device');"
        "if(s.getAttribute('data-registered')==='yes')return;"
        f"fetch({_js(c['status_url'])},{{headers:{{Accept:'application/json'}},credentials:'same-origin'}})"
        ".then(function(r){return r.json();}).then(function(b){if(b.registered){"
        "s.setAttribute('data-registered','yes');"
        f"s.innerHTML={_js(f'A phone is registered. <a href={chr(34)}{signin}{chr(34)}>Sign in</a>')};"
        "}else{setTimeout(poll,1500);}}).catch(function(){setTimeout(poll,3000);});})();</script>"
    )


def _js(text: str) -> str:
    """A JavaScript string literal safe inside a <script> element."""
    import json

    return json.dumps(text).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_BUILT_IN: Dict[str, Callable[[Dict[str, Any]], str]] = {
    "signin": _signin_page,
    "wait": _wait_page,
    "ended": _ended_page,
    "problem": _problem_page,
    "register": _register_page,
}
