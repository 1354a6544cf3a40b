"""Project Insight device activation: a per-user API token without seeing a password.

1. :meth:`Client.create_device_activation` returns a :class:`PendingActivation` with a URL.
2. The user opens the URL (where they are signed in) and reads an activation code.
3. :meth:`Client.complete_device_activation` trades the code for a
   :class:`DeviceActivation` holding the API token.
4. :meth:`Client.with_api_token` gives an :class:`ApiClient` that sends it as ``api-token``.

:class:`AsyncClient` (and its :class:`AsyncApiClient`) are the asyncio forms. Every class
here is a thin face over one native class of ``deviceauth._native``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Awaitable, Optional

from . import _native
from ._errors import *  # noqa: F403 (every exception class, re-exported)
from ._native import RetryPolicy
from ._types import DeviceActivation, HttpOptions, PendingActivation, _then, _to_json

if TYPE_CHECKING:
    from typing_extensions import Unpack

__all__ = [
    "Client", "AsyncClient", "ApiClient", "AsyncApiClient", "PendingActivation", "DeviceActivation",
    "HttpOptions", "RetryPolicy"
]  # fmt: skip
__all__ += ["DeviceAuthError", "InvalidArgumentError", "NotFoundError", "UnauthorizedError", "NotStartedError",
            "RefusedError", "HttpError", "ProtocolError", "TimeoutError", "AbortedError", "TransportError",
            "InternalError", "RateLimitedError", "ExpiredError", "StoreError"]  # fmt: skip


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

    def with_api_token(self, api_token: str) -> ApiClient:
        """A client that sends ``api_token`` (e.g. ``DeviceActivation.api_token``) with every call."""
        return ApiClient(self._native.with_api_token(api_token), self.base_url)


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

    def with_api_token(self, api_token: str) -> AsyncApiClient:
        """An :class:`AsyncApiClient` that sends ``api_token`` with every call."""
        return AsyncApiClient(self._native.with_api_token(api_token), self.base_url)


class _ApiClient:
    """What :class:`ApiClient` and :class:`AsyncApiClient` share. ``repr()`` never shows the token."""

    __slots__ = ("_native", "_base_url")

    def __init__(self, native: _native.ApiClient, base_url: str) -> None:
        self._native = native
        self._base_url = base_url

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
