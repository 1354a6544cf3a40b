"""Uses every public name of deviceauth with precise types; checked with `mypy --strict`
(tests/python/run.sh and test_typing.py). It is type-checked, not run."""

from __future__ import annotations

import builtins
import datetime
from typing import Any, Dict, List, Optional

import deviceauth
from deviceauth import (
    AbortedError,
    DeviceAuthError,
    HttpError,
    InvalidArgumentError,
    NotFoundError,
    NotStartedError,
    ProtocolError,
    RateLimitedError,
    RefusedError,
    RetryPolicy,
    StoreError,
    TimeoutError,
    TransportError,
    UnauthorizedError,
    activeconnect,
    projectinsight,
    qr,
)
from deviceauth.activeconnect import (
    DEFAULT_BASE_URL,
    MAX_USER_ID_BYTES,
    SERVER_ENV,
    AddedUsers,
    AsyncClient,
    AsyncMonitor,
    AsyncSession,
    AsyncStatusIterator,
    Client,
    Method,
    Monitor,
    MonitorEvent,
    Session,
    Status,
    StatusIterator,
    StoredStatus,
    shard_of,
)
from deviceauth.projectinsight import ApiClient, AsyncApiClient, DeviceActivation, PendingActivation

version: str = deviceauth.__version__
limits: tuple[str, str, int] = (DEFAULT_BASE_URL, SERVER_ENV, MAX_USER_ID_BYTES)


def errors(error: DeviceAuthError) -> Optional[str]:
    code: str = error.code
    status: Optional[int] = error.status
    reason: Optional[str] = error.reason
    message: str = error.message
    _: Any = (code, status, message)
    family: List[type[DeviceAuthError]] = [
        InvalidArgumentError,
        NotFoundError,
        UnauthorizedError,
        NotStartedError,
        RefusedError,
        HttpError,
        ProtocolError,
        TimeoutError,
        AbortedError,
        TransportError,
    ]
    value_error: ValueError = InvalidArgumentError("bad")
    timeout_error: builtins.TimeoutError = TimeoutError("late", None, None)
    _ = (family, value_error, timeout_error, activeconnect.NotStartedError, projectinsight.HttpError)
    return reason


def statuses(status: Status) -> str:
    flags: tuple[bool, bool, bool] = (status.is_in_progress, status.is_authenticated, status.is_ended)
    parsed: Status = Status.from_wire("active")
    member: Status = Status.PENDING
    text: str = str(status)
    methods: List[Method] = [Method.ACCEPTANCE, Method.DEVICE, Method.FACIAL]
    _: Any = (flags, parsed, member, methods, Status.IDENTIFYING, Status.ACTIVE, Status.WALKAWAY)
    _ = (Status.TIMEOUT, Status.CLOSED, Status.FAILED, Status.CANCELLED, Status.UNKNOWN)
    return text


def sync_usage(base_url: str) -> bool:
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.1, max_backoff=1.0, deadline=5.0)
    never: RetryPolicy = RetryPolicy.never()
    numbers: tuple[int, float, float, float] = (policy.max_attempts, policy.initial_backoff, policy.max_backoff, policy.deadline)
    client: Client = activeconnect.Client("APP_ID", "APP_SECRET", base_url=base_url, timeout=10.0, retry=never, user_agent="x/1")
    rotating: Client = activeconnect.Client("APP_ID", "APP_SECRET", next_application_secret="NEXT", base_url=base_url)
    app_id: str = client.application_id
    url: str = client.base_url
    added: AddedUsers = client.add_users(["u1", "u2"])
    created: List[str] = added.created
    existing: List[str] = added.existing
    one: AddedUsers = client.add_user("u3")
    client.delete_users(["u1"])
    link: str = client.device_registration_link("u1", display_name="u1@shop")
    has_device: bool = client.has_registered_mobile_device("u1")
    health: activeconnect.Health = client.health(timeout=activeconnect.DEFAULT_HEALTH_BUDGET)
    latency: float = health.latency
    origin: str = client.health().origin
    probe: str = activeconnect.HEALTH_PROBE_USER
    new_link: str = client.lost_user_mobile_device("u1")
    client.send_registration_sms("u1", "+15550100", display_name=None, message=None)
    try:
        session: Session = client.authenticate_user("u1", methods=[Method.FACIAL, "acceptance"], duration_seconds=60)
    except NotStartedError as refused:
        return refused.reason == "NO_MOBILE_DEVICE"
    user: str = session.user
    status: Status = session.status
    raw: str = session.raw_status
    polled: Status = session.refresh()
    budget: float = activeconnect.DEFAULT_CHECK_BUDGET
    checked: Status = session.refresh(timeout=budget)
    limited: activeconnect.Client = client.with_attempt_limit(
        "sqlite:///tmp/attempts.db", attempts=5, window=600.0, seal_key=bytes(32)
    )
    try:
        limited.authenticate_user("u1")
    except RateLimitedError as over:
        wait: Optional[float] = over.retry_after
        _w: Any = wait
    final: Status = session.wait(timeout=120.0, interval=2.0)
    watcher: StatusIterator = session.watch(interval=5.0)
    for change in watcher:
        statuses(change)
    closed: bool = session.logout()
    text: str = session.to_json()
    again: Session = client.resume(text)
    stored: Dict[str, Any] = {"user": "u1"}
    from_dict: Session = client.resume(stored)
    _: Any = (numbers, app_id, url, created, existing, one, link, has_device, new_link, user, status, raw, polled)
    _ = (final, again, from_dict, checked)
    return closed


def project_insight(base_url: str) -> Any:
    pi: projectinsight.Client = projectinsight.Client(base_url, timeout=5.0, retry=None, user_agent=None)
    api_base: str = pi.base_url
    pending: PendingActivation = pi.create_device_activation(
        client_agent="my-cli/1.0", platform=None, device=None, ip_address=None, host_name=None
    )
    ident: str = pending.id
    url: str = pending.url
    expires: datetime.datetime = pending.expires_at
    done: DeviceActivation = pi.complete_device_activation(pending.id, "123456", client_agent="my-cli/1.0", timeout_minutes=None)
    token: str = done.api_token
    device_id: str = done.device_id
    user_id: str = done.user_id
    token_expires: datetime.datetime = done.expires_at
    api: ApiClient = pi.with_api_token(done.api_token)
    _: Any = (api_base, ident, url, expires, token, device_id, user_id, token_expires)
    api.post("things", {"name": "x"})
    store = projectinsight.TokenStore()
    file_store: projectinsight.TokenStore = projectinsight.TokenStore(projectinsight.TokenStore.default_path())
    where: str = file_store.location
    stored: projectinsight.StoredToken = pi.complete_and_store(store, pending.id, "123456", "my-cli/1.0", account="me")
    found: Optional[projectinsight.StoredToken] = store.load(pi.base_url, account=projectinsight.DEFAULT_ACCOUNT)
    store.save(stored._replace(expires_at=stored.expires_at))
    deleted: bool = store.delete(stored.base_url, stored.account)
    again: PendingActivation = pi.reactivate(store, "me")
    known: ApiClient = pi.stored_api_client(store, "me")
    until: Optional[datetime.datetime] = known.expires_at
    timed: ApiClient = pi.with_api_token(done.api_token, expires_at=done.expires_at)
    _ = (where, found, deleted, again, until, timed)
    try:
        known.get("project/active")
    except projectinsight.ExpiredError as expired:
        _ = expired.code
    return api.get("project/active")


async def async_usage(base_url: str) -> Status:
    client: AsyncClient = activeconnect.AsyncClient("APP_ID", "APP_SECRET", base_url=base_url, timeout=10.0)
    added: AddedUsers = await client.add_users(["u1", "u2"])
    one: AddedUsers = await client.add_user("u3")
    await client.delete_users(["u1"])
    link: str = await client.device_registration_link("u1", display_name="u1@shop")
    has_device: bool = await client.has_registered_mobile_device("u1")
    health: activeconnect.Health = await client.health(timeout=None)
    new_link: str = await client.lost_user_mobile_device("u1")
    await client.send_registration_sms("u1", "+15550100")
    session: AsyncSession = await client.authenticate_user("u1", methods=None, duration_seconds=None)
    status: Status = session.status
    raw: str = session.raw_status
    user: str = session.user
    polled: Status = await session.refresh()
    checked: Status = await session.refresh(timeout=activeconnect.DEFAULT_CHECK_BUDGET)
    limited: AsyncClient = await client.with_attempt_limit("memory", attempts=3, window=None, seal_key=None)
    final: Status = await session.wait(timeout=120.0, interval=2.0)
    watcher: AsyncStatusIterator = session.watch(interval=5.0)
    async for change in watcher:
        statuses(change)
    closed: bool = await session.logout()
    resumed: AsyncSession = client.resume(session.to_json())

    pi = projectinsight.AsyncClient(base_url + "/api")
    pending: PendingActivation = await pi.create_device_activation("my-cli/1.0")
    done: DeviceActivation = await pi.complete_device_activation(pending.id, "123456", "my-cli/1.0", timeout_minutes=60)
    api: AsyncApiClient = pi.with_api_token(done.api_token)
    projects: Any = await api.get("project/active")
    posted: Any = await api.post("things", [1, 2, 3])
    store = projectinsight.TokenStore("/tmp/tokens.json")
    stored: projectinsight.StoredToken = await pi.complete_and_store(store, pending.id, "123456", "my-cli/1.0")
    renewal: PendingActivation = await pi.reactivate(store)
    kept: AsyncApiClient = pi.stored_api_client(store)
    _: Any = (stored, renewal, kept)
    _ = (added, one, link, has_device, new_link, status, raw, user, polled, closed, resumed, projects, posted)
    _ = (checked, limited)
    return final


def describe(event: MonitorEvent) -> str:
    kind: str = event.kind
    user: str = event.user
    token: str = event.session_token
    previous: Optional[Status] = event.previous
    now: Optional[Status] = event.status
    error: Optional[DeviceAuthError] = event.error
    event_id: Optional[str] = event.id
    key: Optional[str] = event.key
    at: Optional[datetime.datetime] = event.at
    return f"{kind} {user} {token} {previous} {now} {error} {event_id} {key} {at}"


def monitor_usage(client: Client, session: Session) -> List[str]:
    index: int = shard_of("token", 4)
    monitor: Monitor = activeconnect.Monitor(
        client, interval=1.0, max_in_flight=50, unreachable_after=30.0, shard=(index, 4)
    )
    added: bool = monitor.add(session)
    added = monitor.add(session.to_json()) or monitor.add({"user": "u1"})
    removed: bool = monitor.remove("token")
    count: int = len(monitor)
    watched: bool = "token" in monitor
    shard: Optional[tuple[int, int]] = monitor.shard
    ready: List[MonitorEvent] = monitor.poll(timeout=0.5)
    seen = [describe(event) for event in ready]
    first: MonitorEvent = next(monitor)
    monitor.run(lambda event: seen.append(describe(event)))
    with Monitor(client) as scoped:
        for event in scoped:
            seen.append(describe(event))
    monitor.close()
    closed: bool = monitor.closed
    _: Any = (added, removed, count, watched, shard, first, closed)
    return seen


async def async_monitor_usage(client: AsyncClient, session: AsyncSession) -> List[str]:
    monitor: AsyncMonitor = activeconnect.AsyncMonitor(client, interval=1.0, shard=None)
    added: bool = monitor.add(session) and monitor.add(session.to_json())
    removed: bool = monitor.remove("token")
    count: int = len(monitor)
    ready: List[MonitorEvent] = await monitor.poll(timeout=None)
    seen = [describe(event) for event in ready]
    async for event in monitor:
        seen.append(describe(event))
    monitor.close()
    _: Any = (added, removed, count, monitor.closed, monitor.shard, "token" in monitor)
    return seen


def store_usage(client: Client, session: Session) -> List[str]:
    key = bytes(32)
    web = Monitor(client, store="sqlite:///tmp/sessions.db", seal_key=key, polling=False)
    poller = Monitor(client, 5.0, 100, 60.0, store="memory", lease=30.0, batch=50, capacity=100)
    added: bool = web.add(session, key="sign-in-1")
    stored: Optional[StoredStatus] = web.status("sign-in-1")
    if stored is not None:
        status: Status = stored.status
        watched: bool = stored.watched
        why: Optional[str] = stored.error
        updated: datetime.datetime = stored.updated_at
        _: Any = (status, watched, why, updated)
    removed: bool = web.remove("sign-in-1")
    try:
        seen = [describe(event) for event in poller.poll(timeout=0)]
    except StoreError as error:
        reason: Optional[str] = error.reason
        seen = [str(reason)]
    web.close()
    poller.close()
    _ = (added, removed)
    return seen


async def async_store_usage(client: AsyncClient, session: AsyncSession) -> Optional[StoredStatus]:
    monitor: AsyncMonitor = await AsyncMonitor.open(client, store="redis://:pw@127.0.0.1/0", seal_key=bytes(32))
    added: bool = await monitor.add(session, key="k")
    removed: bool = await monitor.remove("k")
    stored: Optional[StoredStatus] = await monitor.status("k")
    monitor.close()
    _: Any = (added, removed)
    return stored


def draw_codes(url: str) -> str:
    svg: str = qr.svg(url)
    text: str = deviceauth.qr.terminal(url)
    return svg + text


def read_telemetry() -> int:
    deviceauth.telemetry.enable_opentelemetry()
    deviceauth.telemetry.disable_opentelemetry()
    snapshot: Dict[str, Any] = deviceauth.telemetry.metrics()
    return len(snapshot["counters"])
