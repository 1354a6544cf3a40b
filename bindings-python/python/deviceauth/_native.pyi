"""Type stubs of the extension module ``deviceauth._native`` (written in Rust).

Use the classes through :mod:`deviceauth.activeconnect` and :mod:`deviceauth.projectinsight`,
which re-export them under their public names (``activeconnect.Client`` is
``ActiveconnectClient`` here, ``projectinsight.Client`` is ``ProjectInsightClient``).
"""

from collections.abc import AsyncIterator, Awaitable, Iterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Callable, ClassVar, Literal, final

from ._errors import DeviceAuthError
from ._types import Method, Status

__all__ = [
    "__version__",
    "ActiveconnectClient",
    "ActiveconnectAsyncClient",
    "AddedUsers",
    "Session",
    "AsyncSession",
    "StatusIterator",
    "AsyncStatusIterator",
    "Monitor",
    "AsyncMonitor",
    "MonitorEvent",
    "shard_of",
    "ProjectInsightClient",
    "ProjectInsightAsyncClient",
    "ApiClient",
    "AsyncApiClient",
    "PendingActivation",
    "DeviceActivation",
    "RetryPolicy",
    "DEFAULT_BASE_URL",
    "SERVER_ENV",
    "MAX_USER_ID_BYTES",
    "svg",
    "terminal",
    "_stop_logging",
]

__version__: str
#: The production Activeconnect service.
DEFAULT_BASE_URL: str
#: The environment variable read for the Activeconnect base URL (``ACTIVE_CONNECT_SERVER``).
SERVER_ENV: str
#: The longest user id accepted, in UTF-8 bytes.
MAX_USER_ID_BYTES: int

def _stop_logging() -> None: ...
def svg(text: str) -> str:
    """A standalone ``<svg>`` element showing ``text`` as a QR code."""
def terminal(text: str) -> str:
    """``text`` as a QR code in Unicode half blocks for a dark terminal."""

@final
class RetryPolicy:
    """How idempotent calls are retried (times in seconds)."""

    def __new__(
        cls,
        max_attempts: int = 4,
        initial_backoff: float = 0.2,
        max_backoff: float = 5.0,
        deadline: float = 30.0,
    ) -> RetryPolicy: ...
    @staticmethod
    def never() -> RetryPolicy: ...
    @property
    def max_attempts(self) -> int: ...
    @property
    def initial_backoff(self) -> float: ...
    @property
    def max_backoff(self) -> float: ...
    @property
    def deadline(self) -> float: ...
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

# ---------------------------------------------------------------- activeconnect

@final
class AddedUsers:
    """Which users ``add_users`` created and which already existed."""

    @property
    def created(self) -> list[str]: ...
    @property
    def existing(self) -> list[str]: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class ActiveconnectClient:
    """``deviceauth.activeconnect.Client``: blocking calls, GIL released."""

    def __new__(
        cls,
        application_id: str,
        application_secret: str,
        base_url: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        allow_insecure_http: bool = False,
    ) -> ActiveconnectClient: ...
    @property
    def application_id(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    def add_users(self, users: Sequence[str]) -> AddedUsers: ...
    def add_user(self, user: str) -> AddedUsers: ...
    def delete_users(self, users: Sequence[str]) -> None: ...
    def device_registration_link(self, user: str, display_name: str | None = None) -> str: ...
    def has_registered_mobile_device(self, user: str) -> bool: ...
    def lost_user_mobile_device(self, user: str) -> str: ...
    def send_registration_sms(
        self,
        user: str,
        phone_number: str,
        display_name: str | None = None,
        message: str | None = None,
    ) -> None: ...
    def authenticate_user(
        self,
        user: str,
        methods: Sequence[Method | str] | None = None,
        duration_seconds: int | None = None,
    ) -> Session: ...
    def resume(self, data: str | dict[str, Any]) -> Session: ...
    def unseal(self, sealed: str, key: bytes) -> Session: ...

@final
class ActiveconnectAsyncClient:
    """``deviceauth.activeconnect.AsyncClient``: the same methods, awaitable."""

    def __new__(
        cls,
        application_id: str,
        application_secret: str,
        base_url: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        allow_insecure_http: bool = False,
    ) -> ActiveconnectAsyncClient: ...
    @property
    def application_id(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    def add_users(self, users: Sequence[str]) -> Awaitable[AddedUsers]: ...
    def add_user(self, user: str) -> Awaitable[AddedUsers]: ...
    def delete_users(self, users: Sequence[str]) -> Awaitable[None]: ...
    def device_registration_link(self, user: str, display_name: str | None = None) -> Awaitable[str]: ...
    def has_registered_mobile_device(self, user: str) -> Awaitable[bool]: ...
    def lost_user_mobile_device(self, user: str) -> Awaitable[str]: ...
    def send_registration_sms(
        self,
        user: str,
        phone_number: str,
        display_name: str | None = None,
        message: str | None = None,
    ) -> Awaitable[None]: ...
    def authenticate_user(
        self,
        user: str,
        methods: Sequence[Method | str] | None = None,
        duration_seconds: int | None = None,
    ) -> Awaitable[AsyncSession]: ...
    def resume(self, data: str | dict[str, Any]) -> AsyncSession: ...
    def unseal(self, sealed: str, key: bytes) -> AsyncSession: ...

@final
class Session:
    """A user's sign-in session. ``to_json()`` holds the session secret: keep it server side."""

    @property
    def user(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def raw_status(self) -> str: ...
    def refresh(self) -> Status: ...
    def wait(self, timeout: float = 120.0, interval: float = 2.0) -> Status: ...
    def watch(self, interval: float = 5.0) -> StatusIterator: ...
    def logout(self) -> bool: ...
    def to_json(self) -> str: ...
    def seal(self, key: bytes) -> str: ...

@final
class StatusIterator(Iterator[Status]):
    """The iterator of ``Session.watch()``: yields each status change."""

    def __iter__(self) -> StatusIterator: ...
    def __next__(self) -> Status: ...

@final
class AsyncSession:
    """The asyncio form of ``Session``."""

    @property
    def user(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def raw_status(self) -> str: ...
    def refresh(self) -> Awaitable[Status]: ...
    def wait(self, timeout: float = 120.0, interval: float = 2.0) -> Awaitable[Status]: ...
    def watch(self, interval: float = 5.0) -> AsyncStatusIterator: ...
    def logout(self) -> Awaitable[bool]: ...
    def to_json(self) -> str: ...
    def seal(self, key: bytes) -> str: ...

@final
class AsyncStatusIterator(AsyncIterator[Status]):
    """The async iterator of ``AsyncSession.watch()``."""

    def __aiter__(self) -> AsyncStatusIterator: ...
    def __anext__(self) -> Awaitable[Status]: ...

def shard_of(session_token: str, count: int) -> int:
    """The shard (from 0) of ``session_token`` among ``count`` shards (stable hash)."""

@final
class MonitorEvent:
    """A status change (``kind == "changed"``) or an unreachable session."""

    @property
    def kind(self) -> Literal["changed", "unreachable"]: ...
    @property
    def user(self) -> str: ...
    @property
    def session_token(self) -> str: ...
    @property
    def previous(self) -> Status | None: ...
    @property
    def status(self) -> Status | None: ...
    @property
    def error(self) -> DeviceAuthError | None: ...

@final
class Monitor(Iterator[MonitorEvent]):
    """``deviceauth.activeconnect.Monitor``: watches many sessions; iterate for events."""

    def __new__(
        cls,
        client: ActiveconnectClient | ActiveconnectAsyncClient,
        interval: float = 5.0,
        max_in_flight: int = 100,
        unreachable_after: float = 60.0,
        shard: tuple[int, int] | None = None,
    ) -> Monitor: ...
    def add(self, session: Session | AsyncSession | str | dict[str, Any]) -> bool: ...
    def remove(self, session_token: str) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def shard(self) -> tuple[int, int] | None: ...
    def poll(self, timeout: float | None = None) -> list[MonitorEvent]: ...
    def run(self, callback: Callable[[MonitorEvent], object]) -> None: ...
    def __iter__(self) -> Monitor: ...
    def __next__(self) -> MonitorEvent: ...
    def __len__(self) -> int: ...
    def __contains__(self, session_token: str, /) -> bool: ...
    def __enter__(self) -> Monitor: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...

@final
class AsyncMonitor(AsyncIterator[MonitorEvent]):
    """``deviceauth.activeconnect.AsyncMonitor``: ``async for event in monitor``."""

    def __new__(
        cls,
        client: ActiveconnectAsyncClient | ActiveconnectClient,
        interval: float = 5.0,
        max_in_flight: int = 100,
        unreachable_after: float = 60.0,
        shard: tuple[int, int] | None = None,
    ) -> AsyncMonitor: ...
    def add(self, session: AsyncSession | Session | str | dict[str, Any]) -> bool: ...
    def remove(self, session_token: str) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def shard(self) -> tuple[int, int] | None: ...
    def poll(self, timeout: float | None = None) -> Awaitable[list[MonitorEvent]]: ...
    def __aiter__(self) -> AsyncMonitor: ...
    def __anext__(self) -> Awaitable[MonitorEvent]: ...
    def __len__(self) -> int: ...
    def __contains__(self, session_token: str, /) -> bool: ...

# ---------------------------------------------------------------- projectinsight

@final
class PendingActivation:
    """An activation request waiting for the user."""

    @property
    def id(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...
    def __eq__(self, other: object, /) -> bool: ...
    __hash__: ClassVar[None]  # type: ignore[assignment]

@final
class DeviceActivation:
    """A completed activation; ``api_token`` is sensitive and never shown by ``repr()``."""

    @property
    def api_token(self) -> str: ...
    @property
    def device_id(self) -> str: ...
    @property
    def user_id(self) -> str: ...
    @property
    def expires_at(self) -> datetime: ...

@final
class ProjectInsightClient:
    """``deviceauth.projectinsight.Client``: blocking calls, GIL released."""

    def __new__(
        cls,
        base_url: str,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        allow_insecure_http: bool = False,
    ) -> ProjectInsightClient: ...
    @property
    def base_url(self) -> str: ...
    def create_device_activation(
        self,
        client_agent: str,
        platform: str | None = None,
        device: str | None = None,
        ip_address: str | None = None,
        host_name: str | None = None,
    ) -> PendingActivation: ...
    def complete_device_activation(
        self,
        activation_id: str,
        code: str,
        client_agent: str,
        timeout_minutes: int | None = None,
    ) -> DeviceActivation: ...
    def with_api_token(self, api_token: str) -> ApiClient: ...

@final
class ProjectInsightAsyncClient:
    """``deviceauth.projectinsight.AsyncClient``: the same methods, awaitable."""

    def __new__(
        cls,
        base_url: str,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        user_agent: str | None = None,
        allow_insecure_http: bool = False,
    ) -> ProjectInsightAsyncClient: ...
    @property
    def base_url(self) -> str: ...
    def create_device_activation(
        self,
        client_agent: str,
        platform: str | None = None,
        device: str | None = None,
        ip_address: str | None = None,
        host_name: str | None = None,
    ) -> Awaitable[PendingActivation]: ...
    def complete_device_activation(
        self,
        activation_id: str,
        code: str,
        client_agent: str,
        timeout_minutes: int | None = None,
    ) -> Awaitable[DeviceActivation]: ...
    def with_api_token(self, api_token: str) -> AsyncApiClient: ...

@final
class ApiClient:
    """A Project Insight client that sends an API token; answers are parsed JSON."""

    def get(self, path: str) -> Any: ...
    def post(self, path: str, body: Any) -> Any: ...

@final
class AsyncApiClient:
    """The asyncio form of ``ApiClient``."""

    def get(self, path: str) -> Awaitable[Any]: ...
    def post(self, path: str, body: Any) -> Awaitable[Any]: ...
