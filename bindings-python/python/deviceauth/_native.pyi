"""Type stubs of the extension module ``deviceauth._native`` (written in Rust).

The native layer: one class per concept. Methods that do I/O return a :class:`Pending`
call, which the pure-Python classes of :mod:`deviceauth.activeconnect` and
:mod:`deviceauth.projectinsight` either ``wait()`` for or hand out to be awaited. Use those
classes; these are their building blocks.
"""

import datetime
import os
import pathlib
from collections.abc import Callable, Generator, Sequence
from typing import Any, Generic, TypeVar, final

from typing_extensions import Unpack

from ._types import (
    AddedUsers,
    DeviceActivation,
    Health,
    HttpOptions,
    Method,
    MonitorEvent,
    PendingActivation,
    Status,
    StoredStatus,
    StoredToken,
)

_T_co = TypeVar("_T_co", covariant=True)

__all__ = [
    "__version__", "Pending", "Drain", "Client", "Session", "Watch", "Monitor", "StoreMonitor",
    "ProjectInsightClient", "ApiClient", "TokenStore", "RetryPolicy",
    "DEFAULT_BASE_URL", "SERVER_ENV", "MAX_USER_ID_BYTES", "DEFAULT_CHECK_BUDGET", "DEFAULT_HEALTH_BUDGET",
    "HEALTH_PROBE_USER", "shard_of", "svg", "terminal",
    "_after_fork_in_child", "_at_exit", "_panic_for_tests", "run_emulator", "metrics_json", "set_span_callback",
]

__version__: str
#: The production Activeconnect service.
DEFAULT_BASE_URL: str
#: The environment variable read for the Activeconnect base URL (``ACTIVE_CONNECT_SERVER``).
SERVER_ENV: str
#: The longest user id accepted, in UTF-8 bytes.
MAX_USER_ID_BYTES: int
#: The default budget of one status check inside a web request, in seconds (2.0).
DEFAULT_CHECK_BUDGET: float
#: The default budget of ``Client.health()``, in seconds (3.0).
DEFAULT_HEALTH_BUDGET: float
#: The user id a health check asks about (never added).
HEALTH_PROBE_USER: str

def _at_exit() -> None: ...
def _after_fork_in_child() -> None: ...
def _panic_for_tests(kind: str) -> Any: ...
def run_emulator(argv: list[str]) -> int:
    """Runs the ``deviceauth-emulator`` command line (``argv[0]`` is the program name) until
    SIGINT/SIGTERM, with the GIL released; returns the exit code."""
def svg(text: str) -> str:
    """A standalone ``<svg>`` element showing ``text`` as a QR code."""
def terminal(text: str) -> str:
    """``text`` as a QR code in Unicode half blocks for a dark terminal."""
def shard_of(session_token: str, count: int) -> int:
    """The shard (from 0) of ``session_token`` among ``count`` shards (stable hash)."""
def metrics_json() -> str:
    """The process-wide metrics snapshot as JSON text."""
def set_span_callback(callback: Callable[[str], object] | None) -> None:
    """Calls ``callback(record_json)`` with each finished call's span record; ``None`` stops."""

@final
class Pending(Generic[_T_co]):
    """A call into the core not started yet: ``wait()`` for it or ``await`` it, once."""

    def wait(self) -> _T_co: ...
    def __await__(self) -> Generator[Any, None, _T_co]: ...
    def __call__(self, future: Any, /) -> None: ...

@final
class Drain:
    """An event loop's reader callback: sets the results of its finished calls."""

    def __call__(self, *args: Any, **kwargs: Any) -> None: ...

@final
class RetryPolicy:
    """How idempotent calls are retried (times in seconds; ``None`` keeps the default)."""

    def __new__(
        cls,
        max_attempts: int | None = None,
        initial_backoff: float | None = None,
        max_backoff: float | None = None,
        deadline: float | None = None,
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
class Client:
    """The native Activeconnect client."""

    def __new__(
        cls,
        application_id: str,
        application_secret: str,
        base_url: str | None = None,
        next_application_secret: str | None = None,
        **options: Unpack[HttpOptions],
    ) -> Client: ...
    @property
    def application_id(self) -> str: ...
    @property
    def base_url(self) -> str: ...
    def add_users(self, users: Sequence[str]) -> Pending[AddedUsers]: ...
    def add_user(self, user: str) -> Pending[AddedUsers]: ...
    def delete_users(self, users: Sequence[str]) -> Pending[None]: ...
    def device_registration_link(self, user: str, display_name: str | None = None) -> Pending[str]: ...
    def has_registered_mobile_device(self, user: str) -> Pending[bool]: ...
    def health(self, timeout: float | None = None) -> Pending[Health]: ...
    def lost_user_mobile_device(self, user: str) -> Pending[str]: ...
    def send_registration_sms(
        self, user: str, phone_number: str, display_name: str | None = None, message: str | None = None
    ) -> Pending[None]: ...
    def authenticate_user(
        self, user: str, methods: Sequence[Method | str] | None = None, duration_seconds: int | None = None
    ) -> Pending[Session]: ...
    def with_attempt_limit(
        self,
        store: str,
        attempts: int | None = None,
        window: float | None = None,
        seal_key: bytes | None = None,
    ) -> Pending[Client]: ...
    def resume(self, data: str) -> Session: ...
    def unseal(self, sealed: str, key: bytes) -> Session: ...

@final
class Session:
    """The native sign-in session."""

    @property
    def user(self) -> str: ...
    @property
    def session_token(self) -> str: ...
    @property
    def status(self) -> Status: ...
    @property
    def raw_status(self) -> str: ...
    def refresh(self, timeout: float | None = None) -> Pending[Status]: ...
    def wait(self, timeout: float | None = None, interval: float | None = None) -> Pending[Status]: ...
    def watch(self, interval: float | None = None) -> Watch: ...
    def logout(self) -> Pending[bool]: ...
    def to_json(self) -> str: ...
    def seal(self, key: bytes) -> str: ...

@final
class Watch:
    """A session's status changes: ``next()`` gives the next one, ``None`` once ended."""

    def next(self) -> Pending[Status | None]: ...

@final
class Monitor:
    """The native monitor of many sessions."""

    def __new__(
        cls,
        client: Client,
        interval: float | None = None,
        max_in_flight: int | None = None,
        unreachable_after: float | None = None,
        shard: tuple[int, int] | None = None,
    ) -> Monitor: ...
    def add(self, session: Session | str) -> bool: ...
    def remove(self, session_token: str) -> bool: ...
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    @property
    def shard(self) -> tuple[int, int] | None: ...
    def next(self) -> Pending[MonitorEvent | None]: ...
    def poll(self, timeout: float | None = None) -> Pending[list[MonitorEvent]]: ...
    def describe(self, name: str) -> str: ...
    def __len__(self) -> int: ...
    def __contains__(self, session_token: str, /) -> bool: ...

@final
class StoreMonitor:
    """The native store-backed monitor: a store, its polling task, and its events."""

    @staticmethod
    def open(
        client: Client,
        store: str,
        seal_key: bytes,
        interval: float | None = None,
        max_in_flight: int | None = None,
        unreachable_after: float | None = None,
        lease: float | None = None,
        batch: int | None = None,
        polling: bool = True,
        capacity: int | None = None,
    ) -> Pending[StoreMonitor]: ...
    def add(self, session: Session | str, key: str | None = None) -> Pending[bool]: ...
    def remove(self, key: str) -> Pending[bool]: ...
    def status(self, key: str) -> Pending[StoredStatus | None]: ...
    def close(self) -> Pending[None]: ...
    @property
    def closed(self) -> bool: ...
    def next(self) -> Pending[MonitorEvent | None]: ...
    def poll(self, timeout: float | None = None) -> Pending[list[MonitorEvent]]: ...
    def describe(self, name: str) -> str: ...

# ---------------------------------------------------------------- projectinsight

@final
class ProjectInsightClient:
    """The native Project Insight client."""

    def __new__(cls, base_url: str, **options: Unpack[HttpOptions]) -> ProjectInsightClient: ...
    @property
    def base_url(self) -> str: ...
    def create_device_activation(
        self,
        client_agent: str,
        platform: str | None = None,
        device: str | None = None,
        ip_address: str | None = None,
        host_name: str | None = None,
    ) -> Pending[PendingActivation]: ...
    def complete_device_activation(
        self, activation_id: str, code: str, client_agent: str, timeout_minutes: int | None = None
    ) -> Pending[DeviceActivation]: ...
    def with_api_token(self, api_token: str, expires_at: datetime.datetime | None = None) -> ApiClient: ...
    def complete_and_store(
        self,
        store: TokenStore,
        account: str,
        activation_id: str,
        code: str,
        client_agent: str,
        timeout_minutes: int | None = None,
    ) -> Pending[StoredToken]: ...
    def stored_api_client(self, store: TokenStore, account: str) -> ApiClient: ...
    def reactivate(self, store: TokenStore, account: str) -> Pending[PendingActivation]: ...

@final
class ApiClient:
    """The native client that sends an API token; answers are JSON text."""

    @property
    def expires_at(self) -> datetime.datetime | None: ...
    def get(self, path: str) -> Pending[str]: ...
    def post(self, path: str, body: str) -> Pending[str]: ...

@final
class TokenStore:
    """The native token store: a file, or the OS keyring."""

    def __new__(cls, path: str | os.PathLike[str] | None = None) -> TokenStore: ...
    @staticmethod
    def default_path() -> pathlib.Path: ...
    @property
    def location(self) -> str: ...
    def load(self, base_url: str, account: str) -> StoredToken | None: ...
    def save(
        self,
        base_url: str,
        account: str,
        api_token: str,
        device_id: str,
        user_id: str,
        client_agent: str,
        expires_at: datetime.datetime,
    ) -> None: ...
    def delete(self, base_url: str, account: str) -> bool: ...
