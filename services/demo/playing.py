"""`convene demo`: one family's initial conference, played from the CRM side.

The demo publishes raw CloudEvents to `crm.events` as the council's CRM would,
and prints the timeline of every fact the three services publish back (`telling`)."""

import asyncio
import json
import logging
import tempfile
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import aio_pika
from faststream.rabbit import RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage

from services.app import build_broker, running
from services.demo.story import TENANT, scenario
from services.demo.telling import Timeline, council, render
from shared.broker.topology import producer_exchange
from shared.clock import ManualClock
from shared.runtime.settings import Settings

SERVICE_PRODUCERS = ("invitations", "reports", "decisions")


def attach_timeline(broker: RabbitBroker, timeline: Timeline, correlationid: str) -> None:
    """Subscribe a private, auto-deleted queue to every exchange (the CRM's view)."""
    queue_name = f"demo.timeline.{uuid.uuid4().hex[:8]}"

    async def seen(message: RabbitMessage) -> None:
        event = json.loads(message.raw_message.body)
        if event.get("correlationid") == correlationid:
            timeline.add(event)

    for producer in ("crm", *SERVICE_PRODUCERS):
        queue = RabbitQueue(queue_name, auto_delete=True, routing_key="#")
        broker.subscriber(queue, producer_exchange(producer), include_in_schema=False)(seen)


async def broker_answers(url: str, within: float = 3.0) -> bool:
    """True when a RabbitMQ broker accepts a connection at the URL."""
    quiet = [logging.getLogger(name) for name in ("aiormq", "aio_pika")]
    levels = [logger.level for logger in quiet]
    for logger in quiet:  # a refused probe is an answer, not an error
        logger.setLevel(logging.CRITICAL)
    try:
        async with asyncio.timeout(within):
            connection = await aio_pika.connect(url)
    except Exception:
        return False
    finally:
        for logger, level in zip(quiet, levels, strict=True):
            logger.setLevel(level)
    await connection.close()
    return True


async def play(settings: Settings, *, in_memory: bool, say: Callable[[str], None]) -> Timeline:
    """Run the three services, play the scenario, return the timeline."""
    conference_id = f"CONF-DEMO-{uuid.uuid4().hex[:6].upper()}"
    events = scenario(conference_id)
    timeline = Timeline()
    broker = build_broker(settings)
    attach_timeline(broker, timeline, conference_id)
    crm = RabbitExchange("crm.events", type=producer_exchange("crm").type, durable=True)

    clock = ManualClock(datetime.fromisoformat(events["requested"]["time"]))
    async with running(
        SERVICE_PRODUCERS, settings, in_memory=in_memory, broker=broker, clock=clock
    ) as app:

        async def move_clock(to: str) -> None:
            clock.set(max(clock.now(), datetime.fromisoformat(to)))

        async def publish(key: str) -> None:
            event = events[key]
            await move_clock(event["time"])  # the CRM sends each fact as it happens
            await app.broker.publish(
                json.dumps(event).encode(),
                exchange=crm,
                routing_key=event["type"],
                persist=True,
                message_id=event["id"],
                message_type=event["type"],
                content_type="application/cloudevents+json",
            )

        say(f"Playing conference {conference_id} for council {council(TENANT)} ...")
        await publish("requested")
        await timeline.wait_for("reports.report.requested.v1", 4)
        await timeline.wait_for("invitations.invitation.issued.v1", 7)
        await publish("response_P-SW")
        await timeline.wait_for("invitations.response.recorded.v1")
        await publish("sw_report")
        await timeline.wait_for("reports.report.shared.v1", 3)  # chair and both parents
        await move_clock("2026-11-18T09:05:00+00:00")  # two working days before the deadline
        await timeline.wait_for("reports.reminder.sent.v1", 3)
        for answered, person in enumerate(("P-POL", "P-SCH", "P-HV"), start=2):
            await publish(f"response_{person}")
            await timeline.wait_for("invitations.response.recorded.v1", answered)
        await publish("exclusion")
        await timeline.wait_for("invitations.invitation.withdrawn.v1")
        await timeline.wait_for("invitations.attendance.advised.v1")
        await move_clock("2026-11-23T09:05:00+00:00")  # the next working day after the deadline
        await timeline.wait_for("reports.report.overdue.v1", 3)
        await timeline.wait_for("reports.readiness.assessed.v1")
        await publish("response_P-MUM")
        await publish("police_report")
        await timeline.wait_for("reports.report.withheld.v1", 2)
        await publish("held")
        # five responses, and the check one working day before
        await timeline.wait_for("invitations.quorum.assessed.v1", 6)
        await publish("outcome")
        await timeline.wait_for("decisions.core_group.due.v1")
        await timeline.wait_for("decisions.review.due.v1", 2)
        # the father was excluded without reports withheld: he is told the decision too
        await timeline.wait_for("decisions.decision_notice.due.v1", 6)
        await publish("core_group_1")
        await timeline.wait_for("decisions.core_group.due.v1", 2)
        await publish("plan_agreed")
        await publish("minutes_1")  # the chair, four professionals and both parents
        await timeline.wait_for("reports.minutes.shared.v1", 7)
        await publish("correction")
        await timeline.wait_for("reports.minutes.correction_requested.v1")
        await publish("answer")
        await publish("minutes_2")
        await timeline.wait_for("reports.minutes.shared.v1", 14)
        await move_clock("2026-12-21T09:05:00+00:00")  # the school's action was due the 18th
        await timeline.wait_for("decisions.plan_action.overdue.v1")
        await publish("core_group_2")
        await timeline.wait_for("decisions.core_group.due.v1", 3)
    return timeline


async def run_demo(settings: Settings, *, in_memory: bool, say: Callable[[str], None]) -> int:
    """The `convene demo` command; returns the exit code."""
    if not in_memory and not await broker_answers(settings.amqp_url):
        say(
            f"No RabbitMQ broker answered at {_safe_url(settings.amqp_url)}: running the three "
            "services in one process on FastStream's in-memory broker instead."
        )
        in_memory = True
    mode = (
        "FastStream's in-memory broker"
        if in_memory
        else f"RabbitMQ at {_safe_url(settings.amqp_url)}"
    )
    say(f"Convene demo on {mode}; each service's database is a fresh SQLite file.")
    with tempfile.TemporaryDirectory(prefix="convene-demo-") as folder:
        demo_settings = settings.model_copy(
            update={
                "data_dir": Path(folder),
                "database_url": None,
                "invitations_database_url": None,
                "reports_database_url": None,
                "decisions_database_url": None,
                "outbox_poll_seconds": 0.2,
                "timer_poll_seconds": 0.1,
                "timer_quiet_seconds": 0.3,
                "log_level": settings.log_level,
            }
        )
        timeline = await play(demo_settings, in_memory=in_memory, say=say)
    say(render(timeline))
    producers = {event["source"] for _, event in timeline.rows}
    say(f"\n{len(timeline.rows)} events from {', '.join(sorted(producers))}.")
    return 0


def _safe_url(url: str) -> str:
    """The broker URL without its password."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme}://{host}:{parts.port or 5672}{parts.path}"
