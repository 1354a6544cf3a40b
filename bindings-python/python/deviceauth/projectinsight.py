"""Project Insight device activation: a per-user API token without seeing a password.

1. :meth:`Client.create_device_activation` returns a :class:`PendingActivation` with a URL.
2. The user opens the URL (where they are signed in) and reads an activation code.
3. :meth:`Client.complete_device_activation` trades the code for a
   :class:`DeviceActivation` holding the API token.
4. :meth:`Client.with_api_token` gives an :class:`ApiClient` that sends it as ``api-token``.

:class:`AsyncClient` (and its :class:`AsyncApiClient`) are the asyncio forms.
"""

from ._errors import (
    AbortedError,
    DeviceAuthError,
    HttpError,
    InvalidArgumentError,
    NotFoundError,
    ProtocolError,
    TimeoutError,
    TransportError,
    UnauthorizedError,
)
from ._native import (
    ApiClient,
    AsyncApiClient,
    DeviceActivation,
    PendingActivation,
    ProjectInsightAsyncClient as AsyncClient,
    ProjectInsightClient as Client,
    RetryPolicy,
)

__all__ = [
    "Client",
    "AsyncClient",
    "ApiClient",
    "AsyncApiClient",
    "PendingActivation",
    "DeviceActivation",
    "RetryPolicy",
    "DeviceAuthError",
    "InvalidArgumentError",
    "NotFoundError",
    "UnauthorizedError",
    "HttpError",
    "ProtocolError",
    "TimeoutError",
    "AbortedError",
    "TransportError",
]
