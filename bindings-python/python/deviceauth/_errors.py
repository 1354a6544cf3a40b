"""The exceptions of deviceauth, one class per stable error code of the core.

Every exception raised by the library is a :class:`DeviceAuthError`. Its ``code`` is the
stable code shared with the Rust and Node packages; ``status`` is the HTTP status of the
response behind it (or ``None``) and ``reason`` the service's machine-readable reason (or
``None``). Messages never contain a secret.
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Dict, Optional, Tuple, Type

__all__ = [
    "DeviceAuthError",
    "InvalidArgumentError",
    "NotFoundError",
    "UnauthorizedError",
    "NotStartedError",
    "RefusedError",
    "HttpError",
    "ProtocolError",
    "TimeoutError",
    "AbortedError",
    "TransportError",
    "InternalError",
    "RateLimitedError",
    "ExpiredError",
    "StoreError",
]


class DeviceAuthError(Exception):
    """Base class of every deviceauth error."""

    #: The stable error code (``"NOT_FOUND"``, ``"TIMEOUT"``, ...).
    code: ClassVar[str] = "ERROR"
    #: The HTTP status of the response behind the error, if there was one.
    status: Optional[int]
    #: The service's machine-readable reason (``"NO_MOBILE_DEVICE"``, ``"WRONG_CODE"``, ...).
    reason: Optional[str]

    def __init__(self, message: str = "", status: Optional[int] = None, reason: Optional[str] = None) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason

    @property
    def message(self) -> str:
        """The error message."""
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        extra = ""
        if self.status is not None:
            extra += f", status={self.status!r}"
        if self.reason is not None:
            extra += f", reason={self.reason!r}"
        return f"{type(self).__name__}({self.message!r}{extra})"

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.message, self.status, self.reason))


class InvalidArgumentError(DeviceAuthError, ValueError):
    """An argument was rejected before any request was sent (also a ``ValueError``)."""

    code = "INVALID_ARGUMENT"


class NotFoundError(DeviceAuthError):
    """The service does not know the application, user, session or resource.

    A refused device activation whose request is gone also raises it, with ``reason``
    ``UNKNOWN_REQUEST`` or ``EXPIRED``.
    """

    code = "NOT_FOUND"


class UnauthorizedError(DeviceAuthError):
    """The service refused the credentials or the signature.

    A refused device activation also raises it, with ``reason`` ``WRONG_CODE``,
    ``CODE_ALREADY_USED`` or ``CLIENT_AGENT_MISMATCH``.
    """

    code = "UNAUTHORIZED"


class NotStartedError(DeviceAuthError):
    """``authenticate_user`` was answered but no sign-in started; ``reason`` says why
    (e.g. ``NO_MOBILE_DEVICE``)."""

    code = "NOT_STARTED"


class RefusedError(DeviceAuthError):
    """A management call was refused by the service; ``reason`` says why."""

    code = "REFUSED"


class HttpError(DeviceAuthError):
    """Any other HTTP error status (``status``), e.g. 503 after the retries."""

    code = "HTTP"


class ProtocolError(DeviceAuthError):
    """The service answered with something that does not follow the protocol."""

    code = "PROTOCOL"


class TimeoutError(DeviceAuthError, builtins.TimeoutError):
    """A request, or a whole wait, ran past its time limit (also the builtin ``TimeoutError``)."""

    code = "TIMEOUT"


class AbortedError(DeviceAuthError):
    """The operation was cancelled."""

    code = "ABORTED"


class TransportError(DeviceAuthError):
    """The request could not be delivered (connection refused or reset, TLS, DNS, ...)."""

    code = "TRANSPORT"


class InternalError(DeviceAuthError):
    """A defect of the library (a panic in the Rust core) caught at the boundary. The client
    and its sessions stay usable: the next call sends its request normally."""

    code = "INTERNAL"


class RateLimitedError(DeviceAuthError):
    """Too many sign-in requests for one user (the client's per-user attempt limit); nothing
    was sent. ``retry_after`` is the wait in seconds."""

    code = "RATE_LIMITED"
    #: Seconds to wait before trying again, or ``None``.
    retry_after: Optional[float] = None


class ExpiredError(DeviceAuthError):
    """A Project Insight API token past its expiry (or within 30 s of it), refused before
    sending: run the device activation again (``Client.reactivate``)."""

    code = "EXPIRED"


class StoreError(DeviceAuthError):
    """A monitor or token store failed; ``reason`` is what went wrong: ``UNREACHABLE`` (transient:
    the store could not be reached), ``UNAUTHORIZED`` (it refused the credentials),
    ``SCHEMA_TOO_NEW`` (written by a newer deviceauth), ``CORRUPT`` (a row that cannot be
    read: skipped), ``LAGGED`` (the event reader fell behind the store's retention: events
    were missed), ``BACKEND`` (anything else), ``INSECURE`` (a Project Insight token file that
    is a link, another user's or readable by others: not read), ``NOT_STORED`` (no token is
    stored for that base URL and account). The message never holds a password."""

    code = "STORE"


_BY_CODE: Dict[str, Type[DeviceAuthError]] = {}
for _cls in (
    DeviceAuthError,
    InvalidArgumentError,
    NotFoundError,
    UnauthorizedError,
    NotStartedError,
    RefusedError,
    HttpError,
    ProtocolError,
    TimeoutError,
    AbortedError,
    TransportError,
    InternalError,
    RateLimitedError,
    ExpiredError,
    StoreError,
):
    _cls.__module__ = "deviceauth"
    _BY_CODE[_cls.code] = _cls
del _cls


def class_for(code: str) -> Type[DeviceAuthError]:
    """The class of a stable error code (the base class for a code this version does not know)."""
    return _BY_CODE.get(code, DeviceAuthError)
