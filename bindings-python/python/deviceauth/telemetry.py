"""Tracing and metrics.

- :func:`metrics`: the process-wide counters, gauge and histogram, as a dict.
- :func:`enable_opentelemetry`: every finished service call becomes an OpenTelemetry
  span (needs ``opentelemetry-api``); :func:`disable_opentelemetry` stops it.

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


def enable_opentelemetry(tracer_provider: Any = None) -> None:
    """Turns each finished service call into a span of ``tracer_provider`` (default: the
    global one of :mod:`opentelemetry.trace`), replacing any earlier setting. The spans
    are ended when the call ends, with its start and end times; they have no parent (the
    call runs on the library's own threads). Raises :class:`ImportError` without
    ``opentelemetry-api``."""
    from opentelemetry import trace

    provider = tracer_provider if tracer_provider is not None else trace.get_tracer_provider()
    tracer = provider.get_tracer("deviceauth", _native.__version__)

    def export(text: str) -> None:
        record = json.loads(text)
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
    """Stops making spans (the default)."""
    _native.set_span_callback(None)
