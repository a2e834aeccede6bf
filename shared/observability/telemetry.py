"""Metrics and traces, with the ecosystem's own tools.

Metrics: Prometheus (`prometheus_client`), served at `/metrics` on the health port:
FastStream's own (its Prometheus middleware on the broker: deliveries received and
processed; the relay publishes facts below FastStream) and Convene's:

- `convene_events_total{service,event_type,outcome}`: deliveries applied, duplicate,
  rejected, parked, retrying, dead-lettered;
- `convene_handler_seconds{service,event_type}`: time to apply one event (its transaction);
- `convene_facts_published_total{exchange}`: facts the outbox relay published, confirmed;
- `convene_outbox_pending{service}`, `convene_outbox_oldest_seconds{service}`: facts not
  yet published, and how long the oldest has waited;
- `convene_timers_due{service}`, `convene_timers_late_seconds{service}`: timers whose due
  time has passed and that have not fired, and how late the oldest is;
- `convene_events_waiting{service}`: events parked until the one they depend on arrives.

Traces: OpenTelemetry. The outbox relay traces each fact it publishes, and FastStream's
telemetry middleware each receive;
Convene traces each event it applies, as a child of the trace context the event carries
in the CloudEvents distributed tracing extension (`traceparent`, `tracestate`), and puts
the context of that span on every fact it causes. So one conference's flow through the
CRM and the three services is one trace. `CONVENE_TRACING=console` prints spans;
`otlp` sends them to `OTEL_EXPORTER_OTLP_ENDPOINT` (needs the `otlp` extra).

Span and metric attributes are ids and types only, never personal data.
"""

import functools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

PROPAGATOR = TraceContextTextMapPropagator()
TRACER = trace.get_tracer("convene")

EVENTS = Counter(
    "convene_events",
    "Deliveries by service, event type and outcome.",
    ["service", "event_type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "convene_handler_seconds",
    "Time to apply one event, its transaction included.",
    ["service", "event_type"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
GROUP_DELIVERIES = Histogram(
    "convene_group_commit_deliveries",
    "Deliveries applied in one transaction (group commit): 1 when each came alone.",
    ["service"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)
FACTS_PUBLISHED = Counter(
    "convene_facts_published",
    "Facts the outbox relay published and the broker confirmed, by exchange.",
    ["exchange"],
)
OUTBOX_PENDING = Gauge("convene_outbox_pending", "Facts not yet published.", ["service"])
OUTBOX_OLDEST = Gauge(
    "convene_outbox_oldest_seconds", "How long the oldest unpublished fact has waited.", ["service"]
)
TIMERS_DUE = Gauge("convene_timers_due", "Timers past their due time, not fired.", ["service"])
TIMERS_LATE = Gauge(
    "convene_timers_late_seconds",
    "How far past its due time the oldest such timer is.",
    ["service"],
)
WAITING = Gauge("convene_events_waiting", "Events waiting for one they depend on.", ["service"])


# A metric's child for a set of labels, looked up once (prometheus_client validates the
# labels and takes a lock on every `labels()` call: per delivery, that adds up).
_events = functools.cache(EVENTS.labels)
_handler_seconds = functools.cache(HANDLER_SECONDS.labels)


def registry() -> CollectorRegistry:
    """The registry `/metrics` serves (FastStream's middleware registers there too)."""
    return REGISTRY


def configure_tracing(exporter: str, service: str) -> None:
    """Install the OpenTelemetry SDK's tracer provider for `console` or `otlp`; `none`
    leaves the API's no-op provider (or one a test installed)."""
    if exporter == "none":
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SpanExporter,
    )

    chosen: SpanExporter
    if exporter == "console":
        chosen = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # type: ignore[import-not-found]
            OTLPSpanExporter,
        )

        chosen = OTLPSpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": f"convene-{service}"}))
    provider.add_span_processor(BatchSpanProcessor(chosen))
    trace.set_tracer_provider(provider)


def tracing_installed() -> bool:
    """True when a tracer provider records spans (`console`, `otlp`, or one a test installed);
    False with the API's default, whose spans are no-ops."""
    provider = trace.get_tracer_provider()
    return not isinstance(provider, (trace.ProxyTracerProvider, trace.NoOpTracerProvider))


def carried_context(envelope: Any) -> otel_context.Context:
    """The trace context an event carries (CloudEvents `traceparent`, `tracestate`)."""
    carrier = {}
    if getattr(envelope, "traceparent", None):
        carrier["traceparent"] = envelope.traceparent
        if getattr(envelope, "tracestate", None):
            carrier["tracestate"] = envelope.tracestate
    return PROPAGATOR.extract(carrier)


def current_trace() -> dict[str, str]:
    """The current span's context as CloudEvents extension attributes (empty if none)."""
    carrier: dict[str, str] = {}
    PROPAGATOR.inject(carrier)
    return {k: v for k, v in carrier.items() if k in ("traceparent", "tracestate")}


@contextmanager
def applying(service: str, envelope: Any) -> Iterator[Span]:
    """A span for applying one event, child of the context the event carries. With no
    tracer provider recording spans, only the carried context is made current (what the
    API's no-op span would have done, without building one), so the facts still carry it."""
    started = time.perf_counter()
    if not tracing_installed():
        token = otel_context.attach(carried_context(envelope)) if envelope.traceparent else None
        try:
            yield trace.INVALID_SPAN
        finally:
            if token is not None:
                otel_context.detach(token)
        _handler_seconds(service, envelope.type).observe(time.perf_counter() - started)
        return
    with TRACER.start_as_current_span(
        f"{envelope.type} apply",
        context=carried_context(envelope),
        kind=SpanKind.CONSUMER,
        attributes={
            "convene.service": service,
            "messaging.message.id": envelope.id,
            "cloudevents.event_type": envelope.type,
            "convene.tenant": envelope.tenant,
            "convene.subject": envelope.subject,
            "convene.correlationid": envelope.correlationid,
        },
    ) as span:
        yield span
    _handler_seconds(service, envelope.type).observe(time.perf_counter() - started)


@contextmanager
def firing(service: str, timer: Any) -> Iterator[Span]:
    """A span for a timer the scheduler fires, in the trace of the span that set it."""
    carrier = {"traceparent": timer.trace} if timer.trace else {}
    with TRACER.start_as_current_span(
        f"timer {timer.kind} fire",
        context=PROPAGATOR.extract(carrier),
        kind=SpanKind.INTERNAL,
        attributes={
            "convene.service": service,
            "convene.tenant": timer.tenant,
            "convene.subject": timer.subject,
            "convene.correlationid": timer.correlationid,
        },
    ) as span:
        yield span


def publishing(
    exchange: str, routing_key: str, message_id: str, body: bytes
) -> tuple[Span, dict[str, str]]:
    """A span for publishing one fact, in the trace its CloudEvent carries, and the AMQP
    headers that carry this span on to whoever consumes it (W3C trace context, as
    FastStream's telemetry middleware reads them)."""
    carrier: dict[str, str] = {}
    if b'"traceparent"' in body:
        envelope = json.loads(body)
        carrier = {k: envelope[k] for k in ("traceparent", "tracestate") if envelope.get(k)}
    span = TRACER.start_span(
        f"{exchange} publish",
        context=PROPAGATOR.extract(carrier),
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "rabbitmq",
            "messaging.operation": "publish",
            "messaging.destination.name": exchange,
            "messaging.rabbitmq.destination.routing_key": routing_key,
            "messaging.message.id": message_id,
        },
    )
    headers: dict[str, str] = {}
    PROPAGATOR.inject(headers, context=trace.set_span_in_context(span))
    return span, headers


def published(span: Span, failed: BaseException | None) -> None:
    """End a publishing span once the broker has answered."""
    if failed is not None:
        span.set_status(Status(StatusCode.ERROR, type(failed).__name__))
    span.end()


def count(service: str, event_type: str, outcome: str) -> None:
    """One delivery's outcome."""
    _events(service, event_type, outcome).inc()
