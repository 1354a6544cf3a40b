"""deviceauth: sign users in through their phone or another device, with no password.

- :mod:`deviceauth.activeconnect`: Activeconnect (IAMPASS) passwordless push sign-in.
- :mod:`deviceauth.projectinsight`: Project Insight device activation (API tokens).
- :mod:`deviceauth.qr`: QR codes for registration links and activation URLs.

Every failure raises a :class:`DeviceAuthError` subclass chosen by its stable ``code``.
The core's log records go to the ``deviceauth`` logger of :mod:`logging`.
"""

import atexit as _atexit
import logging as _logging

from . import _native
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
from ._native import RetryPolicy
from . import activeconnect, projectinsight, qr

__version__: str = _native.__version__

# A library logs to its logger and leaves the handlers to the application.
_logging.getLogger("deviceauth").addHandler(_logging.NullHandler())

# Runtime threads must not wait for the GIL of an interpreter that is shutting down.
_atexit.register(_native._stop_logging)

__all__ = [
    "activeconnect",
    "projectinsight",
    "qr",
    "RetryPolicy",
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
    "__version__",
]
