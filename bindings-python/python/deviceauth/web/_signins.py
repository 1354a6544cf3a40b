"""The sign-in flow of a web app, over the client and the store-backed Monitor:
:class:`SignIns` for threads (Flask, Django), :class:`AsyncSignIns` for asyncio (FastAPI).
Both decide with the pure functions of ``_outcomes``; only the waiting differs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import time
from typing import Any, AsyncIterator, Coroutine, Dict, Generic, Iterator, Optional, Set, TypeVar

from .._errors import DeviceAuthError, InvalidArgumentError
from .._types import Status, StoredStatus
from ..activeconnect import AsyncClient, AsyncMonitor, AsyncSession, Client, Monitor, Session
from ._outcomes import Check, Progress, check_of, failed_check, progress_of, sse, unavailable
from ._settings import Settings

log = logging.getLogger("deviceauth.web")

#: How often the SSE stream checks the status, in seconds.
STREAM_INTERVAL = 1.0
#: How long one SSE stream lasts before the browser falls back to the JSON endpoint, in seconds.
STREAM_LIMIT = 180.0
#: How often the SSE stream sends a keep-alive comment, in seconds.
KEEP_ALIVE = 15.0
# Failures that leave the sign-in waiting (the service may answer on the next check).
_PASSING = ("TRANSPORT", "TIMEOUT", "HTTP", "STORE", "RATE_LIMITED")
# Failures of a check that sign the user out whatever the fail mode: not about reachability.
_NEVER_OPEN = ("UNAUTHORIZED", "PROTOCOL")
# Verdicts after which the service session is logged out too (else it has already ended).
_LOGGED_OUT = ("walkaway", "unavailable")
_REMOVAL_SLOW = "the store did not remove a signed-out session within the check budget; it goes on"
_STORE_SLOW = "the store did not answer within the check budget"

_C = TypeVar("_C", Client, AsyncClient)
_workers_of: Dict[int, concurrent.futures.ThreadPoolExecutor] = {}
_workers_lock = threading.Lock()


def _workers() -> concurrent.futures.ThreadPoolExecutor:
    """This process's threads for what a page must not wait on: the store reads of the sync
    checks (waited for at most the check budget), removals and logouts (not waited for).
    Made again after a fork; joined at exit, so a logout under way finishes."""
    with _workers_lock:
        pid = os.getpid()
        if pid not in _workers_of:
            _workers_of.clear()
            _workers_of[pid] = concurrent.futures.ThreadPoolExecutor(8, thread_name_prefix="deviceauth")
        return _workers_of[pid]

_M = TypeVar("_M", Monitor, AsyncMonitor)


class _Flow(Generic[_C, _M]):
    """What both flows share: the settings, the client, and the per-process parts."""

    def __init__(self, settings: Settings, client: Optional[_C] = None) -> None:
        if not isinstance(settings, Settings):
            raise TypeError("settings must be a deviceauth.web.Settings")
        self.settings = settings
        self._client: _C = client if client is not None else self._new_client(settings)
        self._pid: Optional[int] = None
        self._limited: Optional[_C] = None
        self._monitor: Optional[_M] = None

    @staticmethod
    def _new_client(settings: Settings) -> Any:
        raise NotImplementedError

    @property
    def client(self) -> _C:
        """The Activeconnect client (without the attempt limit)."""
        return self._client

    def _unseal(self, sealed: str) -> Any:
        """The session of ``sealed``; ``None`` when it was altered or sealed with another key."""
        try:
            return self._client.unseal(sealed, self.settings.seal_key)
        except (InvalidArgumentError, TypeError):
            return None

    def _look(self, session: Any, status: Any) -> Progress:
        return progress_of(status, self.settings.walkaway, session.seal(self.settings.seal_key))

    def _failed(self, error: DeviceAuthError, sealed: str) -> Progress:
        if error.code in _PASSING:
            log.warning("sign-in status check failed (%s); still waiting", error.code)
            return unavailable(sealed)
        return progress_of(Status.CLOSED, self.settings.walkaway, None)

    def _failed_check(self, why: str, status: Any, sealed: str) -> Check:
        """The verdict when the status is unknown: the fail mode decides (and is logged)."""
        if why == "NOT_FOUND":
            return Check(False, None, "ended")  # the service no longer knows the session
        # Fail open bridges only a missing answer; a refusal or a garbled answer is closed.
        verdict = failed_check("closed" if why in _NEVER_OPEN else self.settings.fail_mode, status, sealed)
        if verdict.signed_in:
            log.warning("session check failed (%s); fail mode open: the user stays signed in", why)
        else:
            log.warning("session check failed (%s); fail mode closed: the user is signed out", why)
        return verdict

    def _stored_check(self, stored: Optional[StoredStatus], sealed: str) -> Check:
        """The verdict on the status the monitors wrote into the store."""
        if stored is None:
            return Check(False, None, "ended")
        if stored.error is not None:
            # The monitor wrote "CODE: message"; NOT_FOUND: the service no longer knows it.
            why = stored.error.partition(":")[0]
            return self._failed_check(why if why == "NOT_FOUND" else "the monitor cannot reach the service", stored.status, sealed)
        return check_of(stored.status, self.settings.walkaway, sealed)

    def user_of(self, sealed: str) -> Optional[str]:
        """The service's user id of a sealed session, without any call; ``None`` when
        ``sealed`` is not a session of this app."""
        session = self._unseal(sealed)
        return None if session is None else session.user

    def _fresh(self) -> bool:
        """Whether the per-process parts must be (re)made: first use, or a forked child."""
        return self._pid != os.getpid() or self._limited is None

    def close(self) -> None:
        """Stops this process's monitor."""
        if self._monitor is not None:
            self._monitor.close()
            self._monitor = None
        self._limited = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings!r})"


class SignIns(_Flow[Client, Monitor]):
    """The sign-in flow for threaded web apps (Flask, Django): every method blocks for at
    most the time it says. The client and this process's monitor are made on first use
    (after a fork, again), so an app may build it at import time."""

    def __init__(self, settings: Settings, client: Optional[Client] = None) -> None:
        super().__init__(settings, client)
        self._lock = threading.Lock()

    @staticmethod
    def _new_client(settings: Settings) -> Client:
        return Client(settings.application_id, settings.application_secret, settings.base_url, **settings.http)

    def _parts(self) -> Client:
        """The client with the attempt limit, with this process's monitor opened."""
        with self._lock:
            if self._fresh():
                s = self.settings
                if s.store is not None:
                    self._monitor = Monitor(
                        self._client, s.monitor_interval, store=s.store, seal_key=s.seal_key, polling=s.monitor
                    )
                limited = self._client
                if s.attempts:
                    store = s.store or "memory"
                    limited = self._client.with_attempt_limit(
                        store, attempts=s.attempts, window=s.attempt_window, seal_key=s.seal_key
                    )
                self._limited, self._pid = limited, os.getpid()
            assert self._limited is not None
            return self._limited

    def start(self, user_id: str) -> str:
        """Pushes a sign-in to ``user_id``'s phone; the pending session, sealed (keep it in
        the framework's session). Raises :class:`deviceauth.DeviceAuthError` (see
        :func:`problem`), e.g. ``RateLimitedError`` over the attempt limit, with nothing sent."""
        return self._parts().authenticate_user(user_id).seal(self.settings.seal_key)

    def _refresh(self, session: Session) -> Any:
        return session.refresh(timeout=self.settings.check_budget)

    def progress(self, sealed: str) -> Progress:
        """One status check of a pending sign-in, within the check budget. When it is
        approved, the session is added to the Monitor's store (if any) and the user may be
        signed in; keep ``progress.sealed`` in the framework's session each time."""
        session = self._unseal(sealed)
        if session is None:
            return progress_of(Status.CLOSED, self.settings.walkaway, None)
        try:
            progress = self._look(session, self._refresh(session))
            if progress.approved:
                self._parts()
                if self._monitor is not None:
                    self._monitor.add(session, key=session.session_token)
        except DeviceAuthError as error:
            return self._failed(error, sealed)
        if progress.state == "ended" and session.status.is_authenticated:
            self._forget(session, log_out=True)
        return progress

    def stream(self, sealed: str) -> Iterator[str]:
        """Server-sent events of a pending sign-in's progress: the current one at once, then
        each change (checked every second), keep-alives, until it is done or three minutes
        pass. It only reports: the page then calls the route that calls :meth:`progress`."""
        session = self._unseal(sealed)
        started = last_sent = time.monotonic()
        previous: Optional[str] = None
        while True:
            if session is None:
                yield sse(progress_of(Status.CLOSED, self.settings.walkaway, None))
                return
            try:
                progress = self._look(session, self._refresh(session))
            except DeviceAuthError as error:
                progress = self._failed(error, sealed)
            if progress.state != previous:
                previous, last_sent = progress.state, time.monotonic()
                yield sse(progress)
            if progress.done or time.monotonic() - started > STREAM_LIMIT:
                return
            if time.monotonic() - last_sent > KEEP_ALIVE:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            time.sleep(STREAM_INTERVAL)

    def check(self, sealed: str) -> Check:
        """The check on a signed-in user's request: the status the monitors last wrote into
        the store (no call to the service), or without a store one check within the budget;
        the walkaway policy and the fail mode decide. A user signed out here is removed
        from the store (and, after a walkaway or when the fail mode signs out, logged out of
        the service), in the background."""
        session = self._unseal(sealed)
        if session is None:
            return Check(False, None, "ended")
        try:
            self._parts()
            if self._monitor is None:
                verdict = check_of(self._refresh(session), self.settings.walkaway, session.seal(self.settings.seal_key))
            else:
                stored = _workers().submit(self._monitor.status, session.session_token)
                verdict = self._stored_check(stored.result(timeout=self.settings.check_budget), sealed)
        except DeviceAuthError as error:
            verdict = self._failed_check(error.code, None, sealed)
        except concurrent.futures.TimeoutError:
            verdict = self._failed_check(_STORE_SLOW, None, sealed)
        if not verdict.signed_in:
            self._forget(session, log_out=verdict.reason in _LOGGED_OUT)
        return verdict

    def sign_out(self, sealed: str) -> None:
        """Signs out: removes the session from the store (waiting for that at most the check
        budget) and logs it out of the service in the background (the page never waits for
        the service). Never raises."""
        session = self._unseal(sealed)
        if session is None:
            return
        try:
            self._forget(session, log_out=True).result(timeout=self.settings.check_budget)
        except concurrent.futures.TimeoutError:
            log.warning(_REMOVAL_SLOW)

    def _forget(self, session: Session, log_out: bool) -> "concurrent.futures.Future[None]":
        """Removes the session from the store and (``log_out``) logs it out of the service,
        on this process's worker threads; the removal, for a caller that waits for it."""
        workers = _workers()
        removal = workers.submit(_remove_now, self._monitor, session)
        if log_out:
            workers.submit(_log_out_now, session)
        return removal

    def registration_link(self, user_id: str, display_name: Optional[str] = None) -> str:
        """The link that registers ``user_id``'s phone, adding the user to the service first."""
        self._client.add_user(user_id)
        return self._client.device_registration_link(user_id, display_name)

    def is_registered(self, user_id: str) -> bool:
        """Whether ``user_id`` has registered a phone."""
        return self._client.has_registered_mobile_device(user_id)


def _remove_now(monitor: Optional[Monitor], session: Session) -> None:
    if monitor is not None:
        try:
            monitor.remove(session.session_token)
        except DeviceAuthError as error:
            log.warning("could not remove a session from the store (%s)", error.code)


def _log_out_now(session: Session) -> None:
    try:
        session.logout()
    except DeviceAuthError as error:
        log.warning("logging the service session out failed (%s)", error.code)


class AsyncSignIns(_Flow[AsyncClient, AsyncMonitor]):
    """The sign-in flow for asyncio web apps (FastAPI, Starlette): the methods of
    :class:`SignIns`, awaitable, never blocking the event loop."""

    def __init__(self, settings: Settings, client: Optional[AsyncClient] = None) -> None:
        super().__init__(settings, client)
        self._opening = asyncio.Lock()
        self._tasks: Set["asyncio.Task[None]"] = set()

    @staticmethod
    def _new_client(settings: Settings) -> AsyncClient:
        return AsyncClient(settings.application_id, settings.application_secret, settings.base_url, **settings.http)

    @classmethod
    async def open(cls, settings: Settings, client: Optional[AsyncClient] = None) -> "AsyncSignIns":
        """A flow with its monitor and attempt limit opened now (else on first use)."""
        flow = cls(settings, client)
        await flow._parts()
        return flow

    async def _parts(self) -> AsyncClient:
        async with self._opening:
            if self._fresh():
                s = self.settings
                if s.store is not None:
                    self._monitor = await AsyncMonitor.open(
                        self._client, s.monitor_interval, store=s.store, seal_key=s.seal_key, polling=s.monitor
                    )
                limited = self._client
                if s.attempts:
                    limited = await self._client.with_attempt_limit(
                        s.store or "memory", attempts=s.attempts, window=s.attempt_window, seal_key=s.seal_key
                    )
                self._limited, self._pid = limited, os.getpid()
            assert self._limited is not None
            return self._limited

    async def start(self, user_id: str) -> str:
        """See :meth:`SignIns.start`."""
        session = await (await self._parts()).authenticate_user(user_id)
        return session.seal(self.settings.seal_key)

    async def _refresh(self, session: AsyncSession) -> Any:
        return await session.refresh(timeout=self.settings.check_budget)

    async def progress(self, sealed: str) -> Progress:
        """See :meth:`SignIns.progress`."""
        session = self._unseal(sealed)
        if session is None:
            return progress_of(Status.CLOSED, self.settings.walkaway, None)
        try:
            progress = self._look(session, await self._refresh(session))
            if progress.approved:
                await self._parts()
                if self._monitor is not None:
                    await self._monitor.add(session, key=session.session_token)
        except DeviceAuthError as error:
            return self._failed(error, sealed)
        if progress.state == "ended" and session.status.is_authenticated:
            self._forget(session, log_out=True)
        return progress

    async def stream(self, sealed: str) -> AsyncIterator[str]:
        """See :meth:`SignIns.stream`."""
        session = self._unseal(sealed)
        loop = asyncio.get_running_loop()
        started = last_sent = loop.time()
        previous: Optional[str] = None
        while True:
            if session is None:
                yield sse(progress_of(Status.CLOSED, self.settings.walkaway, None))
                return
            try:
                progress = self._look(session, await self._refresh(session))
            except DeviceAuthError as error:
                progress = self._failed(error, sealed)
            if progress.state != previous:
                previous, last_sent = progress.state, loop.time()
                yield sse(progress)
            if progress.done or loop.time() - started > STREAM_LIMIT:
                return
            if loop.time() - last_sent > KEEP_ALIVE:
                last_sent = loop.time()
                yield ": keep-alive\n\n"
            await asyncio.sleep(STREAM_INTERVAL)

    async def check(self, sealed: str) -> Check:
        """See :meth:`SignIns.check`."""
        session = self._unseal(sealed)
        if session is None:
            return Check(False, None, "ended")
        try:
            await self._parts()
            if self._monitor is None:
                status = await self._refresh(session)
                verdict = check_of(status, self.settings.walkaway, session.seal(self.settings.seal_key))
            else:
                stored = await asyncio.wait_for(self._monitor.status(session.session_token), self.settings.check_budget)
                verdict = self._stored_check(stored, sealed)
        except DeviceAuthError as error:
            verdict = self._failed_check(error.code, None, sealed)
        except asyncio.TimeoutError:
            verdict = self._failed_check(_STORE_SLOW, None, sealed)
        if not verdict.signed_in:
            self._forget(session, log_out=verdict.reason in _LOGGED_OUT)
        return verdict

    async def sign_out(self, sealed: str) -> None:
        """See :meth:`SignIns.sign_out`."""
        session = self._unseal(sealed)
        if session is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._forget(session, log_out=True)), self.settings.check_budget)
        except asyncio.TimeoutError:
            log.warning(_REMOVAL_SLOW)

    def _forget(self, session: AsyncSession, log_out: bool) -> "asyncio.Task[None]":
        """Removes the session from the store and (``log_out``) logs it out of the service,
        in tasks of their own; the removal, for a caller that waits for it."""
        removal = self._later(_remove_later(self._monitor, session))
        if log_out:
            self._later(_log_out_later(session))
        return removal

    def _later(self, work: Coroutine[Any, Any, None]) -> "asyncio.Task[None]":
        """``work`` in a task this flow keeps until it is done."""
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def registration_link(self, user_id: str, display_name: Optional[str] = None) -> str:
        """See :meth:`SignIns.registration_link`."""
        await self._client.add_user(user_id)
        return await self._client.device_registration_link(user_id, display_name)

    async def is_registered(self, user_id: str) -> bool:
        """See :meth:`SignIns.is_registered`."""
        return await self._client.has_registered_mobile_device(user_id)


async def _remove_later(monitor: Optional[AsyncMonitor], session: AsyncSession) -> None:
    if monitor is not None:
        try:
            await monitor.remove(session.session_token)
        except DeviceAuthError as error:
            log.warning("could not remove a session from the store (%s)", error.code)


async def _log_out_later(session: AsyncSession) -> None:
    try:
        await session.logout()
    except DeviceAuthError as error:
        log.warning("logging the service session out failed (%s)", error.code)
