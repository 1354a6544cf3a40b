"""Tracing and metrics.

- :func:`metrics`: the process-wide counters, gauge and histogram, as a dict.
- :func:`enable_opentelemetry`: every finished service call becomes an OpenTelemetry
  span and a value of the ``deviceauth.call.duration`` histogram, and the counters and
  gauge become observable instruments (needs ``opentelemetry-api``);
  :func:`disable_opentelemetry` stops the spans and the histogram's values.

Span names are ``<service>.<endpoint>`` (``activeconnect.authenticate_user``,
``activeconnect.status``, ``projectinsight.complete_device_activation``, ...). No span or
metric ever holds a secret; a session token shows only as the first 8 hex digits of its
SHA-256 (``deviceauth.session``). The log records keep going to :mod:`logging`.
"""

from __future__ import annotations

import json
from typing import Any

from . import _native

__all__ = ["metrics", "enable_opentelemetry", "disable_opentelemetry"]


def metrics() -> dict[str, Any]:
    """The value of every instrument now: ``{"counters": [...], "gauges": [...],
    "histograms": [...]}``, each entry with ``name`` and ``attributes`` (see the README's
    "Tracing and metrics")."""
    snapshot: dict[str, Any] = json.loads(_native.metrics_json())
    return snapshot


def enable_opentelemetry(tracer_provider: Any = None, meter_provider: Any = None) -> None:
    """Turns each finished service call into a span of ``tracer_provider`` (default: the
    global one of :mod:`opentelemetry.trace`), replacing any earlier setting. The spans
    are ended when the call ends, with its start and end times; they have no parent (the
    call runs on the library's own threads). The counters and the gauge of :func:`metrics`
    become observable instruments of ``meter_provider`` (default: the global one of
    :mod:`opentelemetry.metrics`; once per provider), read from the snapshot at each
    collection; each call's duration goes to its histogram ``deviceauth.call.duration``
    (ms, by service and endpoint) as the call ends. Raises :class:`ImportError` without
    ``opentelemetry-api``."""
    from opentelemetry import trace

    duration = _observe_metrics(meter_provider)

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    tracer = provider.get_tracer("deviceauth", _native.__version__)

    def export(text: str) -> None:
        record = json.loads(text)
        attributes = record["attributes"]
        place = {"service": attributes["deviceauth.service"], "endpoint": attributes["deviceauth.endpoint"]}
        duration.record(attributes["deviceauth.duration_ms"], place)
        span = tracer.start_span(
            record["name"],
            kind=trace.SpanKind.CLIENT,
            start_time=record["start_unix_nano"],
            attributes=record["attributes"],
        )
        for event in record["events"]:
            span.add_event(event["name"], attributes=event["attributes"], timestamp=event["time_unix_nano"])
        if record["error"] is None:
            span.set_status(trace.Status(trace.StatusCode.OK))
        else:
            span.set_status(trace.Status(trace.StatusCode.ERROR, record["error"]))
        span.end(end_time=record["end_unix_nano"])

    _native.set_span_callback(export)


def disable_opentelemetry() -> None:
    """Stops making spans and histogram values (the default). Observable instruments, once
    registered, stay."""
    _native.set_span_callback(None)


#: Meter providers the instruments are registered with already (by id: the provider, kept
#: alive here, and its duration histogram).
_observed: dict[int, tuple[Any, Any]] = {}


def _observe_metrics(meter_provider: Any) -> Any:
    """Registers the instruments with the provider (once); its duration histogram."""
    from opentelemetry import metrics as otel_metrics

    provider = meter_provider if meter_provider is not None else otel_metrics.get_meter_provider()
    if id(provider) in _observed:
        return _observed[id(provider)][1]
    meter = provider.get_meter("deviceauth", _native.__version__)
    duration = meter.create_histogram(
        "deviceauth.call.duration", unit="ms", description="Service calls' durations, by service and endpoint."
    )
    _observed[id(provider)] = (provider, duration)

    def observe(kind: str, name: str) -> Any:
        def callback(options: Any) -> Any:
            for point in metrics()[kind]:
                if point["name"] == name:
                    yield otel_metrics.Observation(point["value"], point["attributes"])

        return callback

    for name, description in _COUNTERS.items():
        meter.create_observable_counter(name, callbacks=[observe("counters", name)], description=description)
    meter.create_observable_up_down_counter(
        "deviceauth.monitor.sessions",
        callbacks=[observe("gauges", "deviceauth.monitor.sessions")],
        description="Sessions the process's monitors are watching now.",
    )
    return duration


_COUNTERS = {
    "deviceauth.calls": "Service calls finished, by service, endpoint and outcome.",
    "deviceauth.retries": "Retries sent, by service and endpoint.",
    "deviceauth.monitor.status_changes": "Status changes monitors saw, by the new status.",
    "deviceauth.monitor.unreachable": "Sessions monitors gave up on as unreachable.",
    "deviceauth.rate_limited": "Attempts refused for rate, by source (attempt_limit, service).",
}
