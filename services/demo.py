"""`convene demo`: one family's initial conference, played from the CRM side.

The demo publishes raw CloudEvents to `crm.events` as the council's CRM would,
and prints the timeline of every fact the three services publish back.
"""

import asyncio
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aio_pika
from faststream.rabbit import RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage

from services.app import build_broker, running
from shared.broker.topology import producer_exchange
from shared.clock import ManualClock
from shared.runtime.settings import Settings

TENANT = "886"  # Kent: the policy preset for this LA code applies
SERVICE_PRODUCERS = ("invitations", "reports", "decisions")


@dataclass
class Timeline:
    """Every event seen, in order of arrival."""

    started: float = field(default_factory=time.monotonic)
    rows: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, event: dict[str, Any]) -> None:
        """Record an event."""
        self.rows.append((time.monotonic() - self.started, event))
        self.changed.set()

    def count(self, type_name: str) -> int:
        """How many events of a type were seen."""
        return sum(1 for _, e in self.rows if e.get("type") == type_name)

    async def wait_for(self, type_name: str, count: int = 1, within: float = 20.0) -> None:
        """Wait until `count` events of a type have arrived."""
        try:
            async with asyncio.timeout(within):
                while self.count(type_name) < count:
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise TimeoutError(f"waited {within}s for {count} x {type_name}") from None


RESPONSES: list[tuple[str, dict[str, Any], str]] = [
    ("P-SW", {"response": "attending"}, "2026-11-17T10:00:00+00:00"),
    ("P-POL", {"response": "attending"}, "2026-11-18T11:00:00+00:00"),
    ("P-SCH", {"response": "apologies"}, "2026-11-18T12:00:00+00:00"),
    ("P-HV", {"response": "attending"}, "2026-11-19T09:00:00+00:00"),
    (
        "P-MUM",
        {
            "response": "attending",
            "supporter": {"name": "Friend", "relationship": "friend"},
        },
        "2026-11-24T08:00:00+00:00",
    ),
]
"""Who answers the invitation, how, and when (the mother names a supporter late)."""


def crm_event(type_name: str, subject: str, data: dict[str, Any], at: str) -> dict[str, Any]:
    """A CloudEvent exactly as the CRM writes it."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "crm",
        "type": type_name,
        "time": at,
        "subject": subject,
        "tenant": TENANT,
        "correlationid": subject,
        "causationid": None,
        "datacontenttype": "application/json",
        "data": data,
    }


def scenario(conference_id: str) -> dict[str, dict[str, Any]]:
    """One family, two children; the conference is set two working days past its target."""
    venue = {
        "mode": "hybrid",
        "address": "Civic Centre, Room 4",
        "join_url": "https://meet.example/c1",
    }
    professionals = [
        ("P-SW", "social_worker", "Children's Social Care"),
        ("P-POL", "police", "Kent Police"),
        ("P-HV", "health_visitor", "Community Health"),
        ("P-SCH", "school", "Oak Primary School"),
    ]
    participants = [
        {
            "person_id": "P-MUM",
            "name": "Parent One",
            "role": "parent",
            "child_ids": ["C-1", "C-2"],
            "has_parental_responsibility": True,
            "lives_with_child": True,
            "language": "ar",
            "needs_interpreter": True,
        },
        {
            "person_id": "P-DAD",
            "name": "Parent Two",
            "role": "parent",
            "child_ids": ["C-1", "C-2"],
            "has_parental_responsibility": True,
            "lives_with_child": False,
        },
        *(
            {
                "person_id": pid,
                "name": f"Professional {pid}",
                "role": role,
                "agency": agency,
                "child_ids": ["C-1", "C-2"],
            }
            for pid, role, agency in professionals
        ),
    ]
    document = {"uri": "crm://documents/R-1", "sha256": "a" * 64, "media_type": "application/pdf"}
    return {
        "requested": crm_event(
            "crm.conference.requested.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "kind": "initial",
                "scheduled_start": "2026-11-25T10:00:00+00:00",
                "venue": venue,
                "chair": {"person_id": "P-CHAIR", "name": "Independent Chair"},
                "children": [
                    {
                        "child_id": "C-1",
                        "given_name": "Child",
                        "family_name": "One",
                        "date_of_birth": "2019-03-14",
                        "nhs_number": "9434765919",
                    },
                    {
                        "child_id": "C-2",
                        "given_name": "Child",
                        "family_name": "Two",
                        "date_of_birth": "2023-06-02",
                        "nhs_number": "9434765870",
                    },
                ],
                "participants": participants,
                "strategy_discussion_date": "2026-11-02",
                "section47_start_date": "2026-11-02",
            },
            "2026-11-16T09:00:00+00:00",
        ),
        "sw_report": crm_event(
            "crm.report.submitted.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "report_id": "R-SW",
                "author_person_id": "P-SW",
                "agency": "Children's Social Care",
                "submitted_at": "2026-11-17T16:00:00+00:00",
                "document": document,
                "shareable_with_family": True,
                "sections": [
                    "voice_of_child",
                    "family_strengths",
                    "developmental_needs",
                    "parental_capacity",
                    "wider_factors",
                ],
            },
            "2026-11-17T16:00:00+00:00",
        ),
        "police_report": crm_event(
            "crm.report.submitted.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "report_id": "R-POL",
                "author_person_id": "P-POL",
                "agency": "Kent Police",
                "submitted_at": "2026-11-24T09:30:00+00:00",
                "document": {**document, "uri": "crm://documents/R-POL"},
                "restricted_document": {**document, "uri": "crm://documents/R-POL-restricted"},
                "shareable_with_family": False,
                "sections": ["wider_factors"],
            },
            "2026-11-24T09:30:00+00:00",
        ),
        **{
            f"response_{person}": crm_event(
                "crm.invitation.responded.v1",
                conference_id,
                {"conference_id": conference_id, "person_id": person, **answer},
                at,
            )
            for person, answer, at in RESPONSES
        },
        "exclusion": crm_event(
            "crm.exclusion.decided.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "person_id": "P-DAD",
                "decided_by": "P-CHAIR",
                "decided_at": "2026-11-20T15:00:00+00:00",
                "scope": "whole",
                "grounds": ["risk_of_violence"],
                "reason": "Threats made to the social worker.",
                "alternative_arrangements": ["written views", "separate meeting with the chair"],
                "withhold_reports": False,
            },
            "2026-11-20T15:00:00+00:00",
        ),
        "held": crm_event(
            "crm.conference.held.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "held_on": "2026-11-25",
                "attended": ["P-CHAIR", "P-MUM", "P-SW", "P-POL", "P-HV"],
            },
            "2026-11-25T12:00:00+00:00",
        ),
        "outcome": crm_event(
            "crm.outcome.decided.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "decided_at": "2026-11-25T12:30:00+00:00",
                "decided_by": "P-CHAIR",
                "children": [
                    {
                        "child_id": "C-1",
                        "decision": "child_protection_plan",
                        "categories": ["emotional", "neglect"],
                        "reason": "Risk of significant harm.",
                    },
                    {
                        "child_id": "C-2",
                        "decision": "child_protection_plan",
                        "categories": ["neglect"],
                        "reason": "Risk of significant harm.",
                    },
                ],
                "recommendations": [
                    {
                        "person_id": "P-SW",
                        "agency": "Children's Social Care",
                        "child_id": "C-2",
                        "decision": "child_protection_plan",
                    },
                    {
                        "person_id": "P-SCH",
                        "agency": "Oak Primary School",
                        "child_id": "C-2",
                        "decision": "child_in_need_plan",
                    },
                ],
                "lead_social_worker": "P-SW",
                "core_group": ["P-MUM", "P-DAD", "P-SW", "P-HV", "P-SCH"],
            },
            "2026-11-25T12:30:00+00:00",
        ),
    }


COUNCILS = {
    "878": "Devon",
    "886": "Kent",
    "317": "Redbridge",
    "807": "Redcar and Cleveland",
    "937": "Warwickshire",
}
"""The councils of the shipped policy presets, by DfE LA code."""

WORDS = {
    "initial": "initial",
    "review": "review",
    "transfer_in": "transfer-in",
    "child_protection_plan": "child protection plan",
    "child_in_need_plan": "child in need plan",
    "no_further_action": "no further action",
    "child_protection": "child protection plan",
    "child_in_need": "child in need plan",
    "MUL": "multiple categories",
    "NEG": "neglect",
    "PHY": "physical abuse",
    "EMO": "emotional abuse",
    "SAB": "sexual abuse",
    "whole": "the whole conference",
    "part": "part of the conference",
    "apologies": "sends apologies",
    "not_shareable_before_conference": "not to be shared before the conference",
    "parental_responsibility_not_invited": "someone with parental responsibility is not invited",
    "interpreter_needed": "an interpreter is needed and none is invited",
    "excluded": "excluded by the chair",
}
"""Plain words for the contract's codes; any other code is shown with spaces."""


def word(code: object) -> str:
    """A code as a person reads it."""
    text = str(code)
    return WORDS.get(text, text.replace("_", " "))


def words(codes: list[Any]) -> str:
    """Codes as a list a person reads ("-" for none)."""
    return ", ".join(word(code) for code in codes) or "-"


def yes(value: object) -> str:
    """A yes/no answer."""
    return "yes" if value else "no"


LONDON = ZoneInfo("Europe/London")


def when(value: str) -> str:
    """A date or a moment, in one format, in London time: `Wed 25 Nov 2026 10:00`."""
    if "T" not in value:
        return date.fromisoformat(value).strftime("%a %d %b %Y")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(LONDON)
    return moment.strftime("%a %d %b %Y %H:%M")


FACTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "crm.conference.requested.v1": lambda d: (
        f"{word(d['kind'])} conference for {len(d['children'])} children, "
        f"{len(d['participants'])} people invited, on {when(d['scheduled_start'])}"
    ),
    "crm.report.submitted.v1": lambda d: f"{d['agency']} sends report {d['report_id']}",
    "crm.invitation.responded.v1": lambda d: f"{d['person_id']}: {word(d['response'])}",
    "crm.exclusion.decided.v1": lambda d: (
        f"the chair excludes {d['person_id']} from {word(d['scope'])}"
    ),
    "reports.report.shared.v1": lambda d: (
        f"{d['report_id']} sent to {d['recipient_person_id']} ({word(d['recipient_role'])})"
        f"{', restricted part included' if d['includes_restricted'] else ''}"
        f"{'' if d['on_time'] else ', later than the policy asks'}"
    ),
    "reports.report.withheld.v1": lambda d: (
        f"{d['report_id']} not sent to {d['recipient_person_id']}: {word(d['reason'])}"
    ),
    "reports.reminder.sent.v1": lambda d: (
        f"{d['author_person_id']} reminded: report due to the chair {when(d['due_to_chair'])}"
        + (
            f", and the family's copy before that, by {when(d['share_with_family_by'])}"
            if d.get("share_with_family_by") and d["share_with_family_by"] < d["due_to_chair"]
            else ""
        )
    ),
    "reports.report.overdue.v1": lambda d: (
        f"{d['agency']} report not in by the {d.get('deadline', 'chair')}'s deadline "
        f"({when(d.get('due_by') or d['due_to_chair'])}); told {', '.join(d['notify'])}"
    ),
    "reports.readiness.assessed.v1": lambda d: (
        f"reports received: {', '.join(d['received']) or 'none'}; "
        f"missing: {', '.join(d['missing']) or 'none'}; "
        f"family had them on time: {yes(d['family_shared_on_time'])}"
    ),
    "crm.conference.held.v1": lambda d: f"conference held on {when(d['held_on'])}",
    "crm.outcome.decided.v1": lambda d: "; ".join(
        f"{c['child_id']}: {word(c['decision'])}" for c in d["children"]
    ),
    "invitations.invitation.issued.v1": lambda d: (
        f"{d['person_id']} ({word(d['role'])}) invited, version {d['revision']}, "
        f"reply by {when(d['respond_by'])}"
        + (f", needs an interpreter ({d['language']})" if d.get("needs_interpreter") else "")
    ),
    "invitations.response.recorded.v1": lambda d: (
        f"{d['person_id']}: {word(d['response'])}"
        + (
            f", bringing a supporter{' (told us late)' if d['supporter_notice_late'] else ''}"
            if d.get("supporter")
            else ""
        )
    ),
    "invitations.quorum.assessed.v1": lambda d: (
        ("quorate" if d["quorate"] else "not quorate yet")
        + f": attending {', '.join(d['agencies_attending']) or 'nobody yet'}"
        + (f" ({d['missing']})" if d["missing"] else "")
    ),
    "invitations.exclusion.recorded.v1": lambda d: (
        f"{d['person_id']} excluded from {word(d['scope'])} by {d['decided_by']}, because of "
        f"{words(d['grounds'])}"
    ),
    "invitations.invitation.withdrawn.v1": lambda d: (
        f"invitation to {d['person_id']} withdrawn: {word(d['reason'])}"
    ),
    "invitations.attendance.advised.v1": lambda d: (
        "; ".join(word(a["code"]) for a in d["advice"]) or "nobody missing"
    ),
    "invitations.timescale.breached.v1": lambda d: (
        f"should be held by {when(d['target_date'])}, booked for "
        f"{when(d['scheduled_date'])}: {d['working_days_late']} working days late"
    ),
    "reports.report.requested.v1": lambda d: (
        f"{d['agency']} asked for a report: to the chair by {when(d['due_to_chair'])}, "
        f"to the family by {when(d['share_with_family_by'])}"
        + (" (short notice)" if d["short_notice"] else "")
    ),
    "reports.report.received.v1": lambda d: (
        f"{d['agency']} report received "
        f"{'on time' if d['on_time'] else 'late'}"
        + (f", without: {words(d['missing_sections'])}" if d["missing_sections"] else "")
    ),
    "decisions.outcome.recorded.v1": lambda d: (
        "; ".join(
            f"{c['child_id']}: {word(c['decision'])}"
            + (f" ({word(c['census_category'])})" if c["census_category"] else "")
            for c in d["children"]
        )
        + f"; {len(d['dissent'])} disagreed; quorate: {yes(d['quorate'])}"
    ),
    "decisions.plan.started.v1": lambda d: (
        f"{d['child_id']}: {word(d['plan_type'])} ({word(d['category'])}) "
        f"from {when(d['start_date'])}"
    ),
    "decisions.review.due.v1": lambda d: (
        f"{d['child_id']}: review conference by {when(d['due_by'])}"
    ),
    "decisions.core_group.due.v1": lambda d: (
        f"core group of {len(d['members'])} to meet by {when(d['due_by'])}"
    ),
}

PRODUCER_ORDER = {"crm": 0, "invitations": 1, "reports": 2, "decisions": 3}


def council(tenant: str) -> str:
    """A council's code with its name beside it, where known."""
    name = COUNCILS.get(tenant)
    return f"{tenant} ({name})" if name else tenant


def render(timeline: Timeline) -> str:
    """The timeline as a council user reads it: in time order (the CRM's facts first at the
    same moment, then each service's), one date format, London time, plain words."""
    rows = []
    for _elapsed, event in timeline.rows:
        describe = FACTS.get(event["type"])
        facts = describe(event["data"]) if describe else ""
        name = event["type"].split(".", 1)[1].removesuffix(".v1")
        moment = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).astimezone(UTC)
        rank = PRODUCER_ORDER.get(event["source"], 9)
        rows.append((moment, rank, name, facts, event["source"]))
    lines = [f"{'when (London)':<21}  {'from':<12} {'event':<22} what happened", "-" * 110]
    for moment, _rank, name, facts, source in sorted(rows):
        lines.append(f"{when(moment.isoformat()):<21}  {source:<12} {name:<22} {facts}")
    return "\n".join(lines)


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
