"""The ``deviceauth-emulator`` command, shipped inside the package.

A local stand-in for both services deviceauth talks to (Activeconnect push sign-in and
Project Insight device activation), for tests, demos and development without an account.
It is the same program as the Rust binary ``deviceauth-emulator``, compiled into the
package's native module, so it needs no Rust toolchain::

    deviceauth-emulator --help
    deviceauth-emulator --listen 127.0.0.1:8790 --app demo-app:demo-secret
    python -m deviceauth.emulator --listen 127.0.0.1:0 --approve-after 500

It prints the URL it listens on, one ``application_id=ID application_secret=SECRET`` line
per application and the Project Insight base URL, then serves until Ctrl-C or SIGTERM.
Tests usually start it through :class:`deviceauth.testing.Emulator` (or the pytest
fixture ``deviceauth_emulator``) instead of by hand.
"""

from __future__ import annotations

import sys
from typing import Optional, Sequence

__all__ = ["main", "PROGRAM"]

#: The program name the emulator's own messages (``--help``, errors) use.
PROGRAM = "deviceauth-emulator"


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the emulator with ``argv`` (default: ``sys.argv[1:]``) until Ctrl-C or SIGTERM.

    Returns the exit code: 0 after a signal or ``--help``/``--version``, 2 for bad flags,
    1 when it cannot start (e.g. the address is in use).
    """
    from deviceauth import _native

    args = [PROGRAM, *(sys.argv[1:] if argv is None else argv)]
    try:
        # Blocking: the native call serves until SIGINT/SIGTERM (the GIL is released).
        code = _native.run_emulator(args)
    except KeyboardInterrupt:
        # Ctrl-C reached the emulator (it stopped cleanly) and Python's own handler too.
        return 0
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
