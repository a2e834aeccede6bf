"""No fact tells a person something false, whatever the CRM's clock or order: deadlines born
in the past, reports in before their chase, a child added late, an agency added after its
report, an event from the future, an outcome before its `held`, a review before its previous
conference, a correction of categories only. Each on both databases, through the broker."""

from datetime import datetime
from typing import Any

from services.app import DEFINITIONS, running
from shared.broker.topology import declare_all
from shared.clock import ManualClock
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_events
from tests.support.listener import Listener, listening

HEALTH = {"person_id": "HV", "name": "H", "role": "health_visitor", "agency": "Community Health"}
AGENCIES = {"Children's Social Care", "Police", "Maternity", "Community Health"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def requested(conference: str, when: str, **changes: Any) -> dict[str, Any]:
    data = family_conference(conference, **changes)
    if "participants" not in changes:
        data["participants"].append(HEALTH)  # four agencies
    return cloud_event("crm.conference.requested.v1", conference, data, time=when)


def report(conference: str, author: str, agency: str, when: str) -> dict[str, Any]:
    data = {
        "conference_id": conference,
        "report_id": f"R-{author}",
        "author_person_id": author,
        "agency": agency,
        "submitted_at": when,
        "document": {"uri": f"crm://R-{author}", "sha256": "d" * 64, "media_type": "x/y"},
        "sections": ["voice_of_child", "family_strengths", "developmental_needs",
                     "parental_capacity", "wider_factors"],
    }  # fmt: skip
    return cloud_event("crm.report.submitted.v1", conference, data, time=when)


def event(type_name: str, conference: str, when: str, **data: Any) -> dict[str, Any]:
    return cloud_event(type_name, conference, {"conference_id": conference, **data}, time=when)


def of(listener: Listener, kind: str, subject: str | None = None) -> list[dict[str, Any]]:
    return [e["data"] for e in listener.of_type(kind, subject)]


def dated_before_their_cause(listener: Listener, sent: list[dict[str, Any]]) -> list[str]:
    """Facts dated before the CRM event that caused them (a timer's: the latest event of its
    conference before it fired, which set or moved it, is at or before the fact)."""
    times = {e["id"]: at(e["time"]) for e in sent}
    early = []
    for fact in listener.events:
        cause = fact.get("causationid")
        if cause in times and at(fact["time"]) < times[cause]:
            early.append(f"{fact['type']} at {fact['time']}")
    return early


async def play(
    settings: Settings, url: str, events: list[dict[str, Any]], clock: str, settle: float = 1.5
) -> Listener:
    """The events in one burst, the services' clock at `clock`; until quiet."""
    async with listening(url) as listener:
        await declare_all(  # the queues exist before the burst, as provisioned
            url,
            {name: d.event_types for name, d in DEFINITIONS.items()},
            settings.retry_delay_list(),
        )
        await publish_events(url, events)
        async with running(
            ["invitations", "reports", "decisions"], settings, clock=ManualClock(at(clock))
        ):
            await listener.settle(settle)
    return listener


# --- 1. deadlines born in the past --------------------------------------------------------


async def test_a_conference_brought_forward_chases_only_what_is_missing_then(
    settings: Settings, amqp_url: str, database: str
) -> None:
    """Two of four reports in, then the conference moved to the next working day: every
    deadline is already past. The chair hears what is in; only the two missing are chased,
    as of the moment the move became known."""
    history = [
        requested("CONF-FWD", "2026-11-09T09:00:00Z"),
        report("CONF-FWD", "SW", "Children's Social Care", "2026-11-10T10:00:00+00:00"),
        report("CONF-FWD", "POL", "Police", "2026-11-10T11:00:00+00:00"),
        event("crm.conference.rescheduled.v1", "CONF-FWD", "2026-11-11T12:40:00Z",
              scheduled_start="2026-11-12T10:00:00+00:00", reason="risk escalated"),
    ]  # fmt: skip
    listener = await play(settings, amqp_url, history, "2026-11-11T13:00:00Z")
    [summary] = of(listener, "reports.readiness.assessed.v1")
    assert set(summary["received"]) == {"Children's Social Care", "Police"}
    assert set(summary["missing"]) == {"Maternity", "Community Health"}
    chased = sorted((c["agency"], c["deadline"]) for c in of(listener, "reports.report.overdue.v1"))
    assert chased == [  # once per request and deadline (both already past)
        ("Community Health", "chair"), ("Community Health", "family"),
        ("Maternity", "chair"), ("Maternity", "family"),
    ]  # fmt: skip
    moved = at("2026-11-11T12:40:00Z")
    for fact in listener.events:
        if fact["type"] in ("reports.report.overdue.v1", "reports.readiness.assessed.v1"):
            assert at(fact["time"]) >= moved, fact["type"]
    assert not of(listener, "reports.reminder.sent.v1")  # their moment passed before the move
    assert dated_before_their_cause(listener, history) == []


# --- 2. chases for reports that are in ----------------------------------------------------


async def test_a_report_in_after_its_deadline_but_before_the_chase_is_not_chased(
    settings: Settings, amqp_url: str, database: str
) -> None:
    history = [
        requested("CONF-SUN", "2026-11-16T09:00:00Z"),
        # the chair's deadline is Friday 20th; the police send theirs on Sunday 22nd
        report("CONF-SUN", "POL", "Police", "2026-11-22T15:00:00+00:00"),
    ]
    listener = await play(settings, amqp_url, history, "2026-11-23T12:00:00Z")
    chased = {c["agency"] for c in of(listener, "reports.report.overdue.v1")}
    assert chased == AGENCIES - {"Police"}
    [summary] = of(listener, "reports.readiness.assessed.v1")
    assert summary["received"] == ["Police"]
    [received] = of(listener, "reports.report.received.v1")
    assert received["on_time"] is False  # late all the same


async def test_a_child_added_after_the_chase_reissues_requests_but_chases_no_one_again(
    settings: Settings, amqp_url: str, database: str
) -> None:
    child = {"child_id": "C3", "given_name": "E", "family_name": "B",
             "date_of_birth": "2021-09-01"}  # fmt: skip
    history = [
        requested("CONF-KID", "2026-11-16T09:00:00Z"),
        report("CONF-KID", "SW", "Children's Social Care", "2026-11-17T10:00:00+00:00"),
        event("crm.child.added.v1", "CONF-KID", "2026-11-24T10:00:00Z", child=child),
    ]
    listener = await play(settings, amqp_url, history, "2026-11-24T12:00:00Z")
    requests = of(listener, "reports.report.requested.v1")
    assert len(requests) == 8  # each agency asked twice: the second time naming C3
    assert all("C3" in r["children"] for r in requests[4:])
    chased = sorted((c["agency"], c["deadline"]) for c in of(listener, "reports.report.overdue.v1"))
    missing = sorted(AGENCIES - {"Children's Social Care"})
    assert chased == [(a, d) for a in missing for d in ("chair", "family")]  # once each


async def test_a_report_sent_before_its_agency_was_listed_is_never_chased(
    settings: Settings, amqp_url: str, database: str
) -> None:
    history = [
        requested(
            "CONF-ADD", "2026-11-16T09:00:00Z", participants=family_conference("X")["participants"]
        ),
        report("CONF-ADD", "HV", "Community Health", "2026-11-17T10:00:00+00:00"),
        event("crm.participant.added.v1", "CONF-ADD", "2026-11-18T09:00:00Z", participant=HEALTH),
    ]
    listener = await play(settings, amqp_url, history, "2026-11-24T12:00:00Z")
    chased = {c["agency"] for c in of(listener, "reports.report.overdue.v1")}
    assert "Community Health" not in chased and chased
    asked = {r["agency"] for r in of(listener, "reports.report.requested.v1")}
    assert "Community Health" not in asked  # its report was already in
    [summary] = of(listener, "reports.readiness.assessed.v1")
    assert "Community Health" in summary["received"]


async def test_an_agency_added_after_its_deadline_is_chased_as_of_its_addition(
    settings: Settings, amqp_url: str, database: str
) -> None:
    """Added on Tuesday 24th at 12:40, after both deadlines: asked at once (short notice) and
    chased then, never as of 09:00 that morning or the day before."""
    history = [
        requested("CONF-LATE-ADD", "2026-11-16T09:00:00Z",
                  participants=family_conference("X")["participants"]),
        event("crm.participant.added.v1", "CONF-LATE-ADD", "2026-11-24T12:40:00Z",
              participant=HEALTH),
    ]  # fmt: skip
    listener = await play(settings, amqp_url, history, "2026-11-24T13:00:00Z")
    [asked] = [r for r in of(listener, "reports.report.requested.v1") if r["agency"] == (
        "Community Health")]  # fmt: skip
    assert asked["short_notice"] is True
    added = at("2026-11-24T12:40:00Z")
    chases = [e for e in listener.of_type("reports.report.overdue.v1")
              if e["data"]["agency"] == "Community Health"]  # fmt: skip
    assert sorted(c["data"]["deadline"] for c in chases) == ["chair", "family"]
    assert {at(c["time"]) for c in chases} == {added}
    assert not [r for r in of(listener, "reports.reminder.sent.v1")
                if r["request_id"] == asked["request_id"]]  # fmt: skip


# --- 3. a clock that is wrong -------------------------------------------------------------


async def test_an_event_from_the_future_is_refused_and_moves_no_clock(
    settings: Settings, amqp_url: str, database: str
) -> None:
    """A report dated a year ahead (a mistyped year) in one conference: refused, naming the
    field; another conference of the same council sends nothing early."""
    clock = ManualClock(at("2026-11-16T10:00:00Z"))
    async with listening(amqp_url) as listener, running(["reports"], settings, clock=clock):
        await publish_events(
            amqp_url,
            [requested("CONF-A", "2026-11-16T09:00:00Z"),
             requested("CONF-B", "2026-11-16T09:30:00Z")],
        )  # fmt: skip
        await listener.wait_until(lambda seen: len(of(seen, "reports.report.requested.v1")) == 8)
        wrong = report("CONF-B", "POL", "Police", "2027-11-17T10:00:00+00:00")
        wrong_time = {
            **report("CONF-B", "SW", "Children's Social Care", "2026-11-16T09:45:00+00:00"),
            "time": "2027-11-16T09:45:00Z",
        }
        await publish_events(amqp_url, [wrong, wrong_time])
        await listener.wait_until(lambda seen: len(of(seen, "reports.input.rejected.v1")) == 2)
        await listener.settle(1.5)  # the scheduler has had its rounds
    rejected = {r["event_id"]: r["reasons"] for r in of(listener, "reports.input.rejected.v1")}
    assert any("data.submitted_at" in r for r in rejected[wrong["id"]])
    assert any(r.startswith("time ") for r in rejected[wrong_time["id"]])
    assert not of(listener, "reports.report.received.v1")
    for kind in ("reminder.sent", "report.overdue", "readiness.assessed"):
        assert not of(listener, f"reports.{kind}.v1"), kind


# --- 4. same events, same facts, in any order ---------------------------------------------


def _quorum_case(conference: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    decided = {
        "decided_at": "2026-11-25T12:30:00+00:00",
        "decided_by": "CHAIR",
        "children": [{"child_id": "C1", "decision": "child_protection_plan",
                      "categories": ["neglect"]},
                     {"child_id": "C2", "decision": "no_further_action", "categories": []}],
    }  # fmt: skip
    return (
        requested(conference, "2026-11-16T09:00:00Z"),
        event("crm.conference.held.v1", conference, "2026-11-25T12:31:00Z",
              held_on="2026-11-25", attended=["CHAIR"]),
        event("crm.outcome.decided.v1", conference, "2026-11-25T12:30:00Z", **decided),
    )  # fmt: skip


async def test_an_outcome_before_its_held_waits_for_it_and_is_judged_on_who_attended(
    settings: Settings, amqp_url: str, database: str
) -> None:
    first, held, outcome = _quorum_case("CONF-HO")
    other_first, other_held, other_outcome = _quorum_case("CONF-OH")
    history = [first, held, outcome, other_first, other_outcome, other_held]
    listener = await play(settings, amqp_url, history, "2026-12-01T09:00:00Z")
    refused = {r["event_id"]: r["reasons"] for r in of(listener, "decisions.input.rejected.v1")}
    assert set(refused) == {outcome["id"], other_outcome["id"]}  # the same verdict both ways
    assert all("inquorate" in refused[i][0] for i in refused)
    assert not of(listener, "decisions.outcome.recorded.v1")
    assert not of(listener, "decisions.plan.started.v1")


async def test_a_review_sent_before_its_previous_conference_waits_for_it(
    settings: Settings, amqp_url: str, database: str
) -> None:
    initial, initial_held, initial_outcome = _quorum_case("CONF-I1")
    initial_held["data"]["attended"] = ["CHAIR", "SW", "POL", "MW", "HV"]
    review_data = family_conference(
        "CONF-R1", kind="review", scheduled_start="2027-02-23T10:00:00+00:00",
        previous_conference_id="CONF-I1",
    )  # fmt: skip
    review_data.pop("strategy_discussion_date")
    review = cloud_event("crm.conference.requested.v1", "CONF-R1", review_data,
                         time="2027-02-01T09:00:00Z")  # fmt: skip
    review_held = event("crm.conference.held.v1", "CONF-R1", "2027-02-23T12:00:00Z",
                        held_on="2027-02-23", attended=["CHAIR", "SW", "POL", "MW"])  # fmt: skip
    review_outcome = event(
        "crm.outcome.decided.v1", "CONF-R1", "2027-02-23T12:30:00Z",
        decided_at="2027-02-23T12:30:00+00:00", decided_by="CHAIR",
        children=[{"child_id": "C1", "decision": "child_protection_plan",
                   "categories": ["emotional"]}],
    )  # fmt: skip
    history = [initial, initial_held, review, review_held, review_outcome, initial_outcome]
    listener = await play(settings, amqp_url, history, "2027-03-01T09:00:00Z")
    assert not of(listener, "decisions.input.rejected.v1")
    assert not of(listener, "invitations.input.rejected.v1")
    recorded = [r["conference_id"] for r in of(listener, "decisions.outcome.recorded.v1")]
    assert recorded == ["CONF-I1", "CONF-R1"]
    [changed] = of(listener, "decisions.plan.category_changed.v1")
    assert (changed["from"], changed["to"]) == ("NEG", "EMO")


# --- 5. a correction of categories only ---------------------------------------------------


async def test_a_correction_of_categories_only_is_a_category_change_on_one_plan(
    settings: Settings, amqp_url: str, database: str
) -> None:
    first, held, outcome = _quorum_case("CONF-CAT")
    held["data"]["attended"] = ["CHAIR", "SW", "POL", "MW"]
    corrected = event(
        "crm.outcome.decided.v1", "CONF-CAT", "2026-11-26T10:00:00Z",
        **{**outcome["data"], "decided_at": "2026-11-26T10:00:00+00:00",
           "correction_reason": "emotional abuse, not neglect",
           "children": [{"child_id": "C1", "decision": "child_protection_plan",
                         "categories": ["emotional"]},
                        {"child_id": "C2", "decision": "no_further_action",
                         "categories": []}]},
    )  # fmt: skip
    listener = await play(settings, amqp_url, [first, held, outcome, corrected],
                          "2026-12-01T09:00:00Z")  # fmt: skip
    assert len(of(listener, "decisions.outcome.recorded.v1")) == 2
    [started] = of(listener, "decisions.plan.started.v1")  # CP-IS: one plan
    assert not of(listener, "decisions.plan.ended.v1")
    [changed] = of(listener, "decisions.plan.category_changed.v1")
    assert (changed["plan_id"], changed["from"], changed["to"]) == (
        started["plan_id"], "NEG", "EMO",
    )  # fmt: skip
