"""Right whatever the arrival order and whichever the council: a CRM's whole history played
live and as a back-fill in one burst, two councils with the same ids side by side, two
replicas of every service, and the bursts that used to race."""

import asyncio
import json
from collections import Counter
from collections.abc import Callable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from services.app import DEFINITIONS, Running, running
from shared.broker.topology import declare_all
from shared.clock import ManualClock
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event, publish_events
from tests.support.history import family_history
from tests.support.listener import Listener, listening

ALL = ["invitations", "reports", "decisions"]
END = datetime(2026, 5, 12, 9, 0, tzinfo=UTC)  # the day after the history's last event


def facts(listener: Listener, tenant: str | None = None) -> Counter[str]:
    """Every fact a run published (ids of the publication aside), as comparable text."""
    return Counter(
        json.dumps({k: v for k, v in e.items() if k != "id"}, sort_keys=True)
        for e in listener.events
        if tenant is None or e["tenant"] == tenant
    )


def finished(tenants: list[str]) -> Callable[[Listener], bool]:
    """The history's last fact (the CIN plan ended on transfer out) has arrived for each."""
    return lambda seen: all(
        any(
            e["type"] == "decisions.plan.ended.v1"
            and e["tenant"] == tenant
            and e["data"]["reason"] == "transferred_out"
            for e in seen.events
        )
        for tenant in tenants
    )


async def applied(app: Running, event: dict[str, Any]) -> None:
    """Wait until every service that consumes the event has applied it."""
    at = datetime.fromisoformat(event["time"].replace("Z", "+00:00"))
    consumers = [r for r in app.runtimes if event["type"] in r.definition.event_types]
    async with asyncio.timeout(20):
        while not all(
            (r.progress.through(event["tenant"]) or at - timedelta(1)) >= at for r in consumers
        ):
            await asyncio.sleep(0.02)  # poll for the condition


async def back_fill(
    settings: Settings,
    url: str,
    events: list[dict[str, Any]],
    replicas: int = 1,
    apps: list[Running] | None = None,
) -> Listener:
    """Play a history in one burst, the clock already past it, as a back-fill does.

    The whole burst is in the queues before the services start: a publisher that stalls
    for longer than the (test's short) quiet period between two of a council's events would
    otherwise let that council look quiet with its timers long due, mid-history."""
    tenants = sorted({e["tenant"] for e in events})
    async with listening(url) as listener, AsyncExitStack() as stack:
        await declare_all(
            url,
            {name: d.event_types for name, d in DEFINITIONS.items()},
            settings.retry_delay_list(),
        )
        await publish_events(url, events)
        for _ in range(replicas):
            app = await stack.enter_async_context(running(ALL, settings, clock=ManualClock(END)))
            if apps is not None:
                apps.append(app)
        await listener.wait_until(finished(tenants), within=60)
        await listener.settle(1.5)  # timers due after the last event fire once it is quiet
    return listener


async def live(settings: Settings, url: str, events: list[dict[str, Any]]) -> Listener:
    """Play a history as it happened: the clock moves to each event, then it is sent."""
    clock = ManualClock(datetime.fromisoformat(events[0]["time"].replace("Z", "+00:00")))
    async with listening(url) as listener, running(ALL, settings, clock=clock) as app:
        for event in events:
            clock.set(datetime.fromisoformat(event["time"].replace("Z", "+00:00")))
            await listener.settle(0.7)  # timers due by now fire, as they would live
            await publish_event(url, event)
            await applied(app, event)
        clock.set(END)
        await listener.wait_until(finished([events[0]["tenant"]]), within=30)
        await listener.settle(1.5)
    return listener


async def test_a_back_fill_gives_the_same_facts_as_live_processing(
    settings: Settings, fresh_settings: Callable[[], Settings], amqp_url: str, database: str
) -> None:
    history = family_history("886")
    as_live = facts(await live(settings, amqp_url, history))
    as_back_fill = facts(await back_fill(fresh_settings(), amqp_url, history))
    assert as_back_fill == as_live
    kinds = Counter(json.loads(f)["type"] for f in as_live.elements())
    # the history's timers fired, in both, judged as of their due times
    assert kinds["reports.reminder.sent.v1"] >= 2 and kinds["reports.report.overdue.v1"] >= 2
    assert kinds["reports.readiness.assessed.v1"] == 2
    assert kinds["invitations.quorum.assessed.v1"] >= 2
    assert kinds["decisions.outcome.recorded.v1"] == 2
    assert not [f for f in as_live if "input.rejected" in f]


async def test_two_councils_with_the_same_ids_never_see_each_other(
    settings: Settings, fresh_settings: Callable[[], Settings], amqp_url: str, database: str
) -> None:
    kent, redcar = family_history("886"), family_history("807")  # same conference ids
    side_by_side = await back_fill(
        settings, amqp_url, [e for pair in zip(kent, redcar, strict=True) for e in pair]
    )
    kent_alone = await back_fill(fresh_settings(), amqp_url, kent)
    redcar_alone = await back_fill(fresh_settings(), amqp_url, redcar)
    assert facts(side_by_side, "886") == facts(kent_alone)
    assert facts(side_by_side, "807") == facts(redcar_alone)
    assert not [e for e in side_by_side.events if e["type"].endswith("input.rejected.v1")]
    # Kent's family copy is due "5 days" before, Redcar's "three days" before an initial:
    # calendar days, so before a Wednesday conference both fall on the Friday (Redcar's on
    # the Sunday, a weekend giving the working day before)
    requested = {
        e["tenant"]: e["data"]["share_with_family_by"]
        for e in side_by_side.of_type("reports.report.requested.v1", "CONF-1")
    }
    assert requested == {"886": "2025-11-21", "807": "2025-11-21"}


async def test_a_burst_applied_in_groups_gives_the_same_facts_as_one_delivery_at_a_time(
    settings: Settings, fresh_settings: Callable[[], Settings], amqp_url: str, database: str
) -> None:
    families = [
        family_history(tenant, prefix=f"F{n}") for tenant in ("886", "807") for n in range(4)
    ]
    burst = [event for step in zip(*families, strict=True) for event in step]
    alone = await back_fill(settings.model_copy(update={"group_commit": 1}), amqp_url, burst)
    apps: list[Running] = []
    together = fresh_settings().model_copy(update={"group_commit": 20})
    grouped = await back_fill(together, amqp_url, burst, apps=apps)
    assert facts(grouped) == facts(alone)  # refusals included: the families share children
    groupings = [r.consumer.grouping for app in apps for r in app.runtimes if r.consumer]
    assert all(g is not None for g in groupings)
    # Deliveries of different conferences were applied together, in every service.
    assert all(g.grouped > g.groups for g in groupings if g is not None)


async def test_two_replicas_of_every_service_give_the_same_facts_as_one(
    settings: Settings, fresh_settings: Callable[[], Settings], amqp_url: str, database: str
) -> None:
    history = family_history("886")
    one = facts(await back_fill(settings, amqp_url, history))
    two = facts(await back_fill(fresh_settings(), amqp_url, history, replicas=2))
    assert two == one
    # The active replica stops in the middle of the burst: the standby takes over where it
    # left off, in order, and nothing is lost or done twice.
    shared = fresh_settings()
    async with listening(amqp_url) as listener:
        active = running(ALL, shared, clock=ManualClock(END))  # first to attach: active
        await active.__aenter__()
        async with running(ALL, shared, clock=ManualClock(END)):  # the standby
            await publish_events(amqp_url, history)
            await listener.wait_until(lambda seen: len(seen.events) >= 10)
            await active.__aexit__(None, None, None)
            await listener.wait_until(finished(["886"]), within=60)
            await listener.settle(1.5)
    assert facts(listener) == one


def _requested(conference: str) -> dict[str, Any]:
    data = family_conference(conference)
    data["participants"].append(
        {
            "person_id": "DAD",
            "name": "D",
            "role": "parent",
            "child_ids": ["C1", "C2"],
            "has_parental_responsibility": True,
            "lives_with_child": False,
        }
    )
    return cloud_event("crm.conference.requested.v1", conference, data)


async def test_an_excluded_parent_never_gets_a_report_sent_right_after_the_exclusion(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conferences = [f"CONF-BURST-{n}" for n in range(20)]
    burst: list[dict[str, Any]] = []
    for conference in conferences:
        burst.append(_requested(conference))
        burst.append(
            cloud_event(
                "crm.exclusion.decided.v1",
                conference,
                {
                    "conference_id": conference,
                    "person_id": "DAD",
                    "decided_by": "CHAIR",
                    "decided_at": "2026-11-17T10:00:00+00:00",
                    "scope": "whole",
                    "grounds": ["risk_of_violence"],
                    "reason": "threats",
                    "alternative_arrangements": [],
                    "withhold_reports": True,
                },
                time="2026-11-17T10:00:00Z",
            )
        )
        burst.append(
            cloud_event(
                "crm.report.submitted.v1",
                conference,
                {
                    "conference_id": conference,
                    "report_id": f"{conference}-R",
                    "author_person_id": "SW",
                    "agency": "Children's Social Care",
                    "submitted_at": "2026-11-17T10:01:00+00:00",
                    "document": {
                        "uri": "crm://r",
                        "sha256": "a" * 64,
                        "media_type": "application/pdf",
                    },
                    "sections": [],
                },
                time="2026-11-17T10:01:00Z",
            )
        )
    async with listening(amqp_url) as listener, running(["invitations", "reports"], settings):
        await publish_events(amqp_url, burst)
        await listener.wait_until(
            lambda seen: (
                len(seen.of_type("reports.report.shared.v1")) == 20 * 2
                and len(seen.of_type("reports.report.withheld.v1")) == 20
            )
        )
        await listener.settle()
    shared = {
        (e["subject"], e["data"]["recipient_person_id"])
        for e in listener.of_type("reports.report.shared.v1")
    }
    assert shared == {(c, p) for c in conferences for p in ("CHAIR", "MUM")}
    withheld = listener.of_type("reports.report.withheld.v1")
    assert {(e["subject"], e["data"]["recipient_person_id"]) for e in withheld} == {
        (c, "DAD") for c in conferences
    }
    assert {e["data"]["reason"] for e in withheld} == {"chair_ordered"}
    assert len(listener.of_type("invitations.exclusion.recorded.v1")) == 20


def _outcome(conference: str, decision: str, **extra: Any) -> dict[str, Any]:
    return cloud_event(
        "crm.outcome.decided.v1",
        conference,
        {
            "conference_id": conference,
            "decided_at": "2026-11-25T12:30:00+00:00",
            "decided_by": "CHAIR",
            "children": [
                {"child_id": "C1", "decision": decision, "categories": ["neglect"]},
                {"child_id": "C2", "decision": "no_further_action", "categories": []},
            ],
            "recommendations": [],
            "core_group": ["MUM"],
            **extra,
        },
        time="2026-11-25T12:30:00Z",
    )


def _held(conference: str, attended: list[str]) -> dict[str, Any]:
    return cloud_event(
        "crm.conference.held.v1",
        conference,
        {"conference_id": conference, "held_on": "2026-11-25", "attended": attended},
        time="2026-11-25T12:00:00Z",
    )


async def test_a_correction_sent_right_after_the_outcome_supersedes_it(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conference = "CONF-CORRECTED"
    correction = _outcome(conference, "child_protection_plan", correction_reason="wrong child")
    correction["data"]["children"][0]["categories"] = ["physical"]
    async with listening(amqp_url) as listener, running(["decisions"], settings):
        await publish_events(
            amqp_url,
            [
                _requested(conference),
                _held(conference, ["CHAIR", "SW", "POL", "MW"]),
                _outcome(conference, "child_protection_plan"),
                correction,
            ],
        )
        await listener.wait_until(
            lambda seen: len(seen.of_type("decisions.outcome.recorded.v1")) == 2
        )
        await listener.settle()
    first, second = (e["data"] for e in listener.of_type("decisions.outcome.recorded.v1"))
    assert first["supersedes"] is None and second["supersedes"] == first["record_id"]
    assert first["quorate"] is True  # attendance in `held` alone: no responses were sent
    # only the category was corrected: the same plan, its category changed (CP-IS and the
    # census see one plan)
    [started] = [e["data"] for e in listener.of_type("decisions.plan.started.v1")]
    assert (started["category"], started["start_date"]) == ("NEG", "2026-11-25")
    [changed] = [e["data"] for e in listener.of_type("decisions.plan.category_changed.v1")]
    assert (changed["plan_id"], changed["from"], changed["to"]) == (
        started["plan_id"],
        "NEG",
        "PHY",
    )
    assert not listener.of_type("decisions.plan.ended.v1")
    assert not listener.of_type("decisions.input.rejected.v1")


async def test_attendance_in_held_alone_decides_quorum(
    settings: Settings, amqp_url: str, database: str
) -> None:
    quorate, inquorate = "CONF-QUORATE", "CONF-INQUORATE"

    def elsewhere(event: dict[str, Any]) -> dict[str, Any]:  # the same family ids, another council
        return {**event, "tenant": "202"}

    async with listening(amqp_url) as listener, running(["decisions"], settings):
        await publish_events(
            amqp_url,
            [
                _requested(quorate),
                _held(quorate, ["CHAIR", "MUM", "SW", "POL", "MW"]),
                _outcome(quorate, "child_protection_plan"),
                elsewhere(_requested(inquorate)),
                elsewhere(_held(inquorate, ["CHAIR", "MUM", "SW"])),
                elsewhere(_outcome(inquorate, "child_protection_plan")),
            ],
        )
        await listener.wait_until(
            lambda seen: (
                bool(seen.of_type("decisions.outcome.recorded.v1", quorate))
                and bool(seen.of_type("decisions.input.rejected.v1"))
            )
        )
        await publish_event(
            amqp_url,
            elsewhere(
                _outcome(inquorate, "child_protection_plan", inquorate_reason="police delayed")
            ),
        )
        await listener.wait_until(
            lambda seen: bool(seen.of_type("decisions.outcome.recorded.v1", inquorate))
        )
    [recorded] = listener.of_type("decisions.outcome.recorded.v1", quorate)
    assert recorded["data"]["quorate"] is True
    [refused] = listener.of_type("decisions.input.rejected.v1")
    assert refused["subject"] == inquorate
    assert "inquorate_reason" in refused["data"]["reasons"][0]
    [chair_decided] = listener.of_type("decisions.outcome.recorded.v1", inquorate)
    assert chair_decided["data"]["quorate"] is False


async def test_a_standby_never_judges_quiet_a_council_the_consuming_replica_is_applying(
    settings: Settings, fresh_settings: Callable[[], Settings], amqp_url: str, database: str
) -> None:
    """Two replicas of every service; the consuming one takes longer than the quiet period to
    apply the reports (a long transaction, a busy machine) and writes no progress meanwhile.
    The standby sees the council's progress go stale, but the council is not quiet: the
    reports' deadlines must be judged after them, exactly as with one replica."""
    history = family_history("886")
    one = facts(await back_fill(settings, amqp_url, history))
    shared = fresh_settings()
    async with listening(amqp_url) as listener:
        consuming = running(ALL, shared, clock=ManualClock(END))  # first to attach: active
        active = await consuming.__aenter__()
        reports = active.runtime("reports")
        assert reports.scheduler is not None and reports.consumer is not None
        await reports.scheduler.stop()  # its progress is written no more
        apply = reports.consumer.apply

        async def slowly(delivery: Any, event: Any, *args: Any, **kwargs: Any) -> str:
            if event.type == "crm.report.submitted.v1":
                await asyncio.sleep(4 * shared.timer_quiet_seconds)  # the long transaction
            return await apply(delivery, event, *args, **kwargs)

        reports.consumer.apply = slowly  # type: ignore[method-assign]
        try:
            async with running(ALL, shared, clock=ManualClock(END)):  # the standby
                await publish_events(amqp_url, history)
                for event in history:
                    await applied(active, event)
                reports.scheduler.start()  # the consuming replica judges the rest
                await listener.wait_until(finished(["886"]), within=60)
                await listener.settle(1.5)
        finally:
            await consuming.__aexit__(None, None, None)
    assert facts(listener) == one
