"""Stored documents say their shape's version: a release reads what an earlier one wrote
(upgraded as it is read) and refuses what a later one wrote."""

import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from contracts.crm_v1 import (
    ConferenceHeld,
    ConferenceRequested,
    CoreGroupHeld,
    OutcomeDecided,
    ReportSubmitted,
)
from rules.calendar import WorkingDayCalendar
from rules.effects import Env
from rules.policy import Policy
from services.decisions import domain as decisions
from services.decisions.handlers import CONFERENCES as DECISIONS
from services.reports.handlers import CONFERENCES as REPORTS
from shared.store.aggregates import AggregateStore, NewerShape
from tests.support.crm import family_conference


@dataclass
class Thing:
    name: str
    tags: list[str] = field(default_factory=list)


def test_a_document_says_its_version_and_older_ones_are_upgraded_newer_ones_refused() -> None:
    store = AggregateStore(
        "thing", Thing, version=3,
        upgrades={1: lambda d: {**d, "name": d.pop("title")}, 2: lambda d: {**d, "tags": ["x"]}},
    )  # fmt: skip
    written = store.dump(Thing("a", ["b"]))
    assert json.loads(written)["__v"] == 3 and store.parse(written) == Thing("a", ["b"])
    assert store.parse('{"title": "old"}') == Thing("old", ["x"])  # version 1: no "__v"
    assert store.parse('{"__v": 2, "name": "n"}') == Thing("n", ["x"])
    with pytest.raises(NewerShape, match="shape version 4; this release knows up to 3"):
        store.parse('{"__v": 4, "name": "n"}')
    with pytest.raises(AssertionError, match="no upgrade step"):
        AggregateStore("thing", Thing, version=2)


def _first_release(document: str, *dropped: str) -> str:
    """A document as release 0.1.0 wrote it: no version, none of the fields added since."""
    values = json.loads(document)
    values.pop("__v")
    for name in dropped:
        values.pop(name, None)
    return json.dumps(values)


def env(at: str) -> Env:
    return Env(datetime.fromisoformat(at).replace(tzinfo=UTC), Policy(), WorkingDayCalendar())


def test_a_decisions_conference_of_the_first_release_is_read_and_its_parents_told() -> None:
    data = family_conference("C")
    data["participants"] += [{"person_id": "NAN", "name": "N", "role": "carer"}]
    made, _ = decisions.Conference.request(ConferenceRequested.model_validate(data), None)
    made.hold(ConferenceHeld(conference_id="C", held_on=date(2026, 11, 25)))
    values = json.loads(DECISIONS.dump(made))
    for person in values["listed"]:
        person.pop("parental_responsibility")
    old = _first_release(json.dumps(values), "withheld_from", "core_group", "complaints")
    read = DECISIONS.parse(old)
    assert {p.person_id: p.parental_responsibility for p in read.listed if p.role != "police"} == {
        "MUM": True, "SW": False, "MW": False, "NAN": False,
    }  # fmt: skip
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in read.children}
    outcome = OutcomeDecided.model_validate(
        {"conference_id": "C", "decided_at": "2026-11-25T12:30:00+00:00", "decided_by": "CHAIR",
         "children": [{"child_id": "C1", "decision": "no_further_action"},
                      {"child_id": "C2", "decision": "no_further_action"}]}
    )  # fmt: skip
    facts, _ = decisions.decide("201", read, children, outcome, "R", env("2026-11-25T12:30"))
    told = {
        f.data.recipient_person_id
        for f in facts.facts
        if f.type_name == "decisions.decision_notice.due.v1"
    }
    assert "MUM" in told and "NAN" not in told
    assert json.loads(DECISIONS.dump(read))["__v"] == 2  # written back in the new shape


def test_a_plan_the_first_release_recorded_gets_its_core_group_and_takes_its_meetings() -> None:
    made, _ = decisions.Conference.request(
        ConferenceRequested.model_validate(family_conference("C")), None
    )
    made.hold(ConferenceHeld(conference_id="C", held_on=date(2026, 11, 25)))
    children = {c.child_id: decisions.ChildPlans(c.child_id) for c in made.children}
    outcome = OutcomeDecided.model_validate(
        {"conference_id": "C", "decided_at": "2026-11-25T12:30:00+00:00", "decided_by": "CHAIR",
         "children": [{"child_id": "C1", "decision": "child_protection_plan",
                       "categories": ["neglect"]},
                      {"child_id": "C2", "decision": "no_further_action"}],
         "lead_social_worker": "SW", "core_group": ["MUM", "SW"]}
    )  # fmt: skip
    decisions.decide("201", made, children, outcome, "R", env("2026-11-25T12:30"))
    values = json.loads(DECISIONS.dump(made))
    for record in values["records"]:  # 0.1.0 kept neither on the record
        record.pop("core_group"), record.pop("lead_social_worker")
    read = DECISIONS.parse(
        _first_release(json.dumps(values), "withheld_from", "core_group", "complaints")
    )
    assert read.core_group is not None and read.core_group.children == ["C1"]
    held = CoreGroupHeld.model_validate(
        {"conference_id": "C", "meeting_id": "M1", "held_on": "2026-12-03"}
    )
    facts = read.hold_core_group(held, env("2026-12-03T15:00"))
    recorded = [f.data for f in facts.facts if f.type_name == "decisions.core_group.recorded.v1"]
    assert len(recorded) == 1 and recorded[0].on_time and recorded[0].due_by is None


def test_a_reports_conference_of_the_first_release_keeps_its_family_and_adds_the_worker() -> None:
    from services.reports import domain as reports

    data = family_conference("C")
    data["participants"] += [{"person_id": "GRAN", "name": "G", "role": "family_member"}]
    made, _ = reports.Conference.request(
        "201", ConferenceRequested.model_validate(data), None, env("2026-11-16T09:00")
    )
    values = json.loads(REPORTS.dump(made))
    # 0.1.0 shared with every family member and not with the social worker
    values["recipients"] = [r for r in values["recipients"] if r["role"] != "social_worker"]
    values["recipients"].append({"person_id": "GRAN", "role": "family_member",
                                 "withhold_ordered": False})  # fmt: skip
    old = _first_release(
        json.dumps(values), "shared_with_by_chair", "held_on", "attended", "answers", "deputies",
        "minutes", "minutes_shares", "corrections",
    )  # fmt: skip
    read = REPORTS.parse(old)
    assert read.shared_with_by_chair == ["GRAN"]
    assert {r.person_id: r.role for r in read.recipients} == {
        "CHAIR": "chair", "MUM": "parent", "GRAN": "family_member", "SW": "social_worker",
    }  # fmt: skip
    document = {"uri": "crm://p", "sha256": "a" * 64, "media_type": "x/y"}
    effects = read.submit_report(
        ReportSubmitted.model_validate(
            {"conference_id": "C", "report_id": "R", "author_person_id": "POL",
             "agency": "Police", "submitted_at": "2026-11-17T10:00:00+00:00",
             "document": document}
        ),
        env("2026-11-17T10:00"),
    )  # fmt: skip
    shared = {
        f.data.recipient_person_id for f in effects.facts if f.type_name.endswith("shared.v1")
    }
    assert shared == {"CHAIR", "MUM", "GRAN", "SW"}
