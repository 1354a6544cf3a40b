"""Test your own app against the emulator that ships inside this package.

:class:`Emulator` starts ``deviceauth-emulator`` (the same program as the Rust binary,
compiled into this package) as a child process on a free loopback port, with one
application, and plays the user's side: the phone that registers and answers sign-in
requests, and the person who signs in on a device activation page::

    from deviceauth import activeconnect
    from deviceauth.testing import Emulator

    with Emulator() as emu:
        client = activeconnect.Client(emu.application_id, emu.application_secret,
                                      base_url=emu.base_url)
        client.add_users(["u1"])
        emu.register_device("u1")                       # as if the phone registered
        session = client.authenticate_user("u1")
        emu.set_status(session.session_token, "active")  # the phone approves
        assert session.wait(timeout=10).is_authenticated

A test of a real app does not know the ids the app made up, so the emulator can also act
from what the app shows a person: :meth:`Emulator.open_registration_link` registers the
phone from the registration link the app displayed, and :meth:`Emulator.pending_sign_ins`
lists the sign-in requests waiting on a phone, **newest first** (the order the phone page
shows them), so ``emu.pending_sign_ins()[0]`` is the request the app just made.

With pytest, the plugin this package registers gives the fixture ``deviceauth_emulator``
(see :mod:`deviceauth.testing.pytest_plugin`).

Only the standard library is used here (``subprocess`` and ``urllib`` against the
emulator's JSON control API under ``/_emulator/``); nothing is sent anywhere but the
emulator's loopback address.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shlex
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import weakref
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Deque, Dict, List, Mapping, Optional, Sequence, Tuple

__all__ = ["Emulator", "EmulatorError", "SignIn"]

#: Environment variable naming another emulator command to run instead of the packaged
#: one (for example a ``deviceauth-emulator`` binary built with cargo). Split like a shell
#: command line.
COMMAND_ENV = "DEVICEAUTH_EMULATOR"


class EmulatorError(RuntimeError):
    """The emulator did not start, stopped, or refused a control call."""

    def __init__(self, message: str, status: Optional[int] = None) -> None:
        super().__init__(message)
        #: HTTP status of a refused control call (404 unknown id, 409 not allowed now, ...).
        self.status = status


@dataclass(frozen=True)
class SignIn:
    """A sign-in request as the user's phone sees it."""

    session_token: str = field(repr=False)
    user: str
    #: ``"pending"`` or ``"identifying"`` while it waits on the phone; later ``"active"``,
    #: ``"failed"``, ``"cancelled"``, ``"timeout"``, ``"walkaway"``, ``"closed"``.
    status: str
    #: When the app asked for it (UTC, the emulator's clock).
    created_at: Optional[datetime]


def _parse_time(text: Any) -> Optional[datetime]:
    if not isinstance(text, str):
        return None
    try:
        # Python 3.9/3.10's fromisoformat does not take the "Z" suffix
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _stop(process: "subprocess.Popen[bytes]") -> None:
    """SIGTERM (the emulator stops cleanly), then SIGKILL after 10 s."""
    if process.poll() is not None:
        return
    try:
        if os.name == "posix":
            process.send_signal(signal.SIGTERM)
        else:
            process.terminate()
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
    except OSError:
        pass


class Emulator:
    """The packaged ``deviceauth-emulator`` in a child process, and its user's side.

    Use it as a context manager (``with Emulator() as emu:``), or call :meth:`start` and
    :meth:`close`. Arguments:

    - ``approve_after_ms``: the phone approves every sign-in request after this many
      milliseconds by itself (``--approve-after``); by default nothing happens until the
      test acts (``set_status``), as with a real person.
    - ``application``: ``(id, secret)`` of the application to serve; by default a random one.
    - ``tls``: serve HTTPS with a CA generated at start; :attr:`ca_file` is its PEM, to
      pass to the client (``ca_file=emu.ca_file``).
    - ``args``: more command-line flags (see ``deviceauth-emulator --help``).
    - ``command``: the program to run (default: this package's, ``python -m
      deviceauth.emulator``; the environment variable ``DEVICEAUTH_EMULATOR`` can name
      another).
    - ``start_timeout``: seconds to wait for the emulator's start lines.
    """

    def __init__(
        self,
        *,
        approve_after_ms: Optional[int] = None,
        application: Optional[Tuple[str, str]] = None,
        tls: bool = False,
        args: Sequence[str] = (),
        command: Optional[Sequence[str]] = None,
        start_timeout: float = 30.0,
        env: Optional[Mapping[str, str]] = None,
    ) -> None:
        self._approve_after_ms = approve_after_ms
        self._application = application
        self._tls = tls
        self._args = list(args)
        self._command = list(command) if command is not None else None
        self._start_timeout = start_timeout
        self._env = dict(env) if env is not None else None
        self._process: Optional["subprocess.Popen[bytes]"] = None
        self._finalizer: Optional[weakref.finalize] = None
        self._tmpdir: Optional[tempfile.TemporaryDirectory[str]] = None
        self._log: Optional[IO[bytes]] = None
        self._lines: Deque[str] = collections.deque(maxlen=200)
        self._base_url = ""
        self._apps: List[Tuple[str, str]] = []
        self._ca_file: Optional[str] = None
        self._ssl: Optional[ssl.SSLContext] = None
        # No proxy: the control API is on loopback, whatever http_proxy says.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- life cycle ---------------------------------------------------------------------

    def start(self) -> "Emulator":
        """Starts the emulator and waits for its start lines; returns ``self``."""
        if self._process is not None:
            raise EmulatorError("this Emulator was already started")
        self._tmpdir = tempfile.TemporaryDirectory(prefix="deviceauth-emulator-")
        argv = self._argv()
        self._log = open(os.path.join(self._tmpdir.name, "requests.log"), "w+b")
        try:
            self._process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env=self._child_env(),
            )
        except OSError as e:
            self._cleanup_files()
            raise EmulatorError(f"cannot run {shlex.join(argv)}: {e}") from e
        self._finalizer = weakref.finalize(self, _stop, self._process)
        try:
            self._read_start_lines()
        except BaseException:
            self.close()
            raise
        if self._tls:
            assert self._ca_file is not None
            self._ssl = ssl.create_default_context(cafile=self._ca_file)
        return self

    def close(self) -> None:
        """Stops the emulator (SIGTERM, then SIGKILL after 10 s). Safe to call twice."""
        if self._finalizer is not None:
            self._finalizer()
        self._cleanup_files()

    def __enter__(self) -> "Emulator":
        if self._process is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Emulator {self._base_url or '(not started)'} application_id={self.application_id!r} {state}>"

    @property
    def running(self) -> bool:
        """Whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    # -- what the app under test needs ----------------------------------------------------

    @property
    def base_url(self) -> str:
        """Activeconnect base URL, e.g. ``http://127.0.0.1:41234`` (``base_url=`` of the client)."""
        self._require_started()
        return self._base_url

    @property
    def project_insight_url(self) -> str:
        """Project Insight base URL: :attr:`base_url` + ``/api``."""
        return self.base_url + "/api"

    @property
    def application_id(self) -> str:
        """The id of the application the emulator serves."""
        return self._apps[0][0] if self._apps else ""

    @property
    def application_secret(self) -> str:
        """The secret of that application (never shown by ``repr``)."""
        self._require_started()
        return self._apps[0][1]

    @property
    def ca_file(self) -> Optional[str]:
        """With ``tls=True``: the path of the CA certificate (PEM) to trust; else ``None``."""
        return self._ca_file

    @property
    def output(self) -> List[str]:
        """The emulator's stdout lines so far (its request log is in :attr:`log_path`)."""
        return list(self._lines)

    @property
    def log_path(self) -> Optional[str]:
        """The file receiving the emulator's stderr: one line per request, and errors."""
        return self._log.name if self._log is not None else None

    # -- the user's side ------------------------------------------------------------------

    def register_device(self, user_id: str) -> None:
        """Registers ``user_id``'s phone, as if the user opened their registration link and
        pressed Register. The app must have added the user (``add_users``) first."""
        app = urllib.parse.quote(self.application_id, safe="")
        user = urllib.parse.quote(user_id, safe="")
        self._call("POST", f"/_emulator/apps/{app}/users/{user}/device")

    def open_registration_link(self, url: str) -> str:
        """Opens the registration link the app displayed and presses Register, as the user
        would on their phone; returns the user id the link belongs to."""
        query = urllib.parse.urlencode({"link": url})
        answer = self._call("POST", f"/_emulator/register?{query}")
        return str(answer.get("user", "")) if isinstance(answer, dict) else ""

    def pending_sign_ins(self, user_id: Optional[str] = None) -> List[SignIn]:
        """The sign-in requests waiting on a phone (``pending`` or ``identifying``),
        **newest first**, as the phone page lists them; only ``user_id``'s if given."""
        return self.sign_ins(user_id, pending=True)

    def sign_ins(self, user_id: Optional[str] = None, *, pending: bool = False) -> List[SignIn]:
        """All sign-in requests of the application in any status, newest first."""
        params = {"pending": "true" if pending else "false"}
        if user_id is not None:
            params["user"] = user_id
        app = urllib.parse.quote(self.application_id, safe="")
        rows = self._call("GET", f"/_emulator/apps/{app}/sign-ins?{urllib.parse.urlencode(params)}")
        return [
            SignIn(
                session_token=str(row.get("session_token", "")),
                user=str(row.get("user", "")),
                status=str(row.get("status", "")),
                created_at=_parse_time(row.get("created_at")),
            )
            for row in (rows or [])
        ]

    def wait_for_sign_in(self, user_id: Optional[str] = None, timeout: float = 10.0) -> SignIn:
        """The newest sign-in request waiting on a phone (``user_id``'s if given), waiting
        up to ``timeout`` seconds for one to appear (for apps that start it in the background)."""
        deadline = time.monotonic() + timeout
        while True:
            pending = self.pending_sign_ins(user_id)
            if pending:
                return pending[0]
            if time.monotonic() >= deadline:
                who = f" for {user_id!r}" if user_id is not None else ""
                raise EmulatorError(f"no sign-in request{who} waited on a phone within {timeout:g} s")
            time.sleep(0.05)

    def set_status(self, session_token: str, status: str) -> str:
        """Moves a sign-in session to ``status`` the way the phone would: ``"active"``
        (approve; or come back after a walk-away), ``"walkaway"``, ``"closed"`` (log out
        remotely), ``"failed"`` (deny), ``"cancelled"``, ``"timeout"``; action names
        (``"approve"``, ``"deny"``, ``"cancel"``, ``"remote-logout"``, ...) work too.
        Returns the new status. Raises :class:`EmulatorError` (``status`` 409) when the
        phone cannot get there from the current status, 404 for an unknown token."""
        token = urllib.parse.quote(session_token, safe="")
        answer = self._call("POST", f"/_emulator/sessions/{token}/status", {"status": status})
        return str(answer.get("status", "")) if isinstance(answer, dict) else ""

    def activation_code(self, activation: str) -> str:
        """The code a person reads after signing in on a Project Insight device activation
        page; ``activation`` is the activation id or its URL (``pending.url``)."""
        if "/" in activation:
            activation = urllib.parse.urlsplit(activation).path.rstrip("/").rsplit("/", 1)[-1]
        answer = self._call("GET", f"/_emulator/activations/{urllib.parse.quote(activation, safe='')}")
        return str(answer["code"])

    def request(self, method: str, path: str, body: Any = None) -> Any:
        """Any other control call (``/_emulator/...``, see the emulator's README), parsed JSON."""
        if not path.startswith("/"):
            raise ValueError("path must start with /")
        return self._call(method, path, body)

    # -- internals ------------------------------------------------------------------------

    def _require_started(self) -> None:
        if not self._base_url:
            raise EmulatorError("the emulator is not started: use `with Emulator() as emu:` or .start()")

    def _argv(self) -> List[str]:
        if self._command is not None:
            argv = list(self._command)
        elif os.environ.get(COMMAND_ENV):
            argv = shlex.split(os.environ[COMMAND_ENV])
        else:
            argv = [sys.executable, "-m", "deviceauth.emulator"]
        argv += ["--listen", "127.0.0.1:0"]
        if self._application is not None:
            app_id, secret = self._application
            argv += ["--app", f"{app_id}:{secret}"]
        if self._approve_after_ms is not None:
            argv += ["--approve-after", str(int(self._approve_after_ms))]
        if self._tls:
            assert self._tmpdir is not None
            self._ca_file = os.path.join(self._tmpdir.name, "ca.pem")
            argv += ["--tls", "--ca-file", self._ca_file]
        return argv + self._args

    def _child_env(self) -> Dict[str, str]:
        env = dict(os.environ)
        if self._env:
            env.update(self._env)
        return env

    def _read_start_lines(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        stdout = self._process.stdout
        started = threading.Event()
        failure: List[str] = []

        def pump() -> None:
            # Reads every stdout line for the whole life of the process, so the pipe never
            # fills up; parses the start lines.
            for raw in iter(stdout.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                self._lines.append(line)
                if started.is_set():
                    continue
                if line.startswith("deviceauth-emulator listening on "):
                    self._base_url = line.split(" on ", 1)[1].strip().rstrip("/")
                elif line.startswith("application_id="):
                    fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
                    self._apps.append((fields.get("application_id", ""), fields.get("application_secret", "")))
                elif line.startswith("project insight base url:"):
                    started.set()
            if not started.is_set():
                failure.append("exited")
                started.set()

        threading.Thread(target=pump, name="deviceauth-emulator-stdout", daemon=True).start()
        if not started.wait(self._start_timeout):
            raise EmulatorError(
                f"the emulator printed no start lines within {self._start_timeout:g} s{self._stderr_tail()}"
            )
        if failure or not self._base_url or not self._apps:
            code = self._process.wait(timeout=5) if failure else None
            raise EmulatorError(f"the emulator did not start (exit code {code}){self._stderr_tail()}")

    def _stderr_tail(self) -> str:
        if self._log is None:
            return ""
        try:
            self._log.flush()
            with open(self._log.name, "rb") as f:
                text = f.read()[-2000:].decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return f":\n{text}" if text else ""

    def _cleanup_files(self) -> None:
        if self._log is not None:
            self._log.close()
        if self._tmpdir is not None and not self.running:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        self._require_started()
        # for messages: no query string, no session token
        what = f"{method} {re.sub(r'/sessions/[^/]+', '/sessions/[token]', path.split('?')[0])}"
        if not self.running:
            raise EmulatorError(f"the emulator has stopped{self._stderr_tail()}")
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self._base_url + path, data=data, method=method)
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        opener = self._opener
        if self._ssl is not None:
            opener = urllib.request.build_opener(
                urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=self._ssl)
            )
        try:
            with opener.open(request, timeout=30) as response:
                text = response.read().decode("utf-8")
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            try:
                detail = str(json.loads(detail).get("error", detail))
            except (ValueError, AttributeError):
                pass
            raise EmulatorError(f"{what}: HTTP {e.code}: {detail}", status=e.code) from None
        except urllib.error.URLError as e:
            raise EmulatorError(f"{what}: {e.reason}") from None
        return json.loads(text) if text.strip() else None

