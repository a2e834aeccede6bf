"""Metrics and traces: `/metrics` counts what the services do, and one conference's flow,
started by a CRM that sends a trace context, is one trace across the three services
(OpenTelemetry's SDK with its in-memory exporter)."""

import asyncio
import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.app import running
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.infrastructure import free_port
from tests.support.listener import listening
from tests.support.pipeline import pipeline

ALL = ["invitations", "reports", "decisions"]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def spans() -> Iterator[InMemorySpanExporter]:
    """The SDK's tracer provider with an in-memory exporter (installed once a process)."""
    exporter = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter


async def test_one_conference_is_one_trace_across_the_three_services(
    settings: Settings, amqp_url: str, spans: InMemorySpanExporter
) -> None:
    conference = "CONF-TRACE"
    requested = cloud_event(
        "crm.conference.requested.v1", conference, family_conference(conference)
    )
    requested["traceparent"] = f"00-{TRACE_ID}-00f067aa0ba902b7-01"  # the CRM's own span
    async with listening(amqp_url) as listener, running(ALL, settings):
        spans.clear()
        await publish_event(amqp_url, requested)
        await listener.wait_until(lambda seen: len(seen.of_type("reports.report.requested.v1")) > 0)
        await listener.settle()
    applied = [s for s in spans.get_finished_spans() if s.name.endswith(" apply")]
    ours = [s for s in applied if (s.attributes or {}).get("convene.subject") == conference]
    services = {(s.attributes or {}).get("convene.service") for s in ours}
    assert services == set(ALL)
    assert {format(s.context.trace_id, "032x") for s in ours} == {TRACE_ID}
    facts = [e for e in listener.events if e["subject"] == conference and e["source"] != "crm"]
    assert facts and all(e["traceparent"].split("-")[1] == TRACE_ID for e in facts)
    # the broker hops (FastStream's spans for publish and receive) join the same trace
    hops = [s for s in spans.get_finished_spans() if not s.name.endswith(" apply")]
    assert any(format(s.context.trace_id, "032x") == TRACE_ID for s in hops)
    for span in ours:  # ids and types only: no personal data in a span
        assert set(span.attributes or {}) <= {
            "convene.service", "messaging.message.id", "cloudevents.event_type",
            "convene.tenant", "convene.subject", "convene.correlationid",
        }  # fmt: skip


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        assert answer.status == 200
        return str(answer.read().decode())


def _value(text: str, pattern: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if re.match(pattern, line):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def test_metrics_move_as_the_services_work(settings: Settings, amqp_url: str) -> None:
    port = free_port()
    configured = settings.model_copy(update={"health_port": port, "metrics_seconds": 0.2})
    conference = "CONF-METRICS"
    async with listening(amqp_url) as listener, running(ALL, configured):
        before = await asyncio.to_thread(_metrics, port)
        await publish_event(
            amqp_url,
            cloud_event("crm.conference.requested.v1", conference, family_conference(conference)),
        )
        await listener.wait_until(lambda seen: len(seen.of_type("reports.report.requested.v1")) > 0)
        await publish_event(  # data that fails its schema: dead-lettered
            amqp_url, cloud_event("crm.conference.requested.v1", "CONF-BAD", {"kind": "initial"})
        )
        await listener.settle()
        after = await asyncio.to_thread(_metrics, port)
        for _ in range(100):  # until the backlog gauges have been refreshed since the work
            if re.search(r'^convene_outbox_pending\{service="reports"\} 0\.0$', after, re.M):
                break
            await asyncio.sleep(0.05)  # poll for the condition
            after = await asyncio.to_thread(_metrics, port)
        ready = json.loads(
            await asyncio.to_thread(
                lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=5).read()
            )
        )
    applied = r'convene_events_total\{.*event_type="crm.conference.requested.v1".*outcome="applied"'
    assert _value(after, applied) == _value(before, applied) + 3  # each service applied it
    assert _value(after, r'convene_events_total\{.*outcome="dead_lettered"') >= 1
    assert _value(after, r"convene_handler_seconds_count") > _value(
        before, r"convene_handler_seconds_count"
    )
    assert _value(after, r"faststream_received_messages_total") > 0  # FastStream's own
    assert re.search(r'^convene_outbox_pending\{service="reports"\} 0\.0$', after, re.M)
    assert "convene_timers_due" in after and "convene_events_waiting" in after
    assert ready["healthy"] and {"broker", "consumers", "reports_migrated"} <= set(ready["checks"])
    assert "Parent" not in after and conference not in after  # ids of people never in metrics


async def test_without_tracing_the_facts_still_carry_the_crms_trace(
    amqp_url: str, tmp_path: Path
) -> None:
    # The services as deployed, with CONVENE_TRACING=none (no spans are recorded): each fact
    # still carries the trace context of the CRM event that caused it.
    conference = "CONF-UNTRACED"
    requested = cloud_event(
        "crm.conference.requested.v1", conference, family_conference(conference)
    )
    requested["traceparent"] = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
    async with pipeline(amqp_url, None, tmp_path, "t_", processes=["invitations", "reports"]) as (
        _services,
        crm,
    ):
        await publish_event(amqp_url, requested)
        deadline = asyncio.get_running_loop().time() + 30
        while not any(f["type"] == "reports.report.requested.v1" for f in crm.facts):
            assert asyncio.get_running_loop().time() < deadline, "no report requested"
            await asyncio.sleep(0.05)  # poll for the condition
    facts = [f for f in crm.facts if f["subject"] == conference]
    assert {f["source"] for f in facts} == {"invitations", "reports"}
    assert all(f["traceparent"].split("-")[1] == TRACE_ID for f in facts)
