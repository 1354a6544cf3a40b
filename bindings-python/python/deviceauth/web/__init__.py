"""Push sign-in for web apps: the flow every adapter (``deviceauth.flask``,
``deviceauth.django``, ``deviceauth.fastapi``) runs, for any other framework too.

1. :meth:`SignIns.start` pushes a sign-in to the user's phone and returns the pending
   session **sealed** (encrypted and authenticated with the seal key): keep it in the
   framework's session (a signed cookie is fine: the seal hides it).
2. The waiting page follows it without blocking a worker on a long wait: the browser
   polls a JSON endpoint that calls :meth:`SignIns.progress` once per second (each call is
   one status check within the check budget; store ``progress.sealed`` back each time, it
   changes with the status), or listens to a server-sent-events endpoint serving
   :meth:`SignIns.stream`. :func:`waiting_html` and :func:`wait_script` are that page.
   When ``progress.approved``, sign the user in: the session was added to the Monitor's
   store, where this app's monitors watch it.
3. On each request of a signed-in user, :meth:`SignIns.check` reads the status the
   monitors last wrote into the store (no call to the service); without a store it checks
   the service once within the budget (2 s). ``check.signed_in`` false: sign the user out
   and show ``check.message``.
4. :meth:`SignIns.sign_out` removes the session from the store and logs it out of the
   service in the background.

Policies (:class:`Settings`), the same in every adapter:

- ``walkaway="sign_out"`` (default): when the phone reports the user walked away, the
  user is signed out of the app and the service session is logged out.
  ``walkaway="keep"``: a walked-away user stays signed in (the service session stays
  open); only a closed or ended session signs out.
- ``fail_mode="closed"`` (default): when the status cannot be known in time (the store or
  the service cannot be reached, or the monitor gave the session up as unreachable), the
  user is signed out. ``fail_mode="open"`` keeps the user signed in and logs a warning
  (logger ``deviceauth.web``) each time.
- ``check_budget`` (2 s): the most a status check may take inside a page request.
- ``attempts`` per ``attempt_window`` (5 per 10 minutes): sign-in requests per user,
  counted in the store (shared by every process on it); one over the limit raises
  :class:`deviceauth.RateLimitedError` with ``retry_after`` and sends nothing.

:func:`problem` turns any :class:`deviceauth.DeviceAuthError` into an HTTP status and a
sentence for the page, so a failed sign-in never becomes a 500.
"""

from ._outcomes import PROGRESS_MESSAGES, SIGNED_OUT_MESSAGES, Check, Progress, problem, sse
from ._page import WAIT_SCRIPT_PATH, wait_script, waiting_html
from ._settings import DEFAULT_CHECK_BUDGET, FAIL_MODES, WALKAWAY_POLICIES, Settings, derive_seal_key
from ._signins import AsyncSignIns, SignIns

__all__ = [
    "Settings", "SignIns", "AsyncSignIns", "Progress", "Check", "problem", "sse", "new_user_id",
    "wait_script", "waiting_html", "registration_qr", "derive_seal_key", "WAIT_SCRIPT_PATH",
    "PROGRESS_MESSAGES", "SIGNED_OUT_MESSAGES", "DEFAULT_CHECK_BUDGET", "WALKAWAY_POLICIES", "FAIL_MODES",
]  # fmt: skip


def new_user_id() -> str:
    """A random id to register a user with the service under (the service's guide advises
    random tokens, not names or e-mail addresses)."""
    import secrets

    return secrets.token_urlsafe(18)


def registration_qr(link: str) -> str:
    """An ``<svg>`` QR code of a registration link, drawn locally."""
    from ..qr import svg

    return svg(link)
