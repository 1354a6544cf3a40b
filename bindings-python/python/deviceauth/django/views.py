"""The sign-in pages: the form, the waiting page with its SSE and JSON endpoints, the page
for a sign-in that ended unapproved, sign-out, and the phone-registration page.

The Django session holds, under these keys, sealed values only (:mod:`deviceauth.web`
seals them with the seal key): ``deviceauth_pending`` (the sign-in waiting on the phone),
``deviceauth_session`` (the signed-in user's session, stored again after each check),
plus ``deviceauth_next`` (where to go after signing in), ``deviceauth_username`` (shown on
the waiting page) and ``deviceauth_signed_up`` (the user the register page is for)."""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator, Dict, Generator, Optional

from django.apps import apps
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import DeviceAuthError
from ..web import PROGRESS_MESSAGES, Progress, problem, registration_qr, sse, wait_script, waiting_html
from .conf import sign_ins
from .models import DeviceAuthUser

log = logging.getLogger("deviceauth.django")

PENDING = "deviceauth_pending"
SIGNED_IN = "deviceauth_session"
NEXT = "deviceauth_next"
USERNAME = "deviceauth_username"
SIGNED_UP = "deviceauth_signed_up"
BACKEND = "deviceauth.django.backends.DeviceAuthBackend"
#: The states a sign-in ends in without being approved (``ended?state=...``).
ENDED_STATES = ("refused", "timeout", "ended")
SIGNED_OUT = "You are signed out."
UNKNOWN_USER = "There is no account named {name}. Check the name, or sign up first."
PHONE_FIRST = "This account has no registered phone yet. Register your phone first."


def notify(request: HttpRequest, text: str, warning: bool = False) -> None:
    """A message for the next page, through django.contrib.messages when it is installed."""
    if not apps.is_installed("django.contrib.messages"):
        return
    from django.contrib import messages

    messages.add_message(request, messages.WARNING if warning else messages.INFO, text, fail_silently=True)


def signed_up(request: HttpRequest, user: Any) -> DeviceAuthUser:
    """Call from your sign-up view once the user exists: makes the user's
    :class:`DeviceAuthUser` and lets this browser open the register page for that user
    (``redirect("deviceauth:register")``) before signing in."""
    row = DeviceAuthUser.objects.for_user(user)
    request.session[SIGNED_UP] = user._meta.pk.value_to_string(user)
    return row


def _next_url(request: HttpRequest, candidate: Optional[str]) -> str:
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(getattr(settings, "LOGIN_REDIRECT_URL", "/"))


def _signin_page(request: HttpRequest, status: int = 200, **context: Any) -> HttpResponse:
    context.setdefault("next", request.POST.get("next") or request.GET.get("next") or "")
    return render(request, "deviceauth/signin.html", context, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def signin(request: HttpRequest) -> HttpResponse:
    """GET: the form (``username``, optional ``next``). POST: pushes a sign-in request to
    the user's phone and goes to the waiting page; an unknown user, a user without a phone,
    too many requests or a service that is down give the form again with the reason and
    the matching status (404, 409, 429, 503, ...), never a 500."""
    if request.method == "GET":
        return _signin_page(request)
    name = request.POST.get("username", "").strip()
    if not name:
        return _signin_page(request, 400, problem="Enter your user name.")
    model = auth.get_user_model()
    try:
        user = model._default_manager.get_by_natural_key(name)  # type: ignore[attr-defined]
    except (model.DoesNotExist, ValueError):
        user = None
    if user is None or not getattr(user, "is_active", True):
        return _signin_page(request, 404, problem=UNKNOWN_USER.format(name=name), username=name)
    row = DeviceAuthUser.objects.filter(user=user).first()
    if row is None:
        return _signin_page(request, 409, problem=PHONE_FIRST, username=name, no_phone=True)
    try:
        sealed = sign_ins().start(row.service_id)
    except DeviceAuthError as error:
        # NOT_FOUND: the service does not know the user yet (never opened the register page)
        code, message = (409, PHONE_FIRST) if error.code == "NOT_FOUND" else problem(error)
        response = _signin_page(request, code, problem=message, username=name, no_phone=code == 409)
        retry_after = getattr(error, "retry_after", None)
        if code == 429 and retry_after:
            response["Retry-After"] = str(int(-(-retry_after // 1)))
        return response
    request.session[PENDING] = sealed
    request.session[USERNAME] = user.get_username()
    request.session[NEXT] = _next_url(request, request.POST.get("next"))
    return redirect("deviceauth:wait")


def _settle(request: HttpRequest, progress: Progress) -> Progress:
    """Keeps what a status check of the pending sign-in found: the new sealed session
    while it waits; on approval, signs the user in (``auth.login``); once it ended, forgets it."""
    if not progress.done:
        if progress.sealed:
            request.session[PENDING] = progress.sealed
        return progress
    request.session.pop(PENDING, None)
    if not progress.approved or not progress.sealed:
        return progress
    user = auth.authenticate(request, sealed_session=progress.sealed)
    if user is None:
        sign_ins().sign_out(progress.sealed)
        return Progress("ended", progress.status, PROGRESS_MESSAGES["ended"])
    after = request.session.get(NEXT)
    earlier = request.session.pop(SIGNED_IN, None)
    if earlier and earlier != progress.sealed:  # signed in again over a phone session: end that one
        sign_ins().sign_out(earlier)
    auth.login(request, user, backend=BACKEND)  # a new session key; a flush if another user was signed in
    request.session[SIGNED_IN] = progress.sealed
    if after:
        request.session[NEXT] = after
    return progress


def logged_out(sender: Any, request: Optional[HttpRequest] = None, **kwargs: Any) -> None:
    """``user_logged_out`` (any ``auth.logout``: the admin's, ``LogoutView``, yours): the
    phone session of that Django session is signed out too (store and service)."""
    session = getattr(request, "session", None)
    sealed = session.pop(SIGNED_IN, None) if session is not None else None
    if sealed:
        try:
            sign_ins().sign_out(sealed)
        except DeviceAuthError as error:  # settings that cannot be used: nothing to sign out from
            log.warning("signing the phone session out failed (%s)", error.code)


def _signed_in(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and request.session.get(SIGNED_IN))


APPROVED = Progress("approved", None, PROGRESS_MESSAGES["approved"])
GONE = Progress("ended", None, PROGRESS_MESSAGES["ended"])


@never_cache
@require_GET
def wait(request: HttpRequest) -> HttpResponse:
    """The waiting page (template ``deviceauth/wait.html``). Each load checks the sign-in
    once (within the check budget): approved, it signs the user in and goes on to ``next``;
    ended, to the ``ended`` page. The page's script (SSE, else JSON polling) comes back
    here once the phone answered."""
    sealed = request.session.get(PENDING)
    if sealed is None:
        if _signed_in(request):
            return redirect(request.session.pop(NEXT, None) or resolve_url(settings.LOGIN_REDIRECT_URL))
        return redirect("deviceauth:signin")
    progress = _settle(request, sign_ins().progress(sealed))
    if progress.approved:
        return redirect(request.session.pop(NEXT, None) or resolve_url(settings.LOGIN_REDIRECT_URL))
    if progress.done:
        return redirect(reverse("deviceauth:ended") + "?state=" + progress.state)
    snippet = waiting_html(
        events_url=reverse("deviceauth:events"),
        status_url=reverse("deviceauth:status"),
        next_url=reverse("deviceauth:wait"),
        ended_url=reverse("deviceauth:ended"),
        script_url=reverse("deviceauth:script"),
    )
    context = {
        "waiting_html": mark_safe(snippet),
        "progress": progress,
        "username": request.session.get(USERNAME, ""),
    }
    return render(request, "deviceauth/wait.html", context)


def _events(sealed: Optional[str], signed_in: bool) -> Generator[str, None, None]:
    if sealed is None:
        yield sse(APPROVED if signed_in else GONE)
        return
    try:
        yield from sign_ins().stream(sealed)
    except DeviceAuthError as error:  # the stream ends; the page polls the JSON endpoint
        log.warning("sign-in event stream stopped (%s)", error.code)


def _is_asgi(request: HttpRequest) -> bool:
    from django.core.handlers.asgi import ASGIRequest

    return isinstance(request, ASGIRequest)


async def _in_threads(chunks: Generator[str, None, None]) -> AsyncIterator[str]:
    """The chunks of a blocking iterator for an ASGI server, which would otherwise read a
    sync iterator to its end before sending anything."""
    from asgiref.sync import sync_to_async

    end: Any = object()
    step = sync_to_async(lambda: next(chunks, end), thread_sensitive=False)
    try:
        while True:
            chunk = await step()
            if chunk is end:
                return
            yield chunk
    finally:
        chunks.close()


@never_cache
@require_GET
def events(request: HttpRequest) -> HttpResponseBase:
    """Server-sent events of the pending sign-in (``event: progress``, JSON data without any
    secret): the current state at once, then each change, until it is done or three
    minutes pass. It only reports; the page then loads ``wait`` to sign in. Each open stream
    holds a thread: under WSGI run gunicorn with threads (``--threads 8``); under ASGI each
    chunk is read in a worker thread."""
    chunks = _events(request.session.get(PENDING), _signed_in(request))
    if _is_asgi(request):  # served as it comes, each chunk read in a worker thread (not buffered)
        response = StreamingHttpResponse(_in_threads(chunks), content_type="text/event-stream")
    else:
        response = StreamingHttpResponse(chunks, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


@never_cache
@require_GET
def status(request: HttpRequest) -> JsonResponse:
    """One status check of the pending sign-in as JSON (``state``, ``status``, ``message``,
    ``done``); on approval the user is signed in here already."""
    sealed = request.session.get(PENDING)
    if sealed is None:
        progress = APPROVED if _signed_in(request) else GONE
    else:
        progress = _settle(request, sign_ins().progress(sealed))
    return JsonResponse(progress.to_dict())


@never_cache
@require_GET
def ended(request: HttpRequest) -> HttpResponse:
    """The sign-in ended without approval (template ``deviceauth/ended.html``):
    ``?state=refused|timeout|ended``."""
    state = request.GET.get("state", "ended")
    if state not in ENDED_STATES:
        state = "ended"
    pending = request.session.pop(PENDING, None)
    if pending:
        sign_ins().sign_out(pending)
    context = {"state": state, "message": PROGRESS_MESSAGES[state]}
    return render(request, "deviceauth/ended.html", context)


@require_POST
def signout(request: HttpRequest) -> HttpResponse:
    """Signs out: the service session is logged out (in the background) and removed from
    the store, then ``auth.logout``; also cancels a sign-in still waiting. Goes to
    ``LOGOUT_REDIRECT_URL`` (else ``/``)."""
    for key in (SIGNED_IN, PENDING):
        sealed = request.session.pop(key, None)
        if sealed:
            sign_ins().sign_out(sealed)
    auth.logout(request)
    notify(request, SIGNED_OUT)
    return redirect(resolve_url(getattr(settings, "LOGOUT_REDIRECT_URL", None) or "/"))


def _registering(request: HttpRequest) -> Optional[Any]:
    """The user the register page is for: the signed-in one, else the one just signed up."""
    if request.user.is_authenticated:
        return request.user
    pk = request.session.get(SIGNED_UP)
    if pk is None:
        return None
    return auth.get_user_model()._default_manager.filter(pk=pk).first()


def _problem_page(request: HttpRequest, error: DeviceAuthError) -> HttpResponse:
    code, message = problem(error)
    return render(request, "deviceauth/problem.html", {"problem": message}, status=code)


@never_cache
@require_GET
def register(request: HttpRequest) -> HttpResponse:
    """The phone-registration page (template ``deviceauth/register.html``) of the signed-in
    user, or of the user :func:`signed_up` just made: the registration link as a QR code
    (SVG) and as a link, and whether a phone is registered (the page asks
    ``register_status`` until one is)."""
    user = _registering(request)
    if user is None:
        return redirect(f"{reverse('deviceauth:signin')}?next={reverse('deviceauth:register')}")
    row = DeviceAuthUser.objects.for_user(user)
    try:
        link = sign_ins().registration_link(row.service_id, display_name=f"{user.get_username()} @ {request.get_host()}")
        registered = sign_ins().is_registered(row.service_id)
    except DeviceAuthError as error:
        return _problem_page(request, error)
    context: Dict[str, Any] = {
        "registered_user": user,
        "link": link,
        "qr_svg": mark_safe(registration_qr(link)),
        "registered": registered,
        "status_url": reverse("deviceauth:register_status"),
        "signin_url": reverse("deviceauth:signin"),
    }
    return render(request, "deviceauth/register.html", context)


@never_cache
@require_GET
def register_status(request: HttpRequest) -> JsonResponse:
    """``{"registered": true|false}`` for the register page's user (503 with a message
    while the service cannot be reached)."""
    user = _registering(request)
    if user is None:
        return JsonResponse({"registered": False, "error": "Sign in first."}, status=403)
    row = DeviceAuthUser.objects.filter(user=user).first()
    if row is None:
        return JsonResponse({"registered": False})
    try:
        return JsonResponse({"registered": sign_ins().is_registered(row.service_id)})
    except DeviceAuthError as error:
        code, message = problem(error)
        return JsonResponse({"registered": False, "error": message}, status=code)


@require_GET
def script(request: HttpRequest) -> HttpResponse:
    """The waiting page's script (:func:`deviceauth.web.wait_script`)."""
    response = HttpResponse(wait_script(), content_type="application/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    return response
