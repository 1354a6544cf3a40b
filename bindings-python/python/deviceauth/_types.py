"""The pure-Python types of deviceauth: the enums :class:`Status` and :class:`Method`, the
result classes the native layer makes (:class:`AddedUsers`, :class:`Health`, :class:`MonitorEvent`,
:class:`StoredStatus`, :class:`PendingActivation`, :class:`DeviceActivation`), and :class:`HttpOptions`, the
keyword options of every client."""

from __future__ import annotations

import datetime
import enum
import json
import os
from typing import TYPE_CHECKING, Any, Awaitable, Callable, List, Literal, NamedTuple, Optional, Sequence, TypedDict, TypeVar, Union

from ._errors import DeviceAuthError, InvalidArgumentError, class_for

if TYPE_CHECKING:
    from ._native import RetryPolicy

__all__ = [
    "Status", "Method", "HttpOptions", "AddedUsers", "Health", "MonitorEvent", "StoredStatus", "PendingActivation",
    "DeviceActivation", "StoredToken",
]  # fmt: skip


class HttpOptions(TypedDict, total=False):
    """Keyword options of the Activeconnect and Project Insight clients. Each one left out
    (or ``None``) keeps the core's default."""

    #: Time limit in seconds of one HTTP request (default 10).
    timeout: Optional[float]
    #: How idempotent calls are retried (default ``RetryPolicy()``).
    retry: Optional[RetryPolicy]
    #: The ``User-Agent`` header (default ``deviceauth/<version>``).
    user_agent: Optional[str]
    #: Allow plain ``http://`` to hosts other than loopback (test networks only).
    allow_insecure_http: Optional[bool]
    #: Origins (``scheme://host:port``) besides the base URL's that session status and
    #: logout URLs handed out by the service may point at (default: none).
    allowed_origins: Optional[Sequence[str]]
    #: A PEM file of extra root certificates to trust (e.g. the emulator's CA).
    ca_file: Optional[Union[str, "os.PathLike[str]"]]


class Status(str, enum.Enum):
    """The state of a sign-in session. The values are the service's wire strings, so
    ``str(Status.ACTIVE) == "active"`` and ``Status.ACTIVE == "active"``.

    A value this version does not know becomes ``UNKNOWN`` (the raw string stays in
    ``Session.raw_status``) and counts as ended, as the service says of any status it
    does not list.
    """

    #: Request sent, waiting for the phone.
    PENDING = "pending"
    #: The phone is processing the request.
    IDENTIFYING = "identifying"
    #: The user is authenticated.
    ACTIVE = "active"
    #: Authenticated, but the phone is no longer near the computer.
    WALKAWAY = "walkaway"
    #: The user did not respond in time.
    TIMEOUT = "timeout"
    #: The session was closed (logout, remote logout, expiry).
    CLOSED = "closed"
    #: Authentication failed (for example, the user denied it).
    FAILED = "failed"
    #: The user cancelled on the phone.
    CANCELLED = "cancelled"
    #: A status this version does not know.
    UNKNOWN = "unknown"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)

    @property
    def is_in_progress(self) -> bool:
        """Waiting for the phone: ``PENDING`` or ``IDENTIFYING``."""
        return self in (Status.PENDING, Status.IDENTIFYING)

    @property
    def is_authenticated(self) -> bool:
        """The service session is authenticated: ``ACTIVE``, or ``WALKAWAY`` (signed in,
        but the phone is no longer near the computer). Whether an app keeps a walked-away
        user signed in is its walkaway policy: the web adapters (:mod:`deviceauth.web`)
        sign the user out and log the service session out by default
        (``walkaway="sign_out"``), or keep the user signed in (``walkaway="keep"``)."""
        return self in (Status.ACTIVE, Status.WALKAWAY)

    @property
    def is_ended(self) -> bool:
        """The session is over (refused, timed out, cancelled, closed, or unknown)."""
        return not self.is_in_progress and not self.is_authenticated

    @classmethod
    def from_wire(cls, text: str) -> "Status":
        """The member for a wire string (case and surrounding spaces ignored); ``UNKNOWN``
        for a value this version does not know."""
        try:
            member = cls(text.strip().lower())
        except ValueError:
            return cls.UNKNOWN
        return member


class Method(str, enum.Enum):
    """A way the user proves presence on the phone, for ``authenticate_user(methods=...)``
    (which also accepts the plain strings). Leave methods out to let the service choose."""

    #: Confirm the prompt.
    ACCEPTANCE = "acceptance"
    #: Unlock the phone.
    DEVICE = "device"
    #: Face recognition.
    FACIAL = "facial"

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)


class AddedUsers(NamedTuple):
    """Which users ``add_users`` created and which already existed."""

    #: Users the call created.
    created: List[str]
    #: Users that existed before the call.
    existing: List[str]


class Health(NamedTuple):
    """A passed health check (``Client.health()``)."""

    #: How long the check took, in seconds.
    latency: float
    #: The origin checked, ``scheme://host[:port]``.
    origin: str


class MonitorEvent(NamedTuple):
    """One event of a monitor: a status change (``kind == "changed"``, with ``previous`` and
    ``status``) or a session that could not be polled (``kind == "unreachable"``, with
    ``error``). Either way ``user`` and ``session_token`` say which session. After an ended
    status or an unreachable event the session is no longer watched.

    The events of a monitor with a store also carry ``id``, ``key`` and ``at`` (``None``
    for the in-memory monitor). They come at least once: drop repeats by ``id``.
    ``repr()`` shows the kind, the user, the statuses and the id, never a secret."""

    #: ``"changed"`` or ``"unreachable"``.
    kind: Literal["changed", "unreachable"]
    #: The session's user.
    user: str
    #: The session's token (what ``Monitor.remove`` takes).
    session_token: str
    #: The status before the change (``None`` for an unreachable event).
    previous: Optional[Status] = None
    #: The status now (``None`` for an unreachable event).
    status: Optional[Status] = None
    #: The last error (``None`` for a change).
    error: Optional[DeviceAuthError] = None
    #: With a store: the event's stable id, the same on every delivery.
    id: Optional[str] = None
    #: With a store: the key the session was added under.
    key: Optional[str] = None
    #: With a store: when the monitor saw it (timezone-aware, UTC).
    at: Optional[datetime.datetime] = None

    def __repr__(self) -> str:
        if self.previous is not None and self.status is not None:
            change = f"previous={self.previous.value!r}, status={self.status.value!r}"
        else:
            change = f"error={self.error!r}"
        stored = "" if self.id is None else f", id={self.id!r}"
        return f"MonitorEvent(kind={self.kind!r}, user={self.user!r}, {change}{stored})"


class StoredStatus(NamedTuple):
    """The last known status of a session in a monitor's store (``Monitor.status(key)``):
    a read of the store, no call to the service."""

    #: The status a monitor last saw (or the one the session was added with).
    status: Status
    #: Whether monitors still poll it (``False`` once ended, unreachable, or corrupt).
    watched: bool
    #: Why it is no longer watched, when that was a failure.
    error: Optional[str]
    #: When the store's row was last written (timezone-aware, UTC).
    updated_at: datetime.datetime


class PendingActivation(NamedTuple):
    """An activation request waiting for the user: send them to ``url``, where they read the
    code for ``complete_device_activation``."""

    #: The activation request id.
    id: str
    #: Where the user approves the device and reads the activation code.
    url: str
    #: When the request expires (timezone-aware, UTC).
    expires_at: datetime.datetime


class DeviceActivation(NamedTuple):
    """A completed activation. ``api_token`` is the credential: pass it to
    ``with_api_token`` and keep it secret; ``repr()`` never shows it."""

    #: The API token (sensitive).
    api_token: str
    #: The id of the activated device.
    device_id: str
    #: The user the token acts for.
    user_id: str
    #: When the token expires (timezone-aware, UTC).
    expires_at: datetime.datetime

    def __repr__(self) -> str:
        return (
            f"DeviceActivation(device_id={self.device_id!r}, user_id={self.user_id!r}, "
            f"expires_at={self.expires_at.isoformat()}, api_token=[redacted])"
        )


class StoredToken(NamedTuple):
    """An API token kept in a :class:`~deviceauth.projectinsight.TokenStore`, under
    ``base_url`` and ``account``, with its expiry. ``repr()`` never shows ``api_token``."""

    #: The API base URL the token is for (ending in ``/``).
    base_url: str
    #: The program's name for whom the token belongs to (e.g. ``"default"``).
    account: str
    #: The API token (sensitive).
    api_token: str
    #: The id of the activated device.
    device_id: str
    #: The user who approved the activation.
    user_id: str
    #: The client agent of the activation (a new activation repeats it).
    client_agent: str
    #: When the token expires (timezone-aware, UTC).
    expires_at: datetime.datetime

    def __repr__(self) -> str:
        return (
            f"StoredToken(base_url={self.base_url!r}, account={self.account!r}, device_id={self.device_id!r}, "
            f"user_id={self.user_id!r}, client_agent={self.client_agent!r}, "
            f"expires_at={self.expires_at.isoformat()}, api_token=[redacted])"
        )


# Shown and pickled under the module users import them from.
_PROJECT_INSIGHT = ("PendingActivation", "DeviceActivation", "StoredToken")
for _cls in (Status, Method, AddedUsers, MonitorEvent, StoredStatus, PendingActivation, DeviceActivation, StoredToken):
    _cls.__module__ = "deviceauth.projectinsight" if _cls.__name__ in _PROJECT_INSIGHT else "deviceauth.activeconnect"
del _cls


_T = TypeVar("_T")
_R = TypeVar("_R")


def _utc(ms: int) -> datetime.datetime:
    """Milliseconds since the Unix epoch as an aware UTC datetime."""
    return datetime.datetime.fromtimestamp(ms / 1000, datetime.timezone.utc)


def _stored_status(status: Status, watched: bool, error: Optional[str], updated_at_ms: int) -> StoredStatus:
    """A :class:`StoredStatus` from the native layer's fields."""
    return StoredStatus(status, watched, error, _utc(updated_at_ms))


def _store_event(
    id: str, kind: Literal["changed", "unreachable"], key: str, user: str, session_token: str,
    previous: Status, status: Status, error: Optional[str], at_ms: int,
) -> MonitorEvent:  # fmt: skip
    """A :class:`MonitorEvent` from a store event's fields: an unreachable one gets the error
    of the code in its ``"CODE: message"`` text, and no statuses (as in memory)."""
    if kind == "unreachable":
        code, _, message = (error or "").partition(": ")
        failure = class_for(code)(message)
        return MonitorEvent(kind, user, session_token, None, None, failure, id, key, _utc(at_ms))
    return MonitorEvent(kind, user, session_token, previous, status, None, id, key, _utc(at_ms))


async def _then(pending: Awaitable[_T], wrap: Callable[[_T], _R]) -> _R:
    """``wrap`` of what ``pending`` gives, as one awaitable."""
    return wrap(await pending)


def _to_json(value: Any) -> str:
    """``value`` as JSON text; NaN or infinity is :class:`InvalidArgumentError` (an
    unsupported type stays ``TypeError``)."""
    try:
        return json.dumps(value, allow_nan=False, ensure_ascii=False)
    except ValueError as error:
        raise InvalidArgumentError(f"not valid JSON: {error}") from None


def _stored(data: Any) -> Any:
    """Stored session data as the native layer takes it: a dict becomes its JSON text."""
    return _to_json(data) if isinstance(data, dict) else data
