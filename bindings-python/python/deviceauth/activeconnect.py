"""Activeconnect (renamed IAMPASS): passwordless push sign-in through the user's phone.

1. :meth:`Client.add_users` registers your users with the service (use a random token per
   user, not their name, as the service recommends).
2. :meth:`Client.device_registration_link` gives each user a link to open on the phone
   (by e-mail, :meth:`Client.send_registration_sms`, or a QR code).
3. :meth:`Client.authenticate_user` pushes a sign-in request to the phone and returns a
   :class:`Session`; :meth:`Session.wait` polls until the phone answers.
4. While the user stays signed in, :meth:`Session.watch` (or a periodic
   :meth:`Session.refresh`; in a web request ``refresh(timeout=DEFAULT_CHECK_BUDGET)``)
   notices remote logout and walkaway; :meth:`Session.logout` ends it.

:meth:`Client.health` checks that the service is reachable and accepts the application's
credentials, with one read-only request inside a short budget (for a start-up check and alerting).

:meth:`Client.with_attempt_limit` limits sign-in requests per user (push-bombing
defence), counted in a store shared by every process of the app.

:meth:`Session.to_json` is the session's state, to keep in your server-side session store
and :meth:`Client.resume` later. :class:`AsyncClient` and :class:`AsyncSession` are the
asyncio forms: the same methods, returning awaitables.

To watch many signed-in users at once, add their sessions to one :class:`Monitor` (or
:class:`AsyncMonitor`): a single polling task, spread over the interval, reports each
status change once as a :class:`MonitorEvent`; ``shard=(index, count)`` and
:func:`shard_of` split the sessions between processes. With ``store=`` (SQLite, Postgres,
Redis) the sessions and their last known status live in a store shared by every process
of the app: any process adds sessions and reads :meth:`Monitor.status`, and any number of
monitors share the polling, surviving crashes and restarts.

Every class here is a thin face over one native class of ``deviceauth._native``; defaults
(``None`` below) are the Rust core's.
"""

from __future__ import annotations

from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    AsyncIterator,
    Awaitable,
    Callable,
    Dict,
    Generic,
    Iterator,
    List,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
    Union,
)

from . import _native
from ._errors import *  # noqa: F403 (every exception class, re-exported)
from ._native import (
    DEFAULT_BASE_URL,
    DEFAULT_CHECK_BUDGET,
    DEFAULT_HEALTH_BUDGET,
    HEALTH_PROBE_USER,
    MAX_USER_ID_BYTES,
    SERVER_ENV,
    RetryPolicy,
    shard_of,
)
from ._types import AddedUsers, Health, HttpOptions, Method, MonitorEvent, Status, StoredStatus, _stored, _then

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "Client", "AsyncClient", "Session", "AsyncSession", "StatusIterator", "AsyncStatusIterator",
    "AddedUsers", "Monitor", "AsyncMonitor", "MonitorEvent", "StoredStatus", "shard_of", "Status", "Method",
    "HttpOptions", "RetryPolicy", "DEFAULT_BASE_URL", "SERVER_ENV", "MAX_USER_ID_BYTES", "DEFAULT_CHECK_BUDGET",
    "Health", "DEFAULT_HEALTH_BUDGET", "HEALTH_PROBE_USER"
]  # fmt: skip
__all__ += ["DeviceAuthError", "InvalidArgumentError", "NotFoundError", "UnauthorizedError", "NotStartedError",
            "RefusedError", "HttpError", "ProtocolError", "TimeoutError", "AbortedError", "TransportError",
            "InternalError", "RateLimitedError", "ExpiredError", "StoreError"]  # fmt: skip

_S = TypeVar("_S", bound="_Session")
_C = TypeVar("_C", bound="_Client[Any]")
_T = TypeVar("_T")
StoredSession = Union[str, Dict[str, Any]]


def _or_end(value: Optional[_T], end: Type[Exception]) -> _T:
    """``value``, or ``end`` (``StopIteration``, ``StopAsyncIteration``) raised for the
    ``None`` that marks the end of a stream."""
    if value is None:
        raise end
    return value


class _Client(Generic[_S]):
    """What :class:`Client` and :class:`AsyncClient` share."""

    __slots__ = ("_native",)

    def __init__(
        self,
        application_id: str,
        application_secret: str,
        base_url: Optional[str] = None,
        next_application_secret: Optional[str] = None,
        **options: Unpack[HttpOptions],
    ) -> None:
        self._native = _native.Client(application_id, application_secret, base_url, next_application_secret, **options)

    def _session(self, native: _native.Session) -> _S:
        raise NotImplementedError

    @classmethod
    def _wrap(cls: Type[_C], native: _native.Client) -> _C:
        """A client of this class over an existing native client."""
        client = cls.__new__(cls)
        client._native = native
        return client

    @property
    def application_id(self) -> str:
        """The application id."""
        return self._native.application_id

    @property
    def base_url(self) -> str:
        """The service's base URL."""
        return self._native.base_url

    def resume(self, data: StoredSession) -> _S:
        """A session from stored data: the text of ``to_json()``, or the dict it parses to.
        No request is sent. Status or logout URLs outside the allowed origins are refused."""
        return self._session(self._native.resume(_stored(data)))

    def unseal(self, sealed: str, key: bytes) -> _S:
        """A session from the text of ``seal(key)``. Raises :class:`InvalidArgumentError`
        when the text was altered or truncated, or sealed with another key or application."""
        return self._session(self._native.unseal(sealed, key))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(application_id={self.application_id!r}, base_url={self.base_url!r})"


class Client(_Client["Session"]):
    """A client for one Activeconnect (IAMPASS) application: manage users and start sign-ins.

    Every call blocks with the GIL released; :class:`AsyncClient` has the same methods for
    asyncio. Bad values raise :class:`InvalidArgumentError` before any request is sent.

    ``base_url`` defaults to ``$ACTIVE_CONNECT_SERVER`` (then ``$IAMPASS_SERVER``), else the
    production service. ``next_application_secret`` is for changing the secret without
    downtime: a call the service refuses with the current secret is sent once more signed
    with the next (a refused signature was not acted on), which is used first once accepted
    (see docs/operations.md). The keyword options are :class:`HttpOptions` (``timeout`` of one
    HTTP request in seconds, ``retry``, ``user_agent``, ``allow_insecure_http``,
    ``allowed_origins``, ``ca_file``). The client is thread-safe and safe to use after
    ``os.fork()`` (the child builds its own connection pool).
    """

    __slots__ = ()

    def _session(self, native: _native.Session) -> Session:
        return Session(native)

    def add_users(self, users: Sequence[str]) -> AddedUsers:
        """Registers users with the service. Adding a user twice is harmless: it is reported
        in ``existing``. Use a random token per user rather than a name."""
        return self._native.add_users(users).wait()

    def add_user(self, user: str) -> AddedUsers:
        """Registers one user; see :meth:`add_users`."""
        return self._native.add_user(user).wait()

    def delete_users(self, users: Sequence[str]) -> None:
        """Removes users from the service."""
        return self._native.delete_users(users).wait()

    def device_registration_link(self, user: str, display_name: Optional[str] = None) -> str:
        """The link that registers the user's phone, to open on the phone (e-mail, SMS, QR
        code). ``display_name`` is what the phone app shows for this account."""
        return self._native.device_registration_link(user, display_name).wait()

    def has_registered_mobile_device(self, user: str) -> bool:
        """Whether the user has registered a phone."""
        return self._native.has_registered_mobile_device(user).wait()

    def health(self, timeout: Optional[float] = None) -> Health:
        """Checks that the service is reachable and accepts this application's credentials,
        with one signed read-only request (``has_registered_mobile_device`` for
        :data:`HEALTH_PROBE_USER`, which is never added): no user, push, SMS or session is
        made. Returns :class:`Health` (``latency`` in seconds, ``origin``). Raises
        :class:`UnauthorizedError` naming the credential to check (secret or application
        id), :class:`TransportError` naming the origin it could not reach,
        :class:`TimeoutError` after ``timeout`` seconds (default
        :data:`DEFAULT_HEALTH_BUDGET`, 3), :class:`NotFoundError` when the base URL does
        not lead to the service. Sent once, never retried."""
        return self._native.health(timeout).wait()

    def lost_user_mobile_device(self, user: str) -> str:
        """Disables the user's phone and returns a new registration link."""
        return self._native.lost_user_mobile_device(user).wait()

    def send_registration_sms(
        self, user: str, phone_number: str, display_name: Optional[str] = None, message: Optional[str] = None
    ) -> None:
        """Has the service text the registration link to ``phone_number`` (E.164, e.g.
        ``+15550100``). Never retried once the request may have been sent."""
        return self._native.send_registration_sms(user, phone_number, display_name, message).wait()

    def authenticate_user(
        self, user: str, methods: Optional[Sequence[Union[Method, str]]] = None, duration_seconds: Optional[int] = None
    ) -> Session:
        """Pushes a sign-in request to the user's phone and returns its :class:`Session`.

        ``methods`` (:class:`Method` members or strings) limits how the user may answer;
        leave it out to let the service choose (preferred). ``duration_seconds`` is the
        session's lifetime once active. A refusal raises :class:`NotStartedError` with
        ``.reason`` (e.g. ``NO_MOBILE_DEVICE``). Never retried once the request may have
        been sent."""
        return Session(self._native.authenticate_user(user, methods, duration_seconds).wait())

    def with_attempt_limit(
        self,
        store: str,
        *,
        attempts: Optional[int] = None,
        window: Optional[float] = None,
        seal_key: Optional[bytes] = None,
    ) -> Client:
        """A copy of this client (sharing its connections and settings) whose
        :meth:`authenticate_user` allows each user at most ``attempts`` sign-in requests
        (default 5) per ``window`` seconds (default 600), counted in the store at ``store``
        (``"memory"``, ``"sqlite:///path"``, ``"postgresql://..."``, ``"redis://..."``), so
        every process on the store shares the count. A request over the limit raises
        :class:`RateLimitedError` (``retry_after`` in seconds) and is not sent. ``seal_key``
        (the app's 32 bytes) may be left out: counting seals nothing. Blocks, with the GIL
        released, while the store opens; bad values raise :class:`InvalidArgumentError`, an
        unreachable store :class:`StoreError`. This client is unchanged."""
        return Client._wrap(self._native.with_attempt_limit(store, attempts, window, seal_key).wait())


class AsyncClient(_Client["AsyncSession"]):
    """The asyncio form of :class:`Client`: the same constructor and methods, each returning
    an awaitable. Cancelling the awaiting task cancels the request."""

    __slots__ = ()

    def _session(self, native: _native.Session) -> AsyncSession:
        return AsyncSession(native)

    def add_users(self, users: Sequence[str]) -> Awaitable[AddedUsers]:
        """See :meth:`Client.add_users`."""
        return self._native.add_users(users)

    def add_user(self, user: str) -> Awaitable[AddedUsers]:
        """See :meth:`Client.add_user`."""
        return self._native.add_user(user)

    def delete_users(self, users: Sequence[str]) -> Awaitable[None]:
        """See :meth:`Client.delete_users`."""
        return self._native.delete_users(users)

    def device_registration_link(self, user: str, display_name: Optional[str] = None) -> Awaitable[str]:
        """See :meth:`Client.device_registration_link`."""
        return self._native.device_registration_link(user, display_name)

    def has_registered_mobile_device(self, user: str) -> Awaitable[bool]:
        """See :meth:`Client.has_registered_mobile_device`."""
        return self._native.has_registered_mobile_device(user)

    def health(self, timeout: Optional[float] = None) -> Awaitable[Health]:
        """See :meth:`Client.health`."""
        return self._native.health(timeout)

    def lost_user_mobile_device(self, user: str) -> Awaitable[str]:
        """See :meth:`Client.lost_user_mobile_device`."""
        return self._native.lost_user_mobile_device(user)

    def send_registration_sms(
        self, user: str, phone_number: str, display_name: Optional[str] = None, message: Optional[str] = None
    ) -> Awaitable[None]:
        """See :meth:`Client.send_registration_sms`."""
        return self._native.send_registration_sms(user, phone_number, display_name, message)

    def authenticate_user(
        self, user: str, methods: Optional[Sequence[Union[Method, str]]] = None, duration_seconds: Optional[int] = None
    ) -> Awaitable[AsyncSession]:
        """See :meth:`Client.authenticate_user`; the awaitable gives an :class:`AsyncSession`.
        Bad values raise at once, before any awaitable exists."""
        return _then(self._native.authenticate_user(user, methods, duration_seconds), AsyncSession)

    def with_attempt_limit(
        self,
        store: str,
        *,
        attempts: Optional[int] = None,
        window: Optional[float] = None,
        seal_key: Optional[bytes] = None,
    ) -> Awaitable[AsyncClient]:
        """See :meth:`Client.with_attempt_limit`; the awaitable opens the store without
        blocking the loop and gives an :class:`AsyncClient`. A bad ``attempts`` or
        ``window`` raises at once."""
        return _then(self._native.with_attempt_limit(store, attempts, window, seal_key), AsyncClient._wrap)


class _Session:
    """What :class:`Session` and :class:`AsyncSession` share."""

    __slots__ = ("_native",)

    def __init__(self, native: _native.Session) -> None:
        self._native = native

    @property
    def user(self) -> str:
        """The user id the session belongs to."""
        return self._native.user

    @property
    def session_token(self) -> str:
        """The session's token (not a secret: what a :class:`Monitor` reports)."""
        return self._native.session_token

    @property
    def status(self) -> Status:
        """The last status seen (no request), as a :class:`Status` member."""
        return self._native.status

    @property
    def raw_status(self) -> str:
        """The last status seen as the service spelled it (useful when ``status`` is ``UNKNOWN``)."""
        return self._native.raw_status

    def to_json(self) -> str:
        """The session's state as JSON, for ``resume()`` later. Sensitive: it holds the
        session secret; keep it server side (never in a cookie or a log)."""
        return self._native.to_json()

    def seal(self, key: bytes) -> str:
        """The session sealed with ``key`` (32 bytes): encrypted and authenticated into an
        opaque string that may sit in a cookie; ``unseal(text, key)`` resumes it."""
        return self._native.seal(key)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(user={self.user!r}, status={self.raw_status!r})"


class Session(_Session):
    """A user's sign-in session, returned by :meth:`Client.authenticate_user` and
    :meth:`Client.resume`. ``repr()`` shows only the user and the status."""

    __slots__ = ()

    def refresh(self, timeout: Optional[float] = None) -> Status:
        """Polls the status once and returns it. An ended session is not polled again.

        With ``timeout`` (seconds; :data:`DEFAULT_CHECK_BUDGET` suits a web request), it
        gives up with :class:`TimeoutError` ("no status within N ms") once that has passed,
        whatever the retry policy, and the session's status stays as it was. ``None``
        (default): the client's request timeout and retry policy alone bound it."""
        return self._native.refresh(timeout).wait()

    def wait(self, timeout: Optional[float] = None, interval: Optional[float] = None) -> Status:
        """Polls every ``interval`` seconds (default 2) until the session is no longer in
        progress and returns that status (``ACTIVE``, or how it ended). Raises
        :class:`TimeoutError` after ``timeout`` seconds (default 120). Ctrl-C interrupts it
        (``KeyboardInterrupt``) within 0.1 s and stops the polling."""
        return self._native.wait(timeout, interval).wait()

    def watch(self, interval: Optional[float] = None) -> StatusIterator:
        """An iterator of status changes, polled every ``interval`` seconds (default 5), for
        as long as the user stays signed in: it yields on each change and stops after an
        ended status. A failed poll raises; iterating again goes on after a transient one."""
        return StatusIterator(self._native.watch(interval))

    def logout(self) -> bool:
        """Ends the session at the service: ``True`` when it closed it, ``False`` when it
        was already over."""
        return self._native.logout().wait()


class AsyncSession(_Session):
    """The asyncio form of :class:`Session`: ``refresh``, ``wait`` and ``logout`` return
    awaitables and ``watch`` an async iterator. Cancelling the awaiting task stops the polling."""

    __slots__ = ()

    def refresh(self, timeout: Optional[float] = None) -> Awaitable[Status]:
        """See :meth:`Session.refresh`."""
        return self._native.refresh(timeout)

    def wait(self, timeout: Optional[float] = None, interval: Optional[float] = None) -> Awaitable[Status]:
        """See :meth:`Session.wait`."""
        return self._native.wait(timeout, interval)

    def watch(self, interval: Optional[float] = None) -> AsyncStatusIterator:
        """See :meth:`Session.watch`: ``async for status in session.watch(): ...``."""
        return AsyncStatusIterator(self._native.watch(interval))

    def logout(self) -> Awaitable[bool]:
        """See :meth:`Session.logout`."""
        return self._native.logout()


class _Changes:
    """What :class:`StatusIterator` and :class:`AsyncStatusIterator` share."""

    __slots__ = ("_watch",)

    def __init__(self, watch: _native.Watch) -> None:
        self._watch = watch


class StatusIterator(_Changes, Iterator[Status]):
    """The iterator returned by :meth:`Session.watch`."""

    __slots__ = ()

    def __iter__(self) -> StatusIterator:
        return self

    def __next__(self) -> Status:
        return _or_end(self._watch.next().wait(), StopIteration)


class AsyncStatusIterator(_Changes, AsyncIterator[Status]):
    """The async iterator returned by :meth:`AsyncSession.watch`."""

    __slots__ = ()

    def __aiter__(self) -> AsyncStatusIterator:
        return self

    async def __anext__(self) -> Status:
        return _or_end(await self._watch.next(), StopAsyncIteration)


_NativeStore = _native.StoreMonitor
_NativeMonitor = Union[_native.Monitor, _NativeStore]


def _open_store(
    client: Union[Client, AsyncClient],
    store: str,
    seal_key: Optional[bytes],
    interval: Optional[float],
    max_in_flight: Optional[int],
    unreachable_after: Optional[float],
    shard: Optional[Tuple[int, int]],
    lease: Optional[float],
    batch: Optional[int],
    polling: bool,
    capacity: Optional[int],
) -> _native.Pending[_native.StoreMonitor]:
    """The pending opening of a store-backed native monitor."""
    if not isinstance(client, _Client):
        raise TypeError("client must be an activeconnect.Client or activeconnect.AsyncClient")
    if shard is not None:
        raise InvalidArgumentError("shard: a Monitor with a store shares the work through the store; leave shard out")
    # Left out: empty, which the core takes as a random key for memory and refuses otherwise.
    seal_key = b"" if seal_key is None else seal_key
    return _native.StoreMonitor.open(
        client._native, store, seal_key, interval, max_in_flight, unreachable_after, lease, batch, polling, capacity
    )


class _Monitor:
    """What :class:`Monitor` and :class:`AsyncMonitor` share."""

    __slots__ = ("_native",)

    _native: _NativeMonitor

    def __init__(
        self,
        client: Union[Client, AsyncClient],
        interval: Optional[float] = None,
        max_in_flight: Optional[int] = None,
        unreachable_after: Optional[float] = None,
        shard: Optional[Tuple[int, int]] = None,
        *,
        store: Optional[str] = None,
        seal_key: Optional[bytes] = None,
        lease: Optional[float] = None,
        batch: Optional[int] = None,
        polling: bool = True,
        capacity: Optional[int] = None,
    ) -> None:
        if store is not None:
            self._native = _open_store(
                client, store, seal_key, interval, max_in_flight, unreachable_after, shard, lease, batch, polling,
                capacity,
            ).wait()  # fmt: skip
            return
        if not isinstance(client, _Client):
            raise TypeError("client must be an activeconnect.Client or activeconnect.AsyncClient")
        if seal_key is not None or lease is not None or batch is not None or not polling or capacity is not None:
            raise InvalidArgumentError("seal_key, lease, batch, polling and capacity need a store (store=...)")
        self._native = _native.Monitor(client._native, interval, max_in_flight, unreachable_after, shard)

    def _store(self) -> _NativeStore:
        """The native store-backed monitor; for the in-memory one, what needs a store raises."""
        if isinstance(self._native, _native.StoreMonitor):
            return self._native
        raise InvalidArgumentError("this needs a Monitor with a store (store=...)")

    def _add(self, session: Union[Session, AsyncSession, StoredSession], key: Optional[str]) -> Any:
        """``add`` of the native monitor: a bool in memory, a pending call with a store."""
        native = session._native if isinstance(session, _Session) else _stored(session)
        if key is None and isinstance(self._native, _native.Monitor):
            return self._native.add(native)
        return self._store().add(native, key)

    def _remove(self, key: str) -> Any:
        """``remove`` of the native monitor: a bool in memory, a pending call with a store."""
        return self._native.remove(key)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._native.closed

    @property
    def shard(self) -> Optional[Tuple[int, int]]:
        """``(index, count)`` of the shard watched, or ``None`` (always with a store)."""
        return self._native.shard if isinstance(self._native, _native.Monitor) else None

    def __len__(self) -> int:
        """How many sessions are watched (in memory only: ask a store with ``status(key)``)."""
        if isinstance(self._native, _native.StoreMonitor):
            raise TypeError("a Monitor with a store has no length: ask status(key)")
        return len(self._native)

    def __contains__(self, session_token: object) -> bool:
        """Whether the session with this token is watched (in memory only: ask a store with
        ``status(key)``)."""
        if isinstance(self._native, _native.StoreMonitor):
            raise TypeError("a Monitor with a store cannot answer `in`: ask status(key)")
        return isinstance(session_token, str) and session_token in self._native

    def __repr__(self) -> str:
        return self._native.describe(type(self).__name__)


class Monitor(_Monitor, Iterator[MonitorEvent]):
    """Watches many signed-in sessions with one polling task, for remote logout and walkaway.

    Every session added is polled once per ``interval`` seconds (default 5; the first poll
    of each at a random moment within the interval), with at most ``max_in_flight`` polls at
    a time (default 100). Iterating gives a :class:`MonitorEvent` for each status change,
    once; a session is dropped after an ended status, and reported ``"unreachable"`` (and
    dropped) when its polls keep failing for ``unreachable_after`` seconds (default 60) or
    fail for good. ``shard=(index, count)`` watches only the sessions whose token falls in
    that shard (see :func:`shard_of`).

    **With a store** (``store="memory"``, ``"sqlite:///path/to/file"``,
    ``"postgresql://user:password@host/db"`` or ``"redis://:password@host/0"``; an optional
    ``?namespace=NAME`` keeps apps apart), the sessions live in the store, sealed with
    ``seal_key`` (32 bytes, the same in every process of the app; required but for memory;
    never shown): any process adds them (``add(session, key)``) and reads their last known
    status (``status(key)``, no call to the service), and every monitor on the store shares
    the polling by claiming due sessions for ``lease`` seconds (default 60) in batches of
    ``batch`` (default 100); one that dies loses its claims when the lease ends.
    ``polling=False`` opens the store without polling (a web worker that only adds and
    reads). Opening connects to the store (GIL released) and raises :class:`StoreError`
    (``reason`` ``UNREACHABLE``, ``UNAUTHORIZED``, ...) or, for a malformed URL or key,
    :class:`InvalidArgumentError`; ``shard`` is refused. The events are then those of every
    monitor on the store, read from the first read of events on (read ``status(key)`` for
    what came before), **at least once: drop repeats by** ``MonitorEvent.id``. They come
    through a channel of ``capacity`` events (default 1000): when the reader falls behind,
    reading the store pauses until there is room; the store keeps events for a while
    (memory: the last 10,000; SQLite and Postgres: one hour; Redis: about the last
    100,000), and a reader that falls further behind gets a :class:`StoreError` with
    ``reason`` ``LAGGED`` (events were missed: re-read the statuses), then the events still
    kept. A store failure while reading events raises :class:`StoreError`; iterating again
    goes on.

    ``client`` is a :class:`Client` (or an :class:`AsyncClient`). Blocking reads release the
    GIL and Ctrl-C interrupts them. :meth:`close` (or leaving a ``with`` block) stops the
    polling. A monitor belongs to the process that made it: after ``fork()`` start a new one.
    """

    __slots__ = ()

    def add(self, session: Union[Session, AsyncSession, StoredSession], key: Optional[str] = None) -> bool:
        """Starts watching a session: a :class:`Session`, an :class:`AsyncSession`, the text
        of ``to_json()`` or the dict it parses to. In memory, ``False`` when it is already
        watched, already ended, belongs to another shard, or the monitor is closed. With a
        store it is written under ``key`` (default its token; e.g. your sign-in id), due for
        a check at once: ``False`` when the key is taken; an ended session is refused.
        No request is sent to the service."""
        added = self._add(session, key)
        return added if isinstance(added, bool) else bool(added.wait())

    def remove(self, key: str) -> bool:
        """Stops watching the session with this token (with a store: this key; the row is
        deleted); ``False`` when there was none."""
        removed = self._remove(key)
        return removed if isinstance(removed, bool) else bool(removed.wait())

    def status(self, key: str) -> Optional[StoredStatus]:
        """With a store: the last known status of the session added under ``key`` (one read
        of the store, no call to the service), or ``None`` when there is none."""
        return self._store().status(key).wait()

    def close(self) -> None:
        """Stops the polling. In memory, events already found can still be read; then
        iteration ends. With a store, iteration ends at once, and this returns once the polls
        in flight are written back and the claims released (for other monitors to take)."""
        if isinstance(self._native, _native.StoreMonitor):
            self._native.close().wait()
        else:
            self._native.close()

    def __iter__(self) -> Monitor:
        return self

    def __next__(self) -> MonitorEvent:
        """The next event, waiting as long as it takes (GIL released; Ctrl-C interrupts)."""
        return _or_end(self._native.next().wait(), StopIteration)

    def poll(self, timeout: Optional[float] = None) -> List[MonitorEvent]:
        """Waits up to ``timeout`` seconds (``None``: as long as it takes; ``0``: not at
        all) for an event and returns every event ready then, oldest first; ``[]`` when none
        came (or the monitor is closed and drained). GIL released; Ctrl-C interrupts."""
        return self._native.poll(timeout).wait()

    def run(self, callback: Callable[[MonitorEvent], object]) -> None:
        """Calls ``callback(event)`` for each event as it comes, until the monitor is closed
        (the callback may call :meth:`close`) and drained. An exception from the callback,
        or Ctrl-C, ends it and propagates."""
        for event in self:
            callback(event)

    def __enter__(self) -> Monitor:
        return self

    def __exit__(
        self, exc_type: Optional[Type[BaseException]], exc: Optional[BaseException], tb: Optional[TracebackType]
    ) -> None:
        self.close()


class AsyncMonitor(_Monitor, AsyncIterator[MonitorEvent]):
    """The asyncio form of :class:`Monitor`: ``async for event in monitor`` gives the
    events, and ``await monitor.poll(timeout)`` a list of the ready ones. Cancelling the
    awaiting task leaves the monitor running and loses no event.

    With a store (see :class:`Monitor`), ``await AsyncMonitor.open(client, store=...)``
    opens it without blocking the loop (the constructor blocks while it connects), and
    :meth:`add`, :meth:`remove` and :meth:`status` return awaitables."""

    __slots__ = ()

    @classmethod
    async def open(
        cls,
        client: Union[Client, AsyncClient],
        interval: Optional[float] = None,
        max_in_flight: Optional[int] = None,
        unreachable_after: Optional[float] = None,
        *,
        store: str,
        seal_key: Optional[bytes] = None,
        lease: Optional[float] = None,
        batch: Optional[int] = None,
        polling: bool = True,
        capacity: Optional[int] = None,
    ) -> AsyncMonitor:
        """A monitor with a store, opened without blocking the event loop; the options are
        :class:`Monitor`'s."""
        monitor = cls.__new__(cls)
        monitor._native = await _open_store(
            client, store, seal_key, interval, max_in_flight, unreachable_after, None, lease, batch, polling, capacity
        )
        return monitor

    def add(self, session: Union[Session, AsyncSession, StoredSession], key: Optional[str] = None) -> Any:
        """See :meth:`Monitor.add`: a bool in memory; with a store, an awaitable of it."""
        return self._add(session, key)

    def remove(self, key: str) -> Any:
        """See :meth:`Monitor.remove`: a bool in memory; with a store, an awaitable of it."""
        return self._remove(key)

    def status(self, key: str) -> Awaitable[Optional[StoredStatus]]:
        """See :meth:`Monitor.status` (with a store only)."""
        return self._store().status(key)

    def close(self) -> None:
        """Stops the polling. In memory, events already found can still be read; then
        iteration ends. With a store, iteration ends at once, and the polls in flight are
        written back and the claims released in the background."""
        self._native.close()

    def __aiter__(self) -> AsyncMonitor:
        return self

    async def __anext__(self) -> MonitorEvent:
        return _or_end(await self._native.next(), StopAsyncIteration)

    def poll(self, timeout: Optional[float] = None) -> Awaitable[List[MonitorEvent]]:
        """See :meth:`Monitor.poll`."""
        return self._native.poll(timeout)
