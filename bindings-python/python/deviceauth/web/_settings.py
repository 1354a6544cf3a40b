"""The settings every web adapter reads: the service, the store, and the policies."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Dict, Optional, Union

from .._errors import InvalidArgumentError

#: The policies for a walked-away user: sign out (and log the service session out), or keep.
WALKAWAY_POLICIES = ("sign_out", "keep")
#: What happens when a status cannot be known in time: sign out (closed) or keep (open).
FAIL_MODES = ("closed", "open")
#: The most a status check may take inside a page request, in seconds.
DEFAULT_CHECK_BUDGET = 2.0
_SEAL_KEY_LABEL = b"deviceauth seal key v1"


def derive_seal_key(secret_key: Union[str, bytes]) -> bytes:
    """A 32-byte seal key derived from a framework's secret key (HMAC-SHA256 of a fixed
    label): every process of the app that shares the secret key derives the same one."""
    secret = secret_key.encode() if isinstance(secret_key, str) else bytes(secret_key)
    if not secret:
        raise InvalidArgumentError("a secret key is needed to derive DEVICEAUTH_SEAL_KEY; set one of them")
    return hmac.new(secret, _SEAL_KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True, repr=False)
class Settings:
    """How a web app signs users in with Activeconnect (IAMPASS). Every adapter reads the
    same settings; ``from_config`` reads them from ``DEVICEAUTH_*`` names."""

    #: The application id.
    application_id: str
    #: The application secret (never shown).
    application_secret: str
    #: The service's base URL; ``None``: ``$ACTIVE_CONNECT_SERVER``, else production.
    base_url: Optional[str] = None
    #: The Monitor's store URL (``memory``, ``sqlite:///path``, ``postgresql://...``,
    #: ``redis://...``); ``None``: no store, each request checks the service within the budget.
    store: Optional[str] = None
    #: 32 bytes sealing the sessions kept in cookies and in the store (never shown).
    seal_key: bytes = b""
    #: ``"sign_out"`` (default): walking away signs the user out and logs the service
    #: session out; ``"keep"``: a walked-away user stays signed in.
    walkaway: str = "sign_out"
    #: ``"closed"`` (default): a status that cannot be known in time signs the user out;
    #: ``"open"``: the user stays signed in (logged as a warning each time).
    fail_mode: str = "closed"
    #: The most a status check may take inside a page request, in seconds.
    check_budget: float = DEFAULT_CHECK_BUDGET
    #: Sign-in requests allowed per user and window (push-bombing defence); 0: no limit.
    attempts: int = 5
    #: The attempt window, in seconds.
    attempt_window: float = 600.0
    #: Whether this process runs a polling monitor on the store (else it only reads and adds).
    monitor: bool = True
    #: How often the monitor checks each signed-in session, in seconds; ``None``: the
    #: Monitor's default.
    monitor_interval: Optional[float] = None
    #: Options of the client (:class:`deviceauth.activeconnect.HttpOptions`), e.g. ``ca_file``.
    http: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.application_id or not self.application_secret:
            raise InvalidArgumentError("DEVICEAUTH_APPLICATION_ID and DEVICEAUTH_APPLICATION_SECRET are required")
        if self.walkaway not in WALKAWAY_POLICIES:
            raise InvalidArgumentError(f"DEVICEAUTH_WALKAWAY must be one of {WALKAWAY_POLICIES}, not {self.walkaway!r}")
        if self.fail_mode not in FAIL_MODES:
            raise InvalidArgumentError(f"DEVICEAUTH_FAIL_MODE must be one of {FAIL_MODES}, not {self.fail_mode!r}")
        if not 0 < self.check_budget <= 30:
            raise InvalidArgumentError("DEVICEAUTH_CHECK_BUDGET must be more than 0 and at most 30 seconds")
        if self.attempts < 0 or self.attempt_window <= 0:
            raise InvalidArgumentError("DEVICEAUTH_ATTEMPTS must be 0 or more and DEVICEAUTH_ATTEMPT_WINDOW positive")
        if self.monitor_interval is not None and not 0 < self.monitor_interval <= 3600:
            raise InvalidArgumentError("DEVICEAUTH_MONITOR_INTERVAL must be more than 0 and at most 3600 seconds")
        if len(self.seal_key) != 32:
            raise InvalidArgumentError("DEVICEAUTH_SEAL_KEY must be 32 bytes (64 hex digits)")

    @classmethod
    def from_config(
        cls,
        get: Callable[[str], Any],
        *,
        secret_key: Union[str, bytes, None] = None,
        default_store: Optional[str] = None,
        **overrides: Any,
    ) -> "Settings":
        """Settings from ``get(name)`` (``app.config.get``, ``os.environ.get``, ...) for the
        names ``DEVICEAUTH_APPLICATION_ID`` (or ``DEVICEAUTH_APP_ID``),
        ``DEVICEAUTH_APPLICATION_SECRET`` (or ``DEVICEAUTH_APP_SECRET``), ``_BASE_URL``,
        ``_STORE`` (else ``default_store``; ``none``: no store), ``_SEAL_KEY`` (64 hex digits; else derived
        from ``secret_key``), ``_WALKAWAY``, ``_FAIL_MODE``, ``_CHECK_BUDGET``,
        ``_ATTEMPTS``, ``_ATTEMPT_WINDOW``, ``_MONITOR``, ``_MONITOR_INTERVAL``, ``_CA_FILE``. ``overrides``
        (field names) win over both. Bad values raise :class:`InvalidArgumentError` naming
        the setting."""

        def read(name: str, *aliases: str) -> Any:
            for key in (name, *aliases):
                value = get("DEVICEAUTH_" + key)
                if value is not None and value != "":
                    return value
            return None

        values: Dict[str, Any] = {
            "application_id": read("APPLICATION_ID", "APP_ID"),
            "application_secret": read("APPLICATION_SECRET", "APP_SECRET"),
            "base_url": read("BASE_URL"),
            "store": _store(read("STORE"), default_store),
            "walkaway": read("WALKAWAY"),
            "fail_mode": read("FAIL_MODE"),
            "check_budget": _number(read("CHECK_BUDGET"), float, "CHECK_BUDGET"),
            "attempts": _number(read("ATTEMPTS"), int, "ATTEMPTS"),
            "attempt_window": _number(read("ATTEMPT_WINDOW"), float, "ATTEMPT_WINDOW"),
            "monitor": flag(read("MONITOR"), "MONITOR"),
            "monitor_interval": _number(read("MONITOR_INTERVAL"), float, "MONITOR_INTERVAL"),
        }
        ca_file = read("CA_FILE")
        if ca_file is not None:
            values["http"] = {"ca_file": ca_file}
        if "seal_key" not in overrides:
            values["seal_key"] = _seal_key(read("SEAL_KEY"), secret_key)
        values.update(overrides)
        if values["application_id"] is None or values["application_secret"] is None:
            raise InvalidArgumentError("DEVICEAUTH_APPLICATION_ID and DEVICEAUTH_APPLICATION_SECRET are required")
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise InvalidArgumentError(f"unknown deviceauth settings: {sorted(unknown)}")
        return cls(**{k: v for k, v in values.items() if v is not None})

    def __repr__(self) -> str:
        return (
            f"Settings(application_id={self.application_id!r}, base_url={self.base_url!r}, "
            f"store={_store_shown(self.store)!r}, walkaway={self.walkaway!r}, fail_mode={self.fail_mode!r}, "
            f"check_budget={self.check_budget!r}, attempts={self.attempts!r}, attempt_window={self.attempt_window!r})"
        )


def _number(value: Any, kind: Callable[[Any], Any], name: str) -> Any:
    if value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InvalidArgumentError(f"DEVICEAUTH_{name} must be a number, not {value!r}") from None


def _store(value: Any, default_store: Optional[str]) -> Optional[str]:
    """The store URL: the setting, ``None`` for ``none``, else the adapter's default."""
    if value is False or (isinstance(value, str) and value.strip().lower() == "none"):
        return None
    return value if value is not None else default_store


def flag(value: Any, name: str) -> Optional[bool]:
    """``value`` as a bool (``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``; ``None`` stays);
    anything else raises :class:`InvalidArgumentError` naming ``DEVICEAUTH_`` + ``name``."""
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InvalidArgumentError(f"DEVICEAUTH_{name} must be true or false, not {value!r}")


def _seal_key(value: Any, secret_key: Union[str, bytes, None]) -> bytes:
    if isinstance(value, bytes):
        return value
    if value is not None:
        try:
            return bytes.fromhex(str(value).strip())
        except ValueError:
            raise InvalidArgumentError("DEVICEAUTH_SEAL_KEY must be 64 hex digits") from None
    if secret_key is None:
        raise InvalidArgumentError("set DEVICEAUTH_SEAL_KEY (64 hex digits) or the framework's secret key")
    return derive_seal_key(secret_key)


def _store_shown(url: Optional[str]) -> Optional[str]:
    """The store URL without its password."""
    if url is None or "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://[redacted]@{rest.rpartition('@')[2]}"
