"""Writes `contracts/examples.json`: one real example event of every type, for the schemas
and the AsyncAPI document.

The examples are what the services actually publish: a family's history (the tests'
fixture: initial conference, review, plan ended) and a second conference that is
rescheduled, gains a child and a participant, receives an event it must refuse and is
cancelled, played through the three services on the real broker (in a vhost of its
own). Ids and times are made stable so the file changes only when the contract does:

    .venv/bin/python -m tests.support.examples
"""

import asyncio
import json
import tempfile
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from contracts.decisions_v1 import ReviewOverdue
from contracts.export import EXAMPLES_FILE, committed_folder
from contracts.registry import EVENT_TYPES
from services.app import running
from shared.broker.topology import declare_all
from shared.messages import new_event, to_body
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_events
from tests.support.history import family_history
from tests.support.infrastructure import private_vhost
from tests.support.listener import listening

SERVICES = ["invitations", "reports", "decisions"]


def _other_conference(tenant: str) -> list[dict[str, Any]]:
    conference = "CONF-OTHER"
    requested = cloud_event(
        "crm.conference.requested.v1", conference, family_conference(conference), tenant=tenant
    )
    requested["time"] = "2026-11-16T09:00:00+00:00"

    report = next(
        e["data"] for e in family_history(tenant) if e["type"] == "crm.report.submitted.v1"
    )

    def event(type_name: str, data: dict[str, Any], at: str) -> dict[str, Any]:
        made = cloud_event(
            type_name, conference, {"conference_id": conference, **data}, tenant=tenant
        )
        made["time"] = at
        return made

    return [
        requested,
        event(
            "crm.conference.rescheduled.v1",
            {"scheduled_start": "2026-11-26T10:00:00+00:00", "reason": "Chair unavailable"},
            "2026-11-17T09:00:00+00:00",
        ),
        event(
            "crm.child.added.v1",
            {
                "child": {
                    "child_id": "C3",
                    "given_name": "D",
                    "family_name": "B",
                    "date_of_birth": "2020-03-04",
                }
            },
            "2026-11-17T10:00:00+00:00",
        ),
        event(
            "crm.participant.added.v1",
            {"participant": {"person_id": "GP", "name": "G", "role": "gp", "agency": "Surgery"}},
            "2026-11-17T11:00:00+00:00",
        ),
        event(  # a report from someone never asked for one: refused, with the reason
            "crm.report.submitted.v1",
            {**report, "report_id": "R-X", "author_person_id": "NOBODY", "agency": "Nowhere"},
            "2026-11-18T09:00:00+00:00",
        ),
        # the id of the request used again for something else: each service says so
        {
            **requested,
            "time": "2026-11-18T10:00:00+00:00",
            "subject": "CONF-ELSE",
            "data": family_conference("CONF-ELSE"),
        },
        event(
            "crm.conference.cancelled.v1",
            {"reason": "Family moved away"},
            "2026-11-19T09:00:00+00:00",
        ),
    ]


def _stable(event: dict[str, Any]) -> dict[str, Any]:
    """The event with ids that do not change from run to run."""
    stable = dict(event)
    stable["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"convene-example/{event['type']}"))
    if stable.get("causationid"):
        stable["causationid"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "convene-example/cause"))
    stable.pop("traceparent", None)
    stable.pop("tracestate", None)
    return stable


async def collect() -> dict[str, dict[str, Any]]:
    """One event of each type, as the services published it."""
    history = family_history("886") + _other_conference("886")
    local = "amqp://guest:guest@127.0.0.1:5672/"
    with private_vhost(local) as url, tempfile.TemporaryDirectory() as folder:
        settings = Settings(  # type: ignore[call-arg]
            AMQP_URL=url, data_dir=Path(folder), timer_quiet_seconds=0.5,
            timer_poll_seconds=0.1, outbox_poll_seconds=0.1, park_retry_seconds=0.5,
            park_expiry_seconds=1.0,
        )  # fmt: skip
        await declare_all(url, {}, [])
        exchanges = ("crm.events", "invitations.events", "reports.events", "decisions.events")
        async with listening(url, exchanges) as listener, running(SERVICES, settings):
            await publish_events(url, history)
            wanted = set(EVENT_TYPES) - {"decisions.review.overdue.v1"}  # written below
            await listener.wait_until(
                lambda seen: wanted <= {e["type"] for e in seen.events}, within=60
            )
            await listener.settle(1.0)
    found: dict[str, dict[str, Any]] = {}
    for event in listener.events:
        found.setdefault(event["type"], _stable(event))
    # A review not held in time needs months of a plan: its example is written here, and
    # checked against its model like every other.
    overdue = new_event(
        type_name="decisions.review.overdue.v1",
        data=ReviewOverdue(
            plan_id="886|F-C1|cpp|2026-11-25", child_id="C1", due_by=date(2027, 2, 25)
        ),
        subject="886|F-C1|cpp|2026-11-25",
        tenant="886",
        correlationid="CONF-2",
        causationid=None,
        time=datetime(2027, 2, 25, 9, tzinfo=UTC),
    )
    found.setdefault(overdue.type, _stable(json.loads(to_body(overdue))))
    return found


def main() -> None:
    found = asyncio.run(collect())
    missing = sorted(set(EVENT_TYPES) - set(found))
    path = committed_folder() / EXAMPLES_FILE
    path.write_text(json.dumps(dict(sorted(found.items())), indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(found)} examples to {path}; no example of: {', '.join(missing) or '-'}")


if __name__ == "__main__":
    main()
