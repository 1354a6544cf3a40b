"""deviceauth.telemetry: OpenTelemetry spans (the SDK's in-memory exporter) and the metrics
snapshot for a sign-in, a retried call and refused ones; no secret in either, even when
the server echoes secrets; `logging` keeps working beside them."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any, Dict, Iterator, List, Sequence, Tuple

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import deviceauth
from deviceauth import activeconnect, projectinsight, telemetry
from deviceauth.activeconnect import Status

from conftest import App, Emulator

Labels = Sequence[Tuple[str, str]]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.enable_opentelemetry(tracer_provider=provider)
    yield exporter
    telemetry.disable_opentelemetry()


def fast(emulator: Emulator, app: App, secret: str = "") -> activeconnect.Client:
    policy = deviceauth.RetryPolicy(max_attempts=4, initial_backoff=0.02, max_backoff=0.1, deadline=10.0)
    return activeconnect.Client(app.id, secret or app.secret, base_url=emulator.url, retry=policy)


def named(exporter: InMemorySpanExporter, name: str) -> List[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def counter(snapshot: Dict[str, Any], name: str, labels: Labels) -> int:
    for point in snapshot["counters"]:
        if point["name"] == name and point["attributes"] == dict(labels):
            return int(point["value"])
    return 0


def hash8(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def token_of(session: activeconnect.Session) -> str:
    return str(json.loads(session.to_json())["session_token"])


def test_a_sign_in_is_traced_from_request_to_approval(
    emulator: Emulator, app: App, phone_user: str, exporter: InMemorySpanExporter
) -> None:
    client = fast(emulator, app)
    before = telemetry.metrics()
    session = client.authenticate_user(phone_user)
    token = token_of(session)
    assert session.refresh() is Status.PENDING
    emulator.session_action(token, "approve")
    assert session.wait(interval=0.05) is Status.ACTIVE

    [start] = named(exporter, "activeconnect.authenticate_user")
    assert start.kind is SpanKind.CLIENT and start.status.status_code is StatusCode.OK
    attributes = dict(start.attributes or {})
    assert attributes["deviceauth.service"] == "activeconnect"
    assert attributes["deviceauth.endpoint"] == "authenticate_user"
    assert attributes["http.request.method"] == "POST"
    assert attributes["deviceauth.attempts"] == 1
    assert attributes["http.response.status_code"] == 202
    assert attributes["deviceauth.outcome"] == "ok"
    assert start.start_time is not None and start.end_time is not None and start.start_time <= start.end_time
    polls = named(exporter, "activeconnect.status")
    assert len(polls) >= 2
    for poll in polls:
        assert dict(poll.attributes or {})["deviceauth.session"] == hash8(token)

    after = telemetry.metrics()
    sign_in = [("service", "activeconnect"), ("endpoint", "authenticate_user"), ("outcome", "ok")]
    assert counter(after, "deviceauth.calls", sign_in) - counter(before, "deviceauth.calls", sign_in) == 1
    status = [("service", "activeconnect"), ("endpoint", "status"), ("outcome", "ok")]
    assert counter(after, "deviceauth.calls", status) - counter(before, "deviceauth.calls", status) == len(polls)
    [histogram] = [
        h for h in after["histograms"]
        if h["name"] == "deviceauth.call.duration" and h["attributes"] == {"service": "activeconnect", "endpoint": "status"}
    ]  # fmt: skip
    assert histogram["unit"] == "ms" and sum(histogram["bucket_counts"]) == histogram["count"] >= len(polls)


async def test_async_calls_are_traced_too(
    emulator: Emulator, app: App, phone_user: str, exporter: InMemorySpanExporter
) -> None:
    aclient = activeconnect.AsyncClient(app.id, app.secret, base_url=emulator.url)
    assert await aclient.has_registered_mobile_device(phone_user) is True
    [span] = named(exporter, "activeconnect.has_registered_mobile_device")
    assert dict(span.attributes or {})["http.request.method"] == "GET"


def test_a_retried_call_has_one_span_with_its_retries(
    emulator: Emulator, app: App, phone_user: str, exporter: InMemorySpanExporter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="deviceauth")
    client = fast(emulator, app)
    emulator.fault(app.path("has_registered_mobile_device", phone_user), status=503, count=2, body="busy")
    before = telemetry.metrics()
    assert client.has_registered_mobile_device(phone_user) is True

    [span] = named(exporter, "activeconnect.has_registered_mobile_device")
    attributes = dict(span.attributes or {})
    assert attributes["deviceauth.attempts"] == 3 and attributes["http.response.status_code"] == 200
    assert [e.name for e in span.events] == ["retry", "retry"]
    for n, event in enumerate(span.events, start=1):
        fields = dict(event.attributes or {})
        assert fields["deviceauth.attempt"] == n and fields["deviceauth.reason"] == "HTTP 503"
        assert isinstance(fields["deviceauth.wait_ms"], int) and 0 <= fields["deviceauth.wait_ms"] <= 100
    place = [("service", "activeconnect"), ("endpoint", "has_registered_mobile_device")]
    assert counter(telemetry.metrics(), "deviceauth.retries", place) - counter(before, "deviceauth.retries", place) == 2
    retries = [r for r in caplog.records if r.name == "deviceauth" and "retry" in r.getMessage()]
    assert len(retries) == 2, "the log records still reach logging"


def test_refused_sign_ins_are_traced_as_failures(
    emulator: Emulator, app: App, phone_user: str, exporter: InMemorySpanExporter
) -> None:
    before = telemetry.metrics()
    with pytest.raises(deviceauth.UnauthorizedError):
        fast(emulator, app, secret="wrong-secret").authenticate_user(phone_user)
    [refused] = named(exporter, "activeconnect.authenticate_user")
    assert refused.status.status_code is StatusCode.ERROR and refused.status.description == "UNAUTHORIZED"
    attributes = dict(refused.attributes or {})
    assert attributes["http.response.status_code"] == 401 and attributes["deviceauth.outcome"] == "UNAUTHORIZED"

    # The user denies on the phone while a monitor watches.
    client = fast(emulator, app)
    session = client.authenticate_user(phone_user)
    with activeconnect.Monitor(client, interval=0.05) as monitor:
        watched = telemetry.metrics()["gauges"][0]
        assert watched["name"] == "deviceauth.monitor.sessions"
        assert monitor.add(session) is True
        assert telemetry.metrics()["gauges"][0]["value"] == watched["value"] + 1
        emulator.session_action(token_of(session), "deny")
        [event] = monitor.poll(timeout=5.0)
        assert event.kind == "changed" and event.status is Status.FAILED
        assert telemetry.metrics()["gauges"][0]["value"] == watched["value"]

    after = telemetry.metrics()
    unauthorized = [("service", "activeconnect"), ("endpoint", "authenticate_user"), ("outcome", "UNAUTHORIZED")]
    assert counter(after, "deviceauth.calls", unauthorized) - counter(before, "deviceauth.calls", unauthorized) == 1
    failed = [("status", "failed")]
    assert counter(after, "deviceauth.monitor.status_changes", failed) - counter(before, "deviceauth.monitor.status_changes", failed) == 1


def test_traces_and_metrics_hold_no_secret_even_when_echoed(
    emulator: Emulator, app: App, phone_user: str, exporter: InMemorySpanExporter
) -> None:
    client = fast(emulator, app)
    session = client.authenticate_user(phone_user)
    stored = json.loads(session.to_json())
    pi = projectinsight.Client(emulator.pi_url)
    pending = pi.create_device_activation("cli/1.0")
    code = emulator.activation_code(pending.id)
    done = pi.complete_device_activation(pending.id, code, "cli/1.0")
    secrets = [app.secret, stored["session_token"], stored["session_secret"], done.api_token, code]
    echo = " ".join(secrets)
    emulator.fault("/authentication/", status=503, count=2, body=echo)
    session.refresh()
    emulator.fault("/api/project", status=500, body=echo)
    with pytest.raises(deviceauth.DeviceAuthError):
        pi.with_api_token(done.api_token).get("project/active")
    with pytest.raises(deviceauth.DeviceAuthError):
        pi.complete_device_activation(pending.id, code, "cli/1.0")

    spans = exporter.get_finished_spans()
    assert len(spans) >= 6
    texts = [span.to_json() for span in spans] + [json.dumps(telemetry.metrics())]
    for secret in secrets:
        for text in texts:
            assert secret not in text, f"a secret shows in {text}"
    assert any(hash8(stored["session_token"]) in text for text in texts)


def test_without_opentelemetry_nothing_is_exported(emulator: Emulator, app: App, phone_user: str) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    telemetry.enable_opentelemetry(tracer_provider=provider)
    telemetry.disable_opentelemetry()
    before = telemetry.metrics()
    assert fast(emulator, app).has_registered_mobile_device(phone_user) is True
    assert exporter.get_finished_spans() == ()
    place = [("service", "activeconnect"), ("endpoint", "has_registered_mobile_device"), ("outcome", "ok")]
    assert counter(telemetry.metrics(), "deviceauth.calls", place) == counter(before, "deviceauth.calls", place) + 1, (
        "metrics are always counted"
    )


def test_metrics_are_observable_instruments(
    emulator: Emulator, app: App, phone_user: str, exporter: InMemorySpanExporter
) -> None:
    reader = InMemoryMetricReader()
    telemetry.enable_opentelemetry(tracer_provider=TracerProvider(), meter_provider=MeterProvider(metric_readers=[reader]))
    assert fast(emulator, app).has_registered_mobile_device(phone_user) is True
    data = reader.get_metrics_data()
    assert data is not None
    points: Dict[str, List[Any]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "deviceauth"
            for metric in scope.metrics:
                points[metric.name] = list(metric.data.data_points)
    assert set(points) >= {"deviceauth.calls", "deviceauth.monitor.sessions"}
    place = {"service": "activeconnect", "endpoint": "has_registered_mobile_device", "outcome": "ok"}
    [calls] = [p for p in points["deviceauth.calls"] if dict(p.attributes or {}) == place]
    assert calls.value == counter(telemetry.metrics(), "deviceauth.calls", list(place.items())) >= 1
    # The duration histogram gets each call's duration as its span record arrives.
    deadline = time.monotonic() + 5
    while "deviceauth.call.duration" not in points and time.monotonic() < deadline:
        time.sleep(0.05)
        for resource in (reader.get_metrics_data() or data).resource_metrics:
            for scope in resource.scope_metrics:
                points.update({metric.name: list(metric.data.data_points) for metric in scope.metrics})
    durations = [p for p in points["deviceauth.call.duration"] if dict(p.attributes or {}) == {k: place[k] for k in ("service", "endpoint")}]
    assert durations and durations[0].count >= 1 and durations[0].sum >= 0
