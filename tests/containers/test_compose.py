"""The secured deployment as ops teams run it: deploy/compose.yaml with the images
`make images` builds from Debian's and PyPI's packages (the broker provisioned from
definitions and secrets, PostgreSQL, the three services each as its own broker user), the
demo's conference played through it by a CRM logged in as `crm`."""

import asyncio
import json
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from contracts.envelope import CloudEvent
from contracts.registry import event_type
from services.demo.story import scenario
from tests.support.compose import compose_command, deployed
from tests.support.infrastructure import docker_engine_available

pytestmark = pytest.mark.skipif(
    not docker_engine_available() or compose_command() is None,
    reason="needs a Docker engine and docker compose (CI installs and starts them)",
)

# What the demo's conference gives whatever the day: facts that follow from the CRM's
# events alone (not from a timer that today's date may or may not have reached).
EXPECTED = {
    "invitations.invitation.issued.v1": 7,
    "reports.report.requested.v1": 4,
    "invitations.response.recorded.v1": 5,
    "invitations.invitation.withdrawn.v1": 1,
    "reports.report.withheld.v1": 2,
    "decisions.outcome.recorded.v1": 1,
    "decisions.decision_notice.due.v1": 6,
    "decisions.core_group.recorded.v1": 2,
    "reports.minutes.shared.v1": 14,
    "reports.minutes.correction_requested.v1": 1,
}


MOMENT = r"\d{4}-\d{2}-\d{2}T[\d:.]+[+-]\d{2}:\d{2}"


def _in_the_past(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The story moved back by whole weeks until its last event is before today (so no event
    is from the future, and every weekday stays the same weekday)."""
    last = max(datetime.fromisoformat(event["time"]) for event in events)
    weeks = max(0, -(-(last - datetime.now(UTC) + timedelta(days=1)).days // 7))
    delta = timedelta(weeks=weeks)

    def shift(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: shift(item) for key, item in value.items()}
        if isinstance(value, list):
            return [shift(item) for item in value]
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return (date.fromisoformat(value) - delta).isoformat()
        if isinstance(value, str) and re.fullmatch(MOMENT, value):
            return (datetime.fromisoformat(value) - delta).isoformat()
        return value

    return [shift(event) for event in events]


async def _play(url: str, events: list[dict[str, Any]]) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        crm = await channel.get_exchange("crm.events", ensure=False)
        for event in events:
            await crm.publish(
                aio_pika.Message(
                    json.dumps(event).encode(), content_type="application/cloudevents+json",
                    message_id=event["id"], type=event["type"], user_id="crm",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=event["type"],
            )  # fmt: skip


async def _facts(url: str, expected: dict[str, int], within: float) -> list[dict[str, Any]]:
    """The CRM's queue, read until every expected count is reached (then 2 s more)."""
    facts: list[dict[str, Any]] = []
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue("crm.facts", ensure=False)
        loop = asyncio.get_running_loop()
        deadline, settled = loop.time() + within, None
        while loop.time() < deadline and (settled is None or loop.time() < settled):
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.1)  # poll the CRM's queue
                continue
            facts.append(json.loads(message.body))
            await message.ack()
            seen = Counter(fact["type"] for fact in facts)
            if settled is None and all(seen[kind] >= n for kind, n in expected.items()):
                settled = loop.time() + 2.0
    return facts


def test_the_demos_conference_through_the_compose_deployment(tmp_path: Path) -> None:
    conference = "CONF-COMPOSE-1"
    story = _in_the_past(sorted(scenario(conference).values(), key=lambda e: e["time"]))
    with deployed(tmp_path) as deployment:
        ready = deployment.wait_ready()
        assert {service: answer["healthy"] for service, answer in ready.items()} == {
            "invitations": True, "reports": True, "decisions": True,
        }  # fmt: skip
        assert {answer["version"] for answer in ready.values()} == {"0.2.0"}
        asyncio.run(_play(deployment.amqp_url("crm"), story))
        facts = asyncio.run(_facts(deployment.amqp_url("crm"), EXPECTED, within=180))
        queues = deployment.queues()
        show = deployment.exec("reports", "convene", "show", conference, "--tenant", "886")
        shown = deployment.exec(
            "reports", "convene", "show", conference, "--tenant", "886", "--json"
        )

    counts = Counter(fact["type"] for fact in facts)
    print(f"\n{len(story)} CRM events in ({story[0]['time']} to {story[-1]['time']}), "
          f"{len(facts)} facts out:")  # fmt: skip
    for kind, count in sorted(counts.items()):
        print(f"  {count:3} {kind}")
    print("queues:", queues)
    print(show.stdout)
    assert {kind: counts[kind] for kind in EXPECTED} == EXPECTED
    assert len({fact["id"] for fact in facts}) == len(facts), "a fact published twice"
    for fact in facts:
        kind = event_type(fact["type"])  # every fact as the contract says
        assert kind is not None, fact["type"]
        kind.model.model_validate(CloudEvent.model_validate(fact).data)
        assert fact["tenant"] == "886"
        assert conference in (fact["subject"], fact["correlationid"]), fact
    assert counts["reports.input.rejected.v1"] + counts["decisions.input.rejected.v1"] == 0
    dead = {name: n for name, n in queues.items() if name.endswith(".dlq") and n}
    assert dead == {}, f"dead letters: {dead}"
    assert show.returncode == 0, show.stderr
    assert shown.returncode == 0, shown.stderr
    print(shown.stdout)
    story_told = json.loads(shown.stdout)
    assert conference in json.dumps(story_told) and "P-DAD" in show.stdout
