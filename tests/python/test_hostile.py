"""A hostile or broken service (a raw TCP server whose every byte the test writes) can never
crash, steer or leak through the Python binding (issue 10). One section per class:

1. defects (panics) are `InternalError` and the client stays usable; values that used to
   panic (huge Retry-After, huge durations) are handled or refused;
2. redirects are never followed; credentials only go to allowed origins; https is real;
3. clean interpreter exit with calls in flight (test_exit_stress.py);
4. every bad argument is `InvalidArgumentError` before any request;
5. every malformed answer is `ProtocolError` (framing trouble: another `DeviceAuthError`);
6. server text in errors is bounded, escaped and scrubbed of secrets;
7. loopback means 127.0.0.0/8, ::1 and `localhost`;
plus property tests feeding random statuses, headers and bodies through the binding.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import deviceauth
from deviceauth import DeviceAuthError, InternalError, InvalidArgumentError, ProtocolError, RetryPolicy, _native
from deviceauth import activeconnect, projectinsight

from conftest import _emulator_binary
from hostile import RawServer, http, session_json

APP_SECRET = "app-secret-SHOULD-NOT-LEAK"
NEVER = RetryPolicy.never()


@pytest.fixture
def raw() -> Iterator[RawServer]:
    server = RawServer()
    yield server
    server.close()


@pytest.fixture
def elsewhere() -> Iterator[RawServer]:
    """A second server: where redirects point. It must never see a request."""
    server = RawServer()
    yield server
    server.close()


def ac(raw: RawServer, **options: Any) -> activeconnect.Client:
    options.setdefault("retry", NEVER)
    return activeconnect.Client("app", APP_SECRET, base_url=raw.url, timeout=2.0, **options)


def aac(raw: RawServer, **options: Any) -> activeconnect.AsyncClient:
    options.setdefault("retry", NEVER)
    return activeconnect.AsyncClient("app", APP_SECRET, base_url=raw.url, timeout=2.0, **options)


def pi(raw: RawServer, **options: Any) -> projectinsight.Client:
    options.setdefault("retry", NEVER)
    return projectinsight.Client(raw.url + "/api", timeout=2.0, **options)


HAS_DEVICE = http(200, {"status": True, "device_registered": True})
ACTIVE = http(200, {"session_status": "active"})
EXPIRY = "2030-01-01T00:00:00Z"
PENDING = http(200, {"DeviceActivationId": "act-1", "DeviceActivationRequestUrl": "https://pi.example/a", "ExpirationDateTimeUTC": EXPIRY})


# ----------------------------------------------------------------------- 1. defects


def test_a_panic_is_an_internal_error_at_every_kind_of_entry_point() -> None:
    assert issubclass(InternalError, DeviceAuthError) and InternalError.code == "INTERNAL"
    with pytest.raises(InternalError, match="deliberate test panic") as sync:
        _native._panic_for_tests("sync")
    assert sync.value.code == "INTERNAL"
    with pytest.raises(InternalError):
        _native._panic_for_tests("async").wait()

    async def awaited() -> None:
        with pytest.raises(InternalError):
            await _native._panic_for_tests("async")

    asyncio.run(awaited())


def test_huge_retry_after_is_no_panic_and_the_client_stays_usable(raw: RawServer) -> None:
    client = ac(raw, retry=RetryPolicy(max_attempts=3, initial_backoff=0.01, deadline=1.0))
    raw.script(http(503, "busy", "Retry-After: 10000000000000000000"), HAS_DEVICE)
    started = time.monotonic()
    with pytest.raises(DeviceAuthError) as caught:
        client.has_registered_mobile_device("u1")
    assert not isinstance(caught.value, InternalError), caught.value
    assert time.monotonic() - started < 5
    before = raw.count()
    assert client.has_registered_mobile_device("u1") is True
    assert raw.count() == before + 1, "the next call sends its request"


async def test_huge_retry_after_async_and_session_stay_usable(raw: RawServer) -> None:
    client = aac(raw, retry=RetryPolicy(max_attempts=2, initial_backoff=0.01, deadline=1.0))
    session = client.resume(session_json(raw.url))
    raw.script(http(429, "slow down", "Retry-After: 99999999999999999999999"), ACTIVE)
    with pytest.raises(DeviceAuthError) as caught:
        await session.refresh()
    assert not isinstance(caught.value, InternalError)
    assert await session.refresh() is activeconnect.Status.ACTIVE, "the session is not dead"


def test_a_monitor_keeps_polling_after_hostile_answers(raw: RawServer) -> None:
    client = ac(raw)
    raw.script(http(503, "", "Retry-After: 10000000000000000000"), http(200, {"session_status": "pending"}))
    monitor = activeconnect.Monitor(client, interval=0.05, unreachable_after=30.0)
    assert monitor.add(session_json(raw.url))
    time.sleep(0.6)
    seen = raw.count()
    time.sleep(0.5)
    assert raw.count() > seen, "the monitor still polls"
    monitor.close()


@pytest.mark.parametrize(
    "make",
    [
        lambda c: RetryPolicy(deadline=1e19),
        lambda c: RetryPolicy(max_backoff=float("inf")),
        lambda c: activeconnect.Monitor(c, interval=1.8e19),
        lambda c: activeconnect.Monitor(c, unreachable_after=1e300),
        lambda c: c.resume(session_json("http://127.0.0.1:9")).wait(timeout=1e19),
        lambda c: c.resume(session_json("http://127.0.0.1:9")).watch(interval=1.8e22),
    ],
)
def test_huge_settings_are_refused_not_panics(raw: RawServer, make: Callable[[Any], Any]) -> None:
    with pytest.raises(InvalidArgumentError):
        make(ac(raw))


# --------------------------------------------------------------- 2. redirects, origins


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_never_followed(raw: RawServer, elsewhere: RawServer, status: int) -> None:
    raw.script(http(status, "", f"Location: {elsewhere.url}/steal?x=1"))
    with pytest.raises(deviceauth.HttpError) as caught:
        ac(raw).has_registered_mobile_device("u1")
    assert caught.value.status == status and elsewhere.origin in str(caught.value)
    with pytest.raises(deviceauth.HttpError):
        pi(raw).with_api_token("token-SECRET").get("project/active")
    with pytest.raises(deviceauth.HttpError):
        pi(raw).complete_device_activation("act", "123456", "cli/1")
    assert elsewhere.count() == 0, "nothing went to the other origin"


async def test_redirects_are_never_followed_async(raw: RawServer, elsewhere: RawServer) -> None:
    raw.script(http(307, "", f"Location: {elsewhere.url}/x"))
    session = aac(raw).resume(session_json(raw.url))
    with pytest.raises(deviceauth.HttpError) as caught:
        await session.refresh()
    assert caught.value.status == 307
    with pytest.raises(deviceauth.HttpError):
        await projectinsight.AsyncClient(raw.url + "/api", retry=NEVER).with_api_token("t").post("x", {"a": 1})
    assert elsewhere.count() == 0


def test_status_urls_must_share_the_origin_unless_allowed(raw: RawServer, elsewhere: RawServer) -> None:
    foreign = session_json(elsewhere.url)
    with pytest.raises(InvalidArgumentError):
        ac(raw).resume(foreign)
    with pytest.raises(InvalidArgumentError):
        activeconnect.Monitor(ac(raw)).add(foreign)
    allowed = ac(raw, allowed_origins=[elsewhere.url])
    elsewhere.script(ACTIVE)
    assert allowed.resume(foreign).refresh() is activeconnect.Status.ACTIVE
    # authenticate_user handing out a foreign status URL is refused, not followed
    raw.script(http(200, {"authenticated": True, "session_token": "t", "session_secret": "s", "session_status": "pending",
                          "status_url": f"{elsewhere.url}/s", "logout_url": f"{raw.url}/l"}))
    before = elsewhere.count()
    with pytest.raises(ProtocolError):
        ac(raw).authenticate_user("u1")
    assert elsewhere.count() == before


@pytest.fixture(scope="module")
def tls_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str, str]]:
    ca = tmp_path_factory.mktemp("tls") / "ca.pem"
    process = subprocess.Popen(
        [str(_emulator_binary()), "--tls", "--ca-file", str(ca), "--listen", "127.0.0.1:0", "--quiet"],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = re.search(r"(https://\S+)", process.stdout.readline().decode())
        app = re.search(r"application_id=(\S+) application_secret=(\S+)", process.stdout.readline().decode())
        assert url and app
        yield url.group(1).rstrip("/"), ca, app.group(1), app.group(2)
    finally:
        process.kill()
        process.wait()


def test_https_is_real_and_never_drops_to_http(tls_emulator: tuple[str, Path, str, str], raw: RawServer) -> None:
    url, ca, app_id, secret = tls_emulator
    with pytest.raises(deviceauth.TransportError):
        activeconnect.Client(app_id, secret, base_url=url, retry=NEVER).add_users(["u"])
    client = activeconnect.Client(app_id, secret, base_url=url, ca_file=ca)
    assert client.add_users(["tls-user"]).created == ["tls-user"]
    assert projectinsight.Client(url + "/api", ca_file=str(ca)).create_device_activation("cli/1").url
    with pytest.raises(InvalidArgumentError):
        activeconnect.Client(app_id, secret, base_url=url, ca_file=ca, allowed_origins=[raw.url])
    with pytest.raises(InvalidArgumentError):
        client.resume(session_json(raw.url))
    with pytest.raises(InvalidArgumentError):
        activeconnect.Client(app_id, secret, base_url=url, ca_file=str(ca) + ".missing")
    assert raw.count() == 0


def test_session_token_is_exposed(raw: RawServer) -> None:
    session = ac(raw).resume(session_json(raw.url, token="tok-42"))
    assert session.session_token == "tok-42"


# ------------------------------------------------------------ 4. bad arguments

LONE = "\ud800"
HUGE_INTS = [2**63, 2**64, 10**30, -1]
BAD_SECONDS: List[Any] = [math.nan, math.inf, -math.inf, -1.0, 1e19, 10**400]


def bad_calls(raw: RawServer) -> List[Callable[[], Any]]:
    client = ac(raw)
    session = client.resume(session_json(raw.url))
    api = pi(raw).with_api_token("token")
    monitor = activeconnect.Monitor(client)
    calls: List[Callable[[], Any]] = [
        lambda: client.add_users(["ok", LONE]),
        lambda: client.add_user("a" + LONE),
        lambda: client.delete_users([LONE]),
        lambda: client.device_registration_link("u", display_name=LONE),
        lambda: client.has_registered_mobile_device(LONE),
        lambda: client.lost_user_mobile_device(LONE),
        lambda: client.send_registration_sms("u", "+15550100", message=LONE),
        lambda: client.send_registration_sms("u", LONE),
        lambda: client.authenticate_user(LONE),
        lambda: client.authenticate_user("u", methods=[LONE]),
        lambda: client.resume(session_json(raw.url).replace("u1", "\\ud800") + LONE),
        lambda: activeconnect.Client(LONE, "s", base_url=raw.url),
        lambda: activeconnect.Client("a", LONE, base_url=raw.url),
        lambda: activeconnect.Client("a", "s", base_url=raw.url + LONE),
        lambda: activeconnect.Client("a", "s", base_url=raw.url, user_agent=LONE),
        lambda: activeconnect.Client("a", "s", base_url=raw.url, allowed_origins=[LONE]),
        lambda: activeconnect.Client("a", "s", base_url="127.0.0.1:8799"),
        lambda: monitor.remove(LONE),
        lambda: monitor.add(LONE),
        lambda: activeconnect.shard_of(LONE, 4),
        lambda: api.get(LONE),
        lambda: api.post("x", {"k": LONE}),
        lambda: api.post("x", {"n": math.nan}),
        lambda: pi(raw).with_api_token(LONE),
        lambda: pi(raw).create_device_activation(LONE),
        lambda: pi(raw).create_device_activation("cli", host_name=LONE),
        lambda: pi(raw).complete_device_activation("id", LONE, "cli"),
        lambda: projectinsight.Client(raw.url + LONE),
        lambda: deviceauth.qr.svg(LONE),
    ]
    for n in HUGE_INTS:
        calls += [
            lambda n=n: RetryPolicy(max_attempts=n),
            lambda n=n: client.authenticate_user("u", duration_seconds=n),
            lambda n=n: activeconnect.Monitor(client, max_in_flight=n),
            lambda n=n: activeconnect.Monitor(client, shard=(n, 4)),
            lambda n=n: activeconnect.Monitor(client, shard=(0, n)),
            lambda n=n: activeconnect.shard_of("t", n),
            lambda n=n: pi(raw).complete_device_activation("id", "123456", "cli", timeout_minutes=n),
        ]
    for s in BAD_SECONDS:
        calls += [
            lambda s=s: activeconnect.Client("a", "s", base_url=raw.url, timeout=s),
            lambda s=s: projectinsight.Client(raw.url, timeout=s),
            lambda s=s: RetryPolicy(initial_backoff=s),
            lambda s=s: RetryPolicy(max_backoff=s),
            lambda s=s: RetryPolicy(deadline=s),
            lambda s=s: session.wait(timeout=s),
            lambda s=s: session.wait(interval=s),
            lambda s=s: session.watch(interval=s),
            lambda s=s: activeconnect.Monitor(client, interval=s),
            lambda s=s: activeconnect.Monitor(client, unreachable_after=s),
            lambda s=s: monitor.poll(timeout=s),
        ]
    return calls


def test_every_bad_argument_is_invalid_before_any_request(raw: RawServer) -> None:
    calls = bad_calls(raw)
    assert len(calls) > 100
    for index, call in enumerate(calls):
        try:
            call()
        except InvalidArgumentError as error:
            assert error.code == "INVALID_ARGUMENT" and isinstance(error, ValueError)
        except BaseException as error:  # noqa: BLE001
            raise AssertionError(f"bad call #{index} raised {error!r}") from error
        else:
            raise AssertionError(f"bad call #{index} was accepted")
    assert raw.count() == 0, "no request was sent"


async def test_bad_arguments_async_raise_at_the_call(raw: RawServer) -> None:
    client = aac(raw)
    session = client.resume(session_json(raw.url))
    for call in [
        lambda: client.has_registered_mobile_device(LONE),
        lambda: client.authenticate_user("u", duration_seconds=2**64),
        lambda: session.wait(interval=math.nan),
        lambda: projectinsight.AsyncClient(raw.url).with_api_token("t").get(LONE),
    ]:
        with pytest.raises(InvalidArgumentError):
            call()
    assert raw.count() == 0


def test_wrong_types_stay_type_errors(raw: RawServer) -> None:
    client = ac(raw)
    for call in [
        lambda: client.add_users("alice"),
        lambda: client.has_registered_mobile_device(b"u"),
        lambda: client.authenticate_user("u", duration_seconds=1.5),
        lambda: activeconnect.Client("a", "s", base_url=raw.url, timeout="10"),
        lambda: activeconnect.Client("a", "s", base_url=raw.url, retry=3),
        lambda: activeconnect.Client("a", "s", base_url=raw.url, no_such_option=1),
        lambda: activeconnect.Monitor(client, interval="1"),
        lambda: client.resume(42),
        lambda: pi(raw).with_api_token("t").post("x", {"n": object()}),
    ]:
        with pytest.raises(TypeError):
            call()
    assert raw.count() == 0


# ----------------------------------------------------------- 5. malformed answers

MALFORMED_BODIES = [
    http(200, "not json"),
    http(200, "{"),
    http(200, "[]"),
    http(200, {"device_registered": "yes"}),
    http(200, b"\xff\xfe\x00{}"),
    http(200, "\"" + "x" * 100 + "\\ud800\""),
    http(200, "{" * 10000 + "}" * 10000),
    http(200, b"x" * (5 * 1024 * 1024)),
]
MALFORMED_FRAMING = [
    b"HTTP/1.1 abc nope\r\n\r\n",
    b"garbage\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{\"a\":",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 200000 + b"\r\n\r\n",
    None,
]


@pytest.mark.parametrize("answer", MALFORMED_BODIES, ids=range(len(MALFORMED_BODIES)))
def test_malformed_bodies_are_protocol_errors(raw: RawServer, answer: bytes) -> None:
    raw.script(answer)
    with pytest.raises(ProtocolError):
        ac(raw).has_registered_mobile_device("u1")
    with pytest.raises(ProtocolError):
        ac(raw).resume(session_json(raw.url)).refresh()
    with pytest.raises(ProtocolError):
        pi(raw).create_device_activation("cli/1")


@pytest.mark.parametrize("answer", MALFORMED_FRAMING, ids=range(len(MALFORMED_FRAMING)))
def test_broken_framing_is_a_device_auth_error(raw: RawServer, answer: bytes) -> None:
    raw.script(answer)
    with pytest.raises(DeviceAuthError) as caught:
        ac(raw).has_registered_mobile_device("u1")
    assert not isinstance(caught.value, InternalError)


@pytest.mark.parametrize("expiry", ["0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "+275760-09-13T00:00:00Z", "-0001-01-01T00:00:00Z", "soon", ""])
def test_dates_out_of_range_are_protocol_errors(raw: RawServer, expiry: str) -> None:
    raw.script(http(200, {"DeviceActivationId": "a", "DeviceActivationRequestUrl": "https://x.example/a", "ExpirationDateTimeUTC": expiry}))
    with pytest.raises(ProtocolError):
        pi(raw).create_device_activation("cli/1")
    raw.script(http(200, {"ApiToken": "t", "DeviceId": 1, "UserId": 2, "ApiTokenExpirationDateTimeUTC": expiry}))
    with pytest.raises(ProtocolError):
        pi(raw).complete_device_activation("a", "123456", "cli/1")


async def test_malformed_answers_async(raw: RawServer) -> None:
    raw.script(http(200, {"session_status": 5}))
    with pytest.raises(ProtocolError):
        await aac(raw).resume(session_json(raw.url)).refresh()
    raw.script(http(200, "[1, 2"))
    with pytest.raises(ProtocolError):
        await projectinsight.AsyncClient(raw.url + "/api", retry=NEVER).with_api_token("t").get("x")


def test_unreachable_monitor_events_carry_device_auth_errors(raw: RawServer) -> None:
    raw.script(http(404, "gone"))
    monitor = activeconnect.Monitor(ac(raw), interval=0.05)
    monitor.add(session_json(raw.url))
    (event,) = monitor.poll(timeout=5.0)
    assert event.kind == "unreachable" and isinstance(event.error, DeviceAuthError)
    monitor.close()


def test_large_valid_json_works(raw: RawServer) -> None:
    raw.script(http(200, json.dumps(list(range(350_000)))))  # 2.3 MB, under the core's 4 MiB limit
    assert len(pi(raw).with_api_token("t").get("x")) == 350_000


# -------------------------------------------------------- 6. server text in errors

SECRET_CODE = "987654"
TOKEN = "api-token-SHOULD-NOT-LEAK"


def echo(request: bytes) -> bytes:
    text = request.decode("latin-1")
    return http(400, "you sent: " + text + "\r\n\x1b[31mred\x1b[0m\x07" + "pad" * 20000)


def test_error_text_is_bounded_escaped_and_scrubbed(raw: RawServer) -> None:
    raw.script(echo)
    errors: List[DeviceAuthError] = []
    for call in [
        lambda: pi(raw).complete_device_activation("act", SECRET_CODE, "cli/1"),
        lambda: pi(raw).with_api_token(TOKEN).get("x"),
        lambda: pi(raw).with_api_token(TOKEN).post("x", {"token": TOKEN}),
        lambda: ac(raw).has_registered_mobile_device("u1"),
        lambda: ac(raw).resume(session_json(raw.url, secret="session-secret-NO-LEAK")).refresh(),
    ]:
        with pytest.raises(DeviceAuthError) as caught:
            call()
        errors.append(caught.value)
    for error in errors:
        for text in (str(error), repr(error)):
            for secret in (SECRET_CODE, TOKEN, APP_SECRET, "session-secret-NO-LEAK"):
                assert secret not in text, f"{secret} in {text[:200]!r}"
            assert "\r" not in text and "\n" not in text and "\x1b" not in text and "\x07" not in text
        assert len(str(error)) < 2000


# ------------------------------------------------------------------- 7. loopback


def test_loopback_is_literal() -> None:
    for url in ["http://evil.localhost", "http://localhost.evil.example", "http://127.0.0.1.nip.io", "http://0x7f000001.example"]:
        with pytest.raises(InvalidArgumentError):
            activeconnect.Client("a", "s", base_url=url)
        with pytest.raises(InvalidArgumentError):
            projectinsight.Client(url + "/api")
    for url in ["http://127.0.0.1:1", "http://127.3.4.5:1", "http://[::1]:1", "http://localhost:1"]:
        activeconnect.Client("a", "s", base_url=url)
    activeconnect.Client("a", "s", base_url="http://evil.localhost", allow_insecure_http=True)


# -------------------------------------------------------------- property tests

HEADER_NAMES = ["Retry-After", "Content-Type", "Location", "X-Whatever", "Date", "Set-Cookie", "Connection"]
header_values = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\r\n"), max_size=40),
    st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT", "0", "1e400", "-1", "application/json"]),
)
headers = st.lists(st.tuples(st.sampled_from(HEADER_NAMES), header_values), max_size=4)
bodies = st.one_of(
    st.binary(max_size=200),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
            st.sampled_from(["status", "device_registered", "session_status", "authenticated", "reason", "DeviceActivationId",
                             "DeviceActivationRequestUrl", "ExpirationDateTimeUTC", "ApiToken", "x"]), inner, max_size=5),
        max_leaves=12,
    ).map(lambda v: json.dumps(v).encode()),
)
statuses = st.sampled_from([200, 201, 204, 301, 302, 400, 401, 403, 404, 409, 410, 429, 500, 502, 503, 599, 999])


def hostile_answer(status: int, extra: List[tuple[str, str]], body: bytes) -> bytes:
    return http(status, body, *(f"{name}: {value}" for name, value in extra))


PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@PROPERTY
@given(status=statuses, extra=headers, body=bodies)
def test_random_answers_give_results_or_device_auth_errors(raw: RawServer, status: int, extra: List[tuple[str, str]], body: bytes) -> None:
    raw.script(hostile_answer(status, extra, body))
    client = ac(raw, retry=RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.01, deadline=0.3))
    for call in [
        lambda: client.has_registered_mobile_device("u1"),
        lambda: client.authenticate_user("u1"),
        lambda: client.resume(session_json(raw.url)).refresh(),
        lambda: pi(raw).create_device_activation("cli/1"),
        lambda: pi(raw).with_api_token("t").get("x"),
    ]:
        try:
            call()
        except DeviceAuthError as error:
            assert not isinstance(error, InternalError), error


@PROPERTY
@given(status=statuses, extra=headers, body=bodies)
def test_random_answers_async(raw: RawServer, status: int, extra: List[tuple[str, str]], body: bytes) -> None:
    raw.script(hostile_answer(status, extra, body))

    async def calls() -> None:
        client = aac(raw, retry=RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.01, deadline=0.3))
        session = client.resume(session_json(raw.url))
        results = await asyncio.gather(
            client.has_registered_mobile_device("u1"), session.refresh(), session.logout(), return_exceptions=True
        )
        for result in results:
            assert not isinstance(result, BaseException) or (
                isinstance(result, DeviceAuthError) and not isinstance(result, InternalError)
            ), repr(result)

    asyncio.run(calls())
