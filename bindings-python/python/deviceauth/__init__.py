"""deviceauth: sign users in through their phone or another device, with no password.

- :mod:`deviceauth.activeconnect`: Activeconnect (IAMPASS) passwordless push sign-in.
- :mod:`deviceauth.projectinsight`: Project Insight device activation (API tokens).
- :mod:`deviceauth.qr`: QR codes for registration links and activation URLs.
- :mod:`deviceauth.telemetry`: metrics, and spans for OpenTelemetry.

Every failure raises a :class:`DeviceAuthError` subclass chosen by its stable ``code``.
The core's log records go to the ``deviceauth`` logger of :mod:`logging`.
"""

import atexit as _atexit
import logging as _logging
import os as _os

from . import _native
from ._errors import *  # noqa: F403 (every exception class, re-exported)
from ._native import RetryPolicy
from ._types import HttpOptions
from . import activeconnect, projectinsight, qr, telemetry

__version__: str = _native.__version__

# A library logs to its logger and leaves the handlers to the application.
_logging.getLogger("deviceauth").addHandler(_logging.NullHandler())

# From interpreter exit on, the library's threads never enter Python again, and a thread
# coming back from a blocking call parks instead of touching a finalizing interpreter.
_atexit.register(_native._at_exit)

# The one reaction to fork(): the child starts its own runtime (the core rebuilds each
# client's connection pool by itself).
if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_native._after_fork_in_child)

__all__ = [
    "activeconnect", "projectinsight", "qr", "telemetry", "RetryPolicy", "HttpOptions", "__version__"
]  # fmt: skip
__all__ += ["DeviceAuthError", "InvalidArgumentError", "NotFoundError", "UnauthorizedError", "NotStartedError",
            "RefusedError", "HttpError", "ProtocolError", "TimeoutError", "AbortedError", "TransportError",
            "InternalError", "RateLimitedError", "ExpiredError", "StoreError"]  # fmt: skip
