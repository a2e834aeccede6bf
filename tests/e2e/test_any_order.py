"""Same events, same facts, in any order: two councils' family histories (and a conference
brought forward past its deadlines, with a child and an agency added late) published in
random interleavings that keep each conference's own order, the services' clock a random few
minutes behind the CRM's (within the tolerance), give exactly the facts of the history
played in order.

`make test` plays CONVENE_ORDER_EXAMPLES (default 2) interleavings from a fixed seed
(CONVENE_ORDER_SEED); `make test-order` plays more."""

import os
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from services.app import DEFINITIONS, running
from shared.broker.topology import declare_all
from shared.clock import ManualClock
from shared.runtime.settings import Settings
from tests.e2e.test_order_and_councils import ALL, END, facts
from tests.support.crm import cloud_event, family_conference, publish_events
from tests.support.history import family_history
from tests.support.listener import Listener, listening

EXAMPLES = int(os.environ.get("CONVENE_ORDER_EXAMPLES", "2"))
SEED = int(os.environ.get("CONVENE_ORDER_SEED", "20261205"))


def _time(event: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(event["time"].replace("Z", "+00:00"))


def interleaving(events: list[dict[str, Any]], rng: random.Random) -> list[dict[str, Any]]:
    """A random merge of the histories' streams, each kept in its own order: a stream is a
    council's conference; an event about a child outside any conference (a plan ended)
    stays after every event published before it."""
    streams: dict[tuple[str, str], list[dict[str, Any]]] = {}
    fixed: list[tuple[int, dict[str, Any]]] = []
    for position, event in enumerate(events):
        conference = event["data"].get("conference_id")
        if conference is None:
            fixed.append((position, event))
        else:
            streams.setdefault((event["tenant"], conference), []).append(event)
    merged: list[dict[str, Any]] = []
    queues = [list(stream) for stream in streams.values()]
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        merged.append(queue.pop(0))
    for _position, event in fixed:  # after everything the CRM had published before it
        merged.append(event)
    return merged


def brought_forward(tenant: str) -> list[dict[str, Any]]:
    """A third conference of each council that a real CRM makes hard: two reports in, then
    moved forward past its deadlines, a child and an agency added after that, then held and
    decided."""
    conference = "CONF-3"
    requested = family_conference(
        conference,
        scheduled_start="2025-12-17T10:00:00+00:00",
        strategy_discussion_date="2025-11-28",
        children=[{"child_id": "C9", "given_name": "G", "family_name": "H",
                   "date_of_birth": "2016-04-04"}],
    )  # fmt: skip
    document = {"uri": "crm://r", "sha256": "d" * 64, "media_type": "application/pdf"}

    def event(type_name: str, at: str, **data: Any) -> dict[str, Any]:
        return cloud_event(
            type_name, conference, {"conference_id": conference, **data}, time=at, tenant=tenant
        )

    def report(author: str, agency: str, at: str) -> dict[str, Any]:
        return event("crm.report.submitted.v1", at, report_id=f"R3-{author}",
                     author_person_id=author, agency=agency, submitted_at=at, document=document,
                     sections=["voice_of_child", "parental_capacity"])  # fmt: skip

    return [
        cloud_event("crm.conference.requested.v1", conference, requested,
                    time="2025-12-01T09:00:00Z", tenant=tenant),
        report("SW", "Children's Social Care", "2025-12-03T10:00:00+00:00"),
        report("POL", "Police", "2025-12-05T11:00:00+00:00"),
        event("crm.conference.rescheduled.v1", "2025-12-08T12:40:00Z",
              scheduled_start="2025-12-09T10:00:00+00:00", reason="risk escalated"),
        event("crm.child.added.v1", "2025-12-08T14:00:00Z",
              child={"child_id": "C10", "given_name": "I", "family_name": "H",
                     "date_of_birth": "2019-02-02"}),
        event("crm.participant.added.v1", "2025-12-08T15:00:00Z",
              participant={"person_id": "GP", "name": "G", "role": "gp", "agency": "Surgery"}),
        event("crm.conference.held.v1", "2025-12-09T12:00:00Z", held_on="2025-12-09",
              attended=["CHAIR", "SW", "POL", "MW"]),
        event("crm.outcome.decided.v1", "2025-12-09T12:30:00Z",
              decided_at="2025-12-09T12:30:00+00:00", decided_by="CHAIR",
              children=[{"child_id": "C9", "decision": "child_protection_plan",
                         "categories": ["neglect"]},
                        {"child_id": "C10", "decision": "child_in_need_plan",
                         "categories": []}]),
    ]  # fmt: skip


async def played(
    settings: Settings, url: str, events: list[dict[str, Any]], behind: timedelta
) -> Listener:
    """The events in one burst, the services' clock `behind` the last event's time (so the
    last events look a little ahead of it); once quiet, the clock moves past the history and
    the timers still due fire."""
    clock = ManualClock(max(_time(e) for e in events) - behind)
    async with listening(url) as listener:
        await declare_all(
            url,
            {name: d.event_types for name, d in DEFINITIONS.items()},
            settings.retry_delay_list(),
        )
        await publish_events(url, events)
        async with running(ALL, settings, clock=clock):
            await listener.settle(2.0)
            clock.set(END)
            await listener.settle(2.0)
    return listener


def false_chases_and_early_facts(
    listener: Listener, sent: list[dict[str, Any]]
) -> tuple[int, list[str], list[str]]:
    """Chases sent; those a reader would call false (the report was in by the chase, or the
    chase is dated before its request); facts dated before the event that caused them."""
    received = {
        (e["tenant"], e["data"]["request_id"]): _time(e)
        for e in listener.of_type("reports.report.received.v1")
        if e["data"]["request_id"]
    }
    asked: dict[tuple[str, str], datetime] = {}
    for e in listener.of_type("reports.report.requested.v1"):  # first asked
        key = (e["tenant"], e["data"]["request_id"])
        asked[key] = min(asked.get(key, _time(e)), _time(e))
    chases = listener.of_type("reports.report.overdue.v1")

    def false_chase(chase: dict[str, Any]) -> bool:
        key, at = (chase["tenant"], chase["data"]["request_id"]), _time(chase)
        return (key in received and received[key] <= at) or at < asked.get(key, at)

    false = [f"{c['tenant']} {c['data']['agency']} {c['time']}" for c in chases if false_chase(c)]
    causes = {e["id"]: _time(e) for e in sent}
    early = [
        f"{f['type']} {f['time']}"
        for f in listener.events
        if f.get("causationid") in causes and _time(f) < causes[f["causationid"]]
    ]
    return len(chases), false, early


async def test_any_interleaving_and_skew_gives_the_facts_of_the_ordered_history(
    settings: Settings, fresh_settings: Callable[[], Settings], amqp_url: str, database: str
) -> None:
    councils = ("886", "807")
    history = sorted(  # as the CRMs published them: in time order (a stable merge)
        (e for tenant in councils for e in [*family_history(tenant), *brought_forward(tenant)]),
        key=_time,
    )
    ordered = await played(settings, amqp_url, history, timedelta(0))
    chases, false, early = false_chases_and_early_facts(ordered, history)
    print(f"ordered run: {chases} chases, {len(false)} false, {len(early)} dated before cause")
    assert chases and false == [] and early == []
    expected = facts(ordered)
    kinds = Counter(type_name.split('"type": "')[1].split('"')[0] for type_name in expected)
    assert kinds["decisions.outcome.recorded.v1"] == 6 and kinds["reports.report.overdue.v1"]
    assert not [f for f in expected if "input.rejected" in f]
    rng = random.Random(SEED)
    for example in range(EXAMPLES):
        order = interleaving(history, rng)
        behind = timedelta(seconds=rng.uniform(0, 280))  # within the 300 s tolerance
        run = await played(fresh_settings(), amqp_url, order, behind)
        chases, false, early = false_chases_and_early_facts(run, order)
        print(f"example {example}: {chases} chases, {len(false)} false, {len(early)} early")
        assert false == [] and early == []
        got = facts(run)
        missing, extra = expected - got, got - expected
        assert not missing and not extra, (
            f"example {example} (seed {SEED}): {len(missing)} facts missing, {len(extra)} extra; "
            f"first missing {sorted(missing)[:1]}, first extra {sorted(extra)[:1]}"
        )
