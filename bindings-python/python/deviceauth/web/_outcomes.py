"""What a status means for a web app: the progress of a sign-in, the verdict of the check
on each request, and the page for a failed start. Pure functions, shared by every adapter."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from .._errors import DeviceAuthError
from .._types import Status

#: The message for each sign-in progress state.
PROGRESS_MESSAGES = {
    "pending": "Check your phone: approve the sign-in request.",
    "identifying": "Your phone is confirming it is you...",
    "approved": "Approved. Signing you in...",
    "refused": "The sign-in was refused on your phone.",
    "timeout": "Your phone did not answer in time.",
    "ended": "The sign-in ended before it was approved.",
    "unavailable": "The sign-in service cannot be reached right now; still trying...",
}

#: The message for each reason a signed-in user is signed out.
SIGNED_OUT_MESSAGES = {
    "remote_logout": "You were signed out: your session was ended elsewhere.",
    "walkaway": "You were signed out: your phone is no longer near this computer.",
    "ended": "You were signed out: your session ended.",
    "unavailable": "You were signed out: the sign-in service cannot be reached.",
}

_STATES = {
    Status.PENDING: "pending",
    Status.IDENTIFYING: "identifying",
    Status.ACTIVE: "approved",
    Status.FAILED: "refused",
    Status.CANCELLED: "refused",
    Status.TIMEOUT: "timeout",
}


@dataclass(frozen=True)
class Progress:
    """Where a sign-in stands, for the waiting page. ``to_dict()`` is what the browser
    gets; ``sealed`` (the session to keep) never goes into it."""

    #: ``pending``, ``identifying``, ``approved``, ``refused``, ``timeout``, ``ended`` or ``unavailable``.
    state: str
    #: The session's status (``None`` when it could not be read).
    status: Optional[Status]
    #: A sentence for the user.
    message: str
    #: The session sealed, to keep in the framework's session (``None`` once it ended unapproved).
    sealed: Optional[str] = None

    @property
    def done(self) -> bool:
        """Whether the sign-in is over (approved or not)."""
        return self.state not in ("pending", "identifying", "unavailable")

    @property
    def approved(self) -> bool:
        """Whether the user is now signed in."""
        return self.state == "approved"

    def to_dict(self) -> Dict[str, Any]:
        """The JSON the waiting page reads: ``state``, ``status``, ``message``, ``done``."""
        status = None if self.status is None else self.status.value
        return {"state": self.state, "status": status, "message": self.message, "done": self.done}

    def __repr__(self) -> str:
        return f"Progress(state={self.state!r}, status={self.status!r})"


@dataclass(frozen=True)
class Check:
    """The verdict of the check on a signed-in user's request."""

    #: Whether the user stays signed in.
    signed_in: bool
    #: The status the check found (``None`` when it could not be read).
    status: Optional[Status]
    #: Why the user is signed out (``remote_logout``, ``walkaway``, ``ended``, ``unavailable``), else ``None``.
    reason: Optional[str] = None
    #: The session sealed, to keep (it may have changed); ``None`` once signed out.
    sealed: Optional[str] = None

    @property
    def message(self) -> Optional[str]:
        """A sentence for the user who was signed out, else ``None``."""
        return None if self.reason is None else SIGNED_OUT_MESSAGES[self.reason]

    def __repr__(self) -> str:
        return f"Check(signed_in={self.signed_in!r}, status={self.status!r}, reason={self.reason!r})"


def progress_of(status: Status, walkaway: str, sealed: Optional[str]) -> Progress:
    """The progress a sign-in's status means under the walkaway policy."""
    if status is Status.WALKAWAY:
        state = "approved" if walkaway == "keep" else "ended"
    else:
        state = _STATES.get(status, "ended")
    kept = sealed if state in ("pending", "identifying", "approved") else None
    return Progress(state, status, PROGRESS_MESSAGES[state], kept)


def unavailable(sealed: str) -> Progress:
    """The progress when the status could not be read in time: still waiting."""
    return Progress("unavailable", None, PROGRESS_MESSAGES["unavailable"], sealed)


def check_of(status: Status, walkaway: str, sealed: Optional[str]) -> Check:
    """The verdict for a signed-in user's status under the walkaway policy."""
    if status is Status.ACTIVE or (status is Status.WALKAWAY and walkaway == "keep"):
        return Check(True, status, None, sealed)
    if status is Status.WALKAWAY:
        return Check(False, status, "walkaway")
    return Check(False, status, "remote_logout" if status is Status.CLOSED else "ended")


def failed_check(fail_mode: str, status: Optional[Status], sealed: Optional[str]) -> Check:
    """The verdict when the status could not be known in time, by the fail mode."""
    if fail_mode == "open":
        return Check(True, status, None, sealed)
    return Check(False, status, "unavailable")


def problem(error: DeviceAuthError) -> Tuple[int, str]:
    """The HTTP status and the sentence to show for a sign-in that could not start (or any
    other failure of the service): never a 500."""
    code = getattr(error, "code", "")
    if code == "RATE_LIMITED":
        wait = math.ceil(getattr(error, "retry_after", None) or 1)
        return 429, f"Too many sign-in requests for this account. Try again in {wait} s."
    if code == "NOT_FOUND" or (code == "NOT_STARTED" and error.reason == "NO_MOBILE_DEVICE"):
        # NOT_FOUND: the service does not know the user yet (never registered a phone).
        return 409, "This account has no registered phone yet. Register your phone first."
    if code == "NOT_STARTED":
        return 409, f"The sign-in could not start ({error.reason})."
    if code in ("TRANSPORT", "TIMEOUT", "STORE"):
        return 503, "The sign-in service cannot be reached right now. Try again in a moment."
    if code == "UNAUTHORIZED":
        return 502, "The sign-in service refused this application's credentials; check the application id and secret."
    if code == "INVALID_ARGUMENT":
        return 400, "That account name cannot be used for sign-in."
    return 502, f"The sign-in service answered with an error ({code})."


def sse(progress: Progress) -> str:
    """One server-sent event of type ``progress`` carrying ``progress.to_dict()``."""
    return f"event: progress\ndata: {json.dumps(progress.to_dict(), separators=(',', ':'))}\n\n"
