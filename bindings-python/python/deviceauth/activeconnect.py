"""Activeconnect (renamed IAMPASS): passwordless push sign-in through the user's phone.

1. :meth:`Client.add_users` registers your users with the service (use a random token per
   user, not their name, as the service recommends).
2. :meth:`Client.device_registration_link` gives each user a link to open on the phone
   (by e-mail, :meth:`Client.send_registration_sms`, or a QR code).
3. :meth:`Client.authenticate_user` pushes a sign-in request to the phone and returns a
   :class:`Session`; :meth:`Session.wait` polls until the phone answers.
4. While the user stays signed in, :meth:`Session.watch` (or a periodic
   :meth:`Session.refresh`) notices remote logout and walkaway; :meth:`Session.logout`
   ends it.

:meth:`Session.to_json` is the session's state, to keep in your server-side session store
and :meth:`Client.resume` later. :class:`AsyncClient` and :class:`AsyncSession` are the
asyncio forms.

To watch many signed-in users at once, add their sessions to one :class:`Monitor` (or
:class:`AsyncMonitor`): a single polling task, spread over the interval, reports each
status change once as a :class:`MonitorEvent`; ``shard=(index, count)`` and
:func:`shard_of` split the sessions between processes.
"""

from ._errors import (
    AbortedError,
    DeviceAuthError,
    HttpError,
    InvalidArgumentError,
    NotFoundError,
    NotStartedError,
    ProtocolError,
    RefusedError,
    TimeoutError,
    TransportError,
    UnauthorizedError,
)
from ._native import (
    DEFAULT_BASE_URL,
    MAX_USER_ID_BYTES,
    SERVER_ENV,
    ActiveconnectAsyncClient as AsyncClient,
    ActiveconnectClient as Client,
    AddedUsers,
    AsyncMonitor,
    AsyncSession,
    AsyncStatusIterator,
    Monitor,
    MonitorEvent,
    RetryPolicy,
    Session,
    StatusIterator,
    shard_of,
)
from ._types import Method, Status

__all__ = [
    "Client",
    "AsyncClient",
    "Session",
    "AsyncSession",
    "StatusIterator",
    "AsyncStatusIterator",
    "AddedUsers",
    "Monitor",
    "AsyncMonitor",
    "MonitorEvent",
    "shard_of",
    "Status",
    "Method",
    "RetryPolicy",
    "DEFAULT_BASE_URL",
    "SERVER_ENV",
    "MAX_USER_ID_BYTES",
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
]
