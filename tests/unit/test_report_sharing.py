"""Sharing reports: restricted content reaches only the chair, and every entitled family
member gets every shareable report exactly once, whatever order things happen in."""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts.crm_v1 import (
    ConferenceRequested,
    ExclusionDecided,
    FamilySharingDecided,
    ParticipantAdded,
    ReportSubmitted,
)
from rules.calendar import WorkingDayCalendar
from rules.effects import Env, RuleViolation
from rules.policy import Policy
from services.reports import domain

CHAIR = domain.Recipient("CHAIR", "chair")


def report(
    rid: str = "R1", restricted: bool = True, shareable: bool = True, family: bool = False
) -> domain.ReportFacts:
    return domain.ReportFacts(
        rid, f"crm://{rid}", f"crm://{rid}-restricted" if restricted else None, shareable, family
    )


def test_the_chair_gets_everything_the_family_only_the_shareable_document() -> None:
    outcomes = domain.distribute(report(), [CHAIR, domain.Recipient("MUM", "parent")], set())
    assert outcomes == [
        domain.Share("R1", "CHAIR", "chair", "crm://R1", True, "crm://R1-restricted"),
        domain.Share("R1", "MUM", "parent", "crm://R1", False, None),
    ]


def test_withheld_before_the_conference_or_by_the_chairs_order() -> None:
    family = [domain.Recipient("MUM", "parent"), domain.Recipient("DAD", "parent", True)]
    outcomes = domain.distribute(report(shareable=False), [CHAIR, *family], set())
    assert outcomes[1:] == [
        domain.Withhold("R1", "MUM", "not_shareable_before_conference"),
        domain.Withhold("R1", "DAD", "chair_ordered"),
    ]


def test_a_family_members_own_report_goes_to_the_chair_only() -> None:
    outcomes = domain.distribute(
        report(restricted=False, family=True), [CHAIR, domain.Recipient("MUM", "parent")], set()
    )
    assert [o.person_id for o in outcomes] == ["CHAIR"]


def test_nobody_is_dealt_with_twice() -> None:
    assert domain.distribute(report(), [CHAIR], {("R1", "CHAIR")}) == []


def test_entitled_family_roles() -> None:
    assert [
        r
        for r in (
            "parent",
            "carer",
            "family_member",
            "child",
            "supporter",
            "advocate",
            "interpreter",
            "police",
        )
        if domain.entitled_family_role(r)
    ] == ["parent", "carer"]
    assert domain.entitled_family_role("family_member", chair_allows=True)
    assert not domain.entitled_family_role("supporter", chair_allows=True)


def test_the_allocated_social_worker_gets_every_agency_report_but_their_own() -> None:
    sw = domain.Recipient("SW", "social_worker")
    police = domain.ReportFacts("R1", "crm://R1", "crm://R1-r", False, False, "POL")
    own = domain.ReportFacts("R2", "crm://R2", None, True, False, "SW")
    parents = domain.ReportFacts("R3", "crm://R3", None, True, True, "MUM")
    assert domain.distribute(police, [CHAIR, sw], set())[1:] == [
        domain.Share("R1", "SW", "social_worker", "crm://R1", False, None)
    ]  # the document without its restricted part, even when not shareable with the family
    assert [o.person_id for o in domain.distribute(own, [CHAIR, sw], set())] == ["CHAIR"]
    assert [o.person_id for o in domain.distribute(parents, [CHAIR, sw], set())] == ["CHAIR"]


def test_readiness() -> None:
    summary = domain.readiness(["CSC", "Police", "Health"], ["csc", "Police"], [True, False])
    assert (summary.received, summary.missing, summary.family_shared_on_time) == (
        ["Police", "csc"],
        ["Health"],
        False,
    )
    assert domain.readiness(["CSC"], ["CSC"], [True]).family_shared_on_time


# --- the property, on the production aggregate ------------------------------------------

TENANT = "201"
FAMILY = ["MUM", "DAD", "GRAN", "AUNT"]
START = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def _env(step: int) -> Env:
    return Env(START + timedelta(hours=step), Policy(), WorkingDayCalendar())


def _requested() -> ConferenceRequested:
    return ConferenceRequested.model_validate(
        {
            "conference_id": "C",
            "kind": "initial",
            "scheduled_start": "2026-11-25T10:00:00+00:00",
            "venue": {"mode": "in_person", "address": "Town Hall"},
            "chair": {"person_id": "CHAIR", "name": "A Chair"},
            "children": [
                {
                    "child_id": "C1",
                    "given_name": "A",
                    "family_name": "B",
                    "date_of_birth": "2018-01-05",
                }
            ],
            "participants": [
                {"person_id": "SW", "name": "S", "role": "social_worker", "agency": "CSC"},
                {
                    "person_id": "MUM",
                    "name": "M",
                    "role": "parent",
                    "has_parental_responsibility": True,
                },
            ],
            "strategy_discussion_date": "2026-11-09",
        }
    )


def _submitted(
    rid: str, restricted: bool, shareable: bool, author: str, at: datetime
) -> ReportSubmitted:
    document = {"uri": f"crm://{rid}", "sha256": "d" * 64, "media_type": "application/pdf"}
    return ReportSubmitted.model_validate(
        {
            "conference_id": "C",
            "report_id": rid,
            "author_person_id": author,
            "agency": "CSC",
            "submitted_at": at.isoformat(),
            "document": document,
            "restricted_document": (
                {**document, "uri": f"crm://{rid}-restricted"} if restricted else None
            ),
            "shareable_with_family": shareable,
            "sections": [],
        }
    )


def _added(person_id: str, role: str) -> ParticipantAdded:
    return ParticipantAdded.model_validate(
        {
            "conference_id": "C",
            "participant": {
                "person_id": person_id,
                "name": "N",
                "role": role,
                **({"agency": "Police"} if role == "police" else {}),
            },
        }
    )


def _said(person_id: str, yes: bool, at: datetime) -> FamilySharingDecided:
    return FamilySharingDecided(
        conference_id="C",
        person_id=person_id,
        decided_by="CHAIR",
        decided_at=at,
        receives_reports=yes,
    )


def _excluded(person_id: str, by: str) -> ExclusionDecided:
    return ExclusionDecided.model_validate(
        {
            "conference_id": "C",
            "person_id": person_id,
            "decided_by": by,
            "decided_at": "2026-11-17T10:00:00+00:00",
            "scope": "whole",
            "grounds": ["risk_of_violence"],
            "reason": "threats",
            "alternative_arrangements": [],
            "withhold_reports": True,
        }
    )


actions = st.lists(
    st.one_of(
        st.tuples(
            st.just("submit"),
            st.sampled_from([f"R{n}" for n in range(6)]),
            st.booleans(),
            st.booleans(),
            st.sampled_from(["SW", "MUM", "POL"]),
        ),
        st.tuples(
            st.just("add"),
            st.sampled_from(FAMILY),
            st.sampled_from(["parent", "carer", "family_member", "supporter", "police"]),
        ),
        st.tuples(st.just("exclude"), st.sampled_from(FAMILY), st.sampled_from(["CHAIR", "SW"])),
        st.tuples(st.just("say"), st.sampled_from(FAMILY), st.booleans()),
    ),
    max_size=30,
)


@settings(max_examples=400, deadline=None)
@given(actions)
def test_no_restricted_content_reaches_the_family_and_everyone_entitled_gets_everything_once(
    steps: list[tuple[object, ...]],
) -> None:
    conference, effects = domain.Conference.request(TENANT, _requested(), None, _env(0))
    facts = list(effects.facts)
    withheld_by_chair: dict[str, int] = {}
    submitted: dict[str, tuple[bool, bool, str]] = {}
    chair_says: set[str] = set()
    for number, step in enumerate(steps, start=1):
        env = _env(number)
        if step[0] == "say":
            person, yes = str(step[1]), bool(step[2])
            effects = conference.decide_family_sharing(_said(person, yes, env.at), env)
            chair_says = chair_says | {person} if yes else chair_says - {person}
            facts += effects.facts
        # another family member receives a report only while the chair says so
        assert all(
            f.data.recipient_person_id in chair_says
            for f in effects.facts
            if f.type_name == "reports.report.shared.v1"
            and f.data.recipient_role == "family_member"
        )
        if step[0] == "say":
            continue
        if step[0] == "submit":
            rid, restricted, shareable, author = step[1:]
            assert isinstance(rid, str) and isinstance(author, str)
            if rid in submitted:
                with pytest.raises(RuleViolation):
                    conference.submit_report(
                        _submitted(rid, bool(restricted), bool(shareable), author, env.at), env
                    )
                continue
            submitted[rid] = (bool(restricted), bool(shareable), author)
            effects = conference.submit_report(
                _submitted(rid, bool(restricted), bool(shareable), author, env.at), env
            )
        elif step[0] == "add":
            effects = conference.add_participant(TENANT, _added(str(step[1]), str(step[2])), env)
        else:
            if step[2] == "CHAIR":
                withheld_by_chair.setdefault(str(step[1]), len(facts))
            effects = conference.decide_exclusion(_excluded(str(step[1]), str(step[2])))
        facts += effects.facts

    shared = [f.data for f in facts if f.type_name == "reports.report.shared.v1"]
    withheld = [f.data for f in facts if f.type_name == "reports.report.withheld.v1"]
    restricted_uris = {f"crm://{rid}-restricted" for rid in submitted}
    for share in shared:
        if share.recipient_person_id != "CHAIR":
            assert not share.includes_restricted
            assert share.restricted_document_uri is None
            assert share.document_uri not in restricted_uris
    dealt = Counter((o.report_id, o.recipient_person_id) for o in [*shared, *withheld])
    assert all(count == 1 for count in dealt.values())
    family = [
        r.person_id for r in conference.recipients if r.role not in ("chair", "social_worker")
    ]
    for rid, (_restricted, shareable, author) in submitted.items():
        assert (rid, "CHAIR") in dealt
        # the allocated social worker: every agency's report but their own
        assert ((rid, "SW") in dealt) == (author == "POL")
        for person in family:
            # every family recipient is dealt with once, unless the report is a family
            # member's own; never shared after the chair ordered reports withheld
            assert ((rid, person) in dealt) == (author != "MUM")
            share = next(
                (s for s in shared if (s.report_id, s.recipient_person_id) == (rid, person)), None
            )
            if share is not None:
                assert shareable
    for share in shared:
        # a share never happens before the report was submitted
        report = next(r for r in conference.reports if r.report_id == share.report_id)
        assert share.shared_at >= report.received_at
    for person, from_fact in withheld_by_chair.items():
        # once the chair ordered reports withheld from someone, they are shared nothing more
        assert not [
            f
            for f in facts[from_fact:]
            if f.type_name == "reports.report.shared.v1" and f.data.recipient_person_id == person
        ]


def test_each_share_is_judged_against_its_own_deadline() -> None:
    from datetime import date

    due = domain.Deadlines(date(2026, 11, 20), date(2026, 11, 23))
    assert domain.share_on_time("chair", date(2026, 11, 20), due)
    assert not domain.share_on_time("chair", date(2026, 11, 23), due)
    assert domain.share_on_time("parent", date(2026, 11, 23), due)
    assert not domain.share_on_time("parent", date(2026, 11, 24), due)
