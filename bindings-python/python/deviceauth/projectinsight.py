"""Project Insight device activation: a per-user API token without seeing a password.

1. :meth:`Client.create_device_activation` returns a :class:`PendingActivation` with a URL.
2. The user opens the URL (where they are signed in) and reads an activation code.
3. :meth:`Client.complete_device_activation` trades the code for a
   :class:`DeviceActivation` holding the API token.
4. :meth:`Client.with_api_token` gives an :class:`ApiClient` that sends it as ``api-token``.

The token's lifecycle: a :class:`TokenStore` keeps it between runs (the OS keyring when the
package was built with one, else a private file); :meth:`Client.complete_and_store` saves it,
:meth:`Client.stored_api_client` gives a client that raises :class:`ExpiredError` before
sending once it expired, :meth:`Client.reactivate` starts a new activation whose token
replaces it, :meth:`TokenStore.delete` forgets it.

:class:`AsyncClient` (and its :class:`AsyncApiClient`) are the asyncio forms. Every class
here is a thin face over one native class of ``deviceauth._native``.
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
from typing import TYPE_CHECKING, Any, Awaitable, Optional, Union

from . import _native
from ._errors import *  # noqa: F403 (every exception class, re-exported)
from ._native import RetryPolicy
from ._types import DeviceActivation, HttpOptions, PendingActivation, StoredToken, _then, _to_json

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "Client", "AsyncClient", "ApiClient", "AsyncApiClient", "PendingActivation", "DeviceActivation",
    "TokenStore", "StoredToken", "DEFAULT_ACCOUNT", "HttpOptions", "RetryPolicy"
]  # fmt: skip
__all__ += ["DeviceAuthError", "InvalidArgumentError", "NotFoundError", "UnauthorizedError", "NotStartedError",
            "RefusedError", "HttpError", "ProtocolError", "TimeoutError", "AbortedError", "TransportError",
            "InternalError", "RateLimitedError", "ExpiredError", "StoreError"]  # fmt: skip


#: The account a token is stored under when none is named.
DEFAULT_ACCOUNT = "default"


class TokenStore:
    """Where API tokens are kept between runs, each under an API base URL and an account
    (your name for whose token it is). ``TokenStore()`` is the OS keyring when this build
    has one and it answers, else the file :meth:`default_path`; ``TokenStore(path)`` is the
    file at ``path``. The file has mode 0600; one with a wider mode, another owner, or that
    is a symbolic link raises :class:`StoreError` (``reason`` ``INSECURE``) and is not read.
    Two processes saving at once both land. Calls block briefly (file or keyring)."""

    __slots__ = ("_native",)

    def __init__(self, path: Union[str, "os.PathLike[str]", None] = None) -> None:
        self._native = _native.TokenStore(path)

    @staticmethod
    def default_path() -> pathlib.Path:
        """``$XDG_CONFIG_HOME/deviceauth/projectinsight-tokens.json`` (or under ``~/.config``)."""
        return _native.TokenStore.default_path()

    @property
    def location(self) -> str:
        """The file's path, or ``OS keyring``."""
        return self._native.location

    def load(self, base_url: str, account: str = DEFAULT_ACCOUNT) -> Optional[StoredToken]:
        """The token stored under ``base_url`` and ``account``, expired or not; ``None`` if none."""
        return self._native.load(base_url, account)

    def save(self, token: StoredToken) -> None:
        """Saves ``token``, replacing the one under the same base URL and account."""
        self._native.save(*token)

    def delete(self, base_url: str, account: str = DEFAULT_ACCOUNT) -> bool:
        """Deletes the token under ``base_url`` and ``account``; whether there was one."""
        return self._native.delete(base_url, account)

    def __repr__(self) -> str:
        return f"TokenStore(location={self.location!r})"


class _Client:
    """What :class:`Client` and :class:`AsyncClient` share."""

    __slots__ = ("_native",)

    def __init__(self, base_url: str, **options: Unpack[HttpOptions]) -> None:
        self._native = _native.ProjectInsightClient(base_url, **options)

    @property
    def base_url(self) -> str:
        """The API base URL (always ending in ``/``)."""
        return self._native.base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    def _stored_api_client(self, store: TokenStore, account: str) -> _native.ApiClient:
        return self._native.stored_api_client(store._native, account)


class Client(_Client):
    """A client for one Project Insight workspace API, e.g.
    ``https://acme.projectinsight.net/api``: get a per-user API token through device
    activation, without seeing a password.

    Every call blocks with the GIL released; :class:`AsyncClient` has the same methods for
    asyncio. The keyword options are :class:`HttpOptions`. Thread-safe and safe to use after
    ``os.fork()``.
    """

    __slots__ = ()

    def create_device_activation(
        self, client_agent: str, platform: Optional[str] = None, device: Optional[str] = None,
        ip_address: Optional[str] = None, host_name: Optional[str] = None,
    ) -> PendingActivation:
        """Creates an activation request for the program ``client_agent`` (e.g.
        ``my-cli/1.0``). Never retried once the request may have been sent."""
        return self._native.create_device_activation(client_agent, platform, device, ip_address, host_name).wait()

    def complete_device_activation(
        self, activation_id: str, code: str, client_agent: str, timeout_minutes: Optional[int] = None
    ) -> DeviceActivation:
        """Trades the code the user read for an API token. ``client_agent`` must be the one
        the request was created with; ``timeout_minutes`` is the token's lifetime (default
        one year). A refusal raises :class:`NotFoundError` or :class:`UnauthorizedError`
        whose ``.reason`` is ``UNKNOWN_REQUEST``, ``EXPIRED``, ``WRONG_CODE``,
        ``CODE_ALREADY_USED`` or ``CLIENT_AGENT_MISMATCH``."""
        return self._native.complete_device_activation(activation_id, code, client_agent, timeout_minutes).wait()

    def with_api_token(self, api_token: str, expires_at: Optional[datetime.datetime] = None) -> ApiClient:
        """A client that sends ``api_token`` (e.g. ``DeviceActivation.api_token``) with every
        call. Given ``expires_at``, every call from 30 s before then raises
        :class:`ExpiredError` without sending."""
        return ApiClient(self._native.with_api_token(api_token, expires_at), self.base_url)

    def complete_and_store(
        self, store: TokenStore, activation_id: str, code: str, client_agent: str,
        account: str = DEFAULT_ACCOUNT, timeout_minutes: Optional[int] = None,
    ) -> StoredToken:
        """:meth:`complete_device_activation`, then saves the token in ``store`` under this
        base URL and ``account``, replacing the one there. The store is checked first."""
        pending = self._native.complete_and_store(store._native, account, activation_id, code, client_agent, timeout_minutes)
        return pending.wait()

    def stored_api_client(self, store: TokenStore, account: str = DEFAULT_ACCOUNT) -> ApiClient:
        """An :class:`ApiClient` with the stored token, knowing its expiry. Raises
        :class:`ExpiredError` if it expired (or expires within 30 s) and :class:`StoreError`
        (``reason`` ``NOT_STORED``) if none is stored. Sends nothing."""
        return ApiClient(self._stored_api_client(store, account), self.base_url)

    def reactivate(self, store: TokenStore, account: str = DEFAULT_ACCOUNT) -> PendingActivation:
        """Starts a new activation with the client agent of the stored token; complete it
        with :meth:`complete_and_store` to replace the token."""
        return self._native.reactivate(store._native, account).wait()


class AsyncClient(_Client):
    """The asyncio form of :class:`Client`: the same methods, each returning an awaitable."""

    __slots__ = ()

    def create_device_activation(
        self, client_agent: str, platform: Optional[str] = None, device: Optional[str] = None,
        ip_address: Optional[str] = None, host_name: Optional[str] = None,
    ) -> Awaitable[PendingActivation]:
        """See :meth:`Client.create_device_activation`."""
        return self._native.create_device_activation(client_agent, platform, device, ip_address, host_name)

    def complete_device_activation(
        self, activation_id: str, code: str, client_agent: str, timeout_minutes: Optional[int] = None
    ) -> Awaitable[DeviceActivation]:
        """See :meth:`Client.complete_device_activation`."""
        return self._native.complete_device_activation(activation_id, code, client_agent, timeout_minutes)

    def with_api_token(self, api_token: str, expires_at: Optional[datetime.datetime] = None) -> AsyncApiClient:
        """An :class:`AsyncApiClient` that sends ``api_token`` with every call (see
        :meth:`Client.with_api_token`)."""
        return AsyncApiClient(self._native.with_api_token(api_token, expires_at), self.base_url)

    def complete_and_store(
        self, store: TokenStore, activation_id: str, code: str, client_agent: str,
        account: str = DEFAULT_ACCOUNT, timeout_minutes: Optional[int] = None,
    ) -> Awaitable[StoredToken]:
        """See :meth:`Client.complete_and_store`."""
        return self._native.complete_and_store(store._native, account, activation_id, code, client_agent, timeout_minutes)

    def stored_api_client(self, store: TokenStore, account: str = DEFAULT_ACCOUNT) -> AsyncApiClient:
        """See :meth:`Client.stored_api_client` (not awaitable: it sends nothing)."""
        return AsyncApiClient(self._stored_api_client(store, account), self.base_url)

    def reactivate(self, store: TokenStore, account: str = DEFAULT_ACCOUNT) -> Awaitable[PendingActivation]:
        """See :meth:`Client.reactivate`."""
        return self._native.reactivate(store._native, account)


class _ApiClient:
    """What :class:`ApiClient` and :class:`AsyncApiClient` share. ``repr()`` never shows the token."""

    __slots__ = ("_native", "_base_url")

    def __init__(self, native: _native.ApiClient, base_url: str) -> None:
        self._native = native
        self._base_url = base_url

    @property
    def expires_at(self) -> Optional[datetime.datetime]:
        """When the token expires, if the client knows (timezone-aware, UTC)."""
        return self._native.expires_at

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r}, api_token=[redacted])"


class ApiClient(_ApiClient):
    """A Project Insight client that authenticates with an API token (made by
    :meth:`Client.with_api_token`)."""

    __slots__ = ()

    def get(self, path: str) -> Any:
        """``GET {base_url}/{path}`` and the parsed JSON answer (``None`` for an empty body).
        Retried like every idempotent call."""
        return json.loads(self._native.get(path).wait())

    def post(self, path: str, body: Any) -> Any:
        """``POST {base_url}/{path}`` with ``body`` as JSON, and the parsed JSON answer. Not
        retried once the request may have been sent."""
        return json.loads(self._native.post(path, _to_json(body)).wait())


class AsyncApiClient(_ApiClient):
    """The asyncio form of :class:`ApiClient` (made by :meth:`AsyncClient.with_api_token`)."""

    __slots__ = ()

    def get(self, path: str) -> Awaitable[Any]:
        """See :meth:`ApiClient.get`."""
        return _then(self._native.get(path), json.loads)

    def post(self, path: str, body: Any) -> Awaitable[Any]:
        """See :meth:`ApiClient.post`."""
        return _then(self._native.post(path, _to_json(body)), json.loads)
