"""Invitations scenarios on the real broker: raw CloudEvents in, facts out."""

from datetime import UTC, datetime

from services.app import running
from shared.clock import ManualClock
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.listener import Listener, listening

DAD = {
    "person_id": "DAD",
    "name": "D",
    "role": "parent",
    "child_ids": ["C1", "C2"],
    "has_parental_responsibility": True,
    "lives_with_child": False,
}


def crm(
    type_name: str, conference: str, data: dict[str, object], time: str = "2026-11-17T09:00:00Z"
) -> dict[str, object]:
    return cloud_event(type_name, conference, {"conference_id": conference, **data}, time=time)


def issued(listener: Listener, conference: str) -> list[dict[str, object]]:
    return [e["data"] for e in listener.of_type("invitations.invitation.issued.v1", conference)]


async def test_reschedule_reissues_every_live_invitation_and_rechecks_the_timescale(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conference = "CONF-RESCHEDULE"
    data = family_conference(conference, scheduled_start="2026-11-20T10:00:00+00:00")
    async with listening(amqp_url) as listener, running(["invitations"], settings):
        await publish_event(amqp_url, cloud_event("crm.conference.requested.v1", conference, data))
        await listener.wait_until(lambda seen: len(issued(seen, conference)) == 5)
        assert not listener.of_type("invitations.timescale.breached.v1")
        await publish_event(
            amqp_url,
            crm(
                "crm.conference.rescheduled.v1",
                conference,
                {"scheduled_start": "2026-11-26T14:00:00+00:00", "reason": "Chair unwell"},
            ),
        )
        await listener.wait_until(
            lambda seen: (
                len(issued(seen, conference)) == 10
                and bool(seen.of_type("invitations.timescale.breached.v1"))
            )
        )
    second = [i for i in issued(listener, conference) if i["revision"] == 2]
    assert sorted(i["person_id"] for i in second) == ["CHAIR", "MUM", "MW", "POL", "SW"]
    assert {i["scheduled_start"] for i in second} == {"2026-11-26T14:00:00Z"}
    assert {i["respond_by"] for i in second} == {"2026-11-23"}
    breach = listener.of_type("invitations.timescale.breached.v1")[0]["data"]
    assert (breach["scheduled_date"], breach["working_days_late"]) == ("2026-11-26", 3)


async def test_cancellation_withdraws_everything_and_later_answers_are_rejected(
    settings: Settings, amqp_url: str
) -> None:
    conference = "CONF-CANCEL"
    async with listening(amqp_url) as listener, running(["invitations"], settings):
        await publish_event(
            amqp_url,
            cloud_event("crm.conference.requested.v1", conference, family_conference(conference)),
        )
        await listener.wait_until(lambda seen: len(issued(seen, conference)) == 5)
        await publish_event(
            amqp_url,
            crm("crm.conference.cancelled.v1", conference, {"reason": "Family moved away"}),
        )
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.invitation.withdrawn.v1")) == 5
        )
        await publish_event(
            amqp_url,
            crm(
                "crm.invitation.responded.v1",
                conference,
                {"person_id": "MUM", "response": "attending"},
            ),
        )
        await listener.wait_until(lambda seen: bool(seen.of_type("invitations.input.rejected.v1")))
    withdrawn = listener.of_type("invitations.invitation.withdrawn.v1")
    assert {w["data"]["reason"] for w in withdrawn} == {"cancelled"}
    rejected = listener.of_type("invitations.input.rejected.v1")[0]["data"]
    assert rejected["reasons"] == [f"conference {conference} was cancelled"]


async def test_responses_supporters_and_quorum_up_to_the_day_before(
    settings: Settings, amqp_url: str
) -> None:
    conference = "CONF-QUORUM"
    clock = ManualClock(datetime(2026, 11, 17, 9, 0, tzinfo=UTC))
    data = family_conference(conference)
    data["participants"].append({"person_id": "GP", "name": "G", "role": "gp", "agency": "Surgery"})
    async with listening(amqp_url) as listener, running(["invitations"], settings, clock=clock):
        await publish_event(amqp_url, cloud_event("crm.conference.requested.v1", conference, data))
        await listener.wait_until(lambda seen: len(issued(seen, conference)) == 6)
        for person, response, extra, at in [
            ("SW", "attending", {}, "2026-11-18T09:00:00Z"),
            ("POL", "apologies", {}, "2026-11-18T10:00:00Z"),
            (
                "MUM",
                "attending",
                {
                    "supporter": {"name": "Aunt", "relationship": "sister"},
                    "needs_interpreter": True,
                    "language": "pl",
                },
                "2026-11-24T08:00:00Z",
            ),
            (
                "GP",
                "deputy",
                {"deputy": {"person_id": "GP2", "name": "G2", "role": "gp", "agency": "Surgery"}},
                "2026-11-19T09:00:00Z",
            ),
        ]:
            clock.set(max(clock.now(), datetime.fromisoformat(at)))  # sent as it is given
            await publish_event(
                amqp_url,
                crm(
                    "crm.invitation.responded.v1",
                    conference,
                    {"person_id": person, "response": response, **extra},
                    time=at,
                ),
            )
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.quorum.assessed.v1")) == 4
        )
        clock.set(datetime(2026, 11, 24, 9, 1, tzinfo=UTC))  # one working day before, 09:00
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.quorum.assessed.v1")) == 5
        )
        await listener.settle()
    responses = {
        e["data"]["person_id"]: e["data"]
        for e in listener.of_type("invitations.response.recorded.v1")
    }
    assert responses["MUM"]["supporter_notice_late"] is True  # named after 23 November
    assert responses["MUM"]["supporter"] == {"name": "Aunt", "relationship": "sister"}
    assert responses["GP"]["deputy"]["person_id"] == "GP2"
    last = listener.of_type("invitations.quorum.assessed.v1")[-1]["data"]
    assert last["quorate"] is False
    assert last["agencies_attending"] == ["Children's Social Care", "Surgery"]
    assert last["missing"] == "1 more agency besides children's social care needed"
    assert len(listener.of_type("invitations.quorum.assessed.v1")) == 5  # the timer fired once


async def test_exclusion_recorded_then_decided_afresh_at_the_review(
    settings: Settings, amqp_url: str, database: str
) -> None:
    initial, review = "CONF-EXCL-1", "CONF-EXCL-2"
    data = family_conference(initial)
    data["participants"].append(DAD)
    exclusion = {
        "person_id": "DAD",
        "decided_by": "CHAIR",
        "decided_at": "2026-11-20T15:00:00+00:00",
        "scope": "whole",
        "grounds": ["risk_of_violence", "police_investigation"],
        "reason": "Threats to staff.",
        "alternative_arrangements": ["written views"],
        "withhold_reports": True,
    }
    async with listening(amqp_url) as listener, running(["invitations"], settings):
        await publish_event(amqp_url, cloud_event("crm.conference.requested.v1", initial, data))
        await listener.wait_until(lambda seen: len(issued(seen, initial)) == 6)
        await publish_event(
            amqp_url, crm("crm.exclusion.decided.v1", initial, {**exclusion, "decided_by": "SW"})
        )
        await publish_event(amqp_url, crm("crm.exclusion.decided.v1", initial, exclusion))
        await listener.wait_until(
            lambda seen: (
                bool(seen.of_type("invitations.invitation.withdrawn.v1"))
                and bool(seen.of_type("invitations.input.rejected.v1"))
            )
        )
        # the initial conference took place: its exclusions are settled
        await publish_event(
            amqp_url, crm("crm.conference.held.v1", initial, {"held_on": "2026-11-25"})
        )
        review_data = family_conference(
            review,
            kind="review",
            previous_conference_id=initial,
            scheduled_start="2027-02-18T10:00:00+00:00",
        )
        await publish_event(
            amqp_url, cloud_event("crm.conference.requested.v1", review, review_data)
        )
        await listener.wait_until(
            lambda seen: bool(seen.of_type("invitations.exclusion.review_required.v1"))
        )
        await listener.settle()
    recorded = listener.of_type("invitations.exclusion.recorded.v1")
    assert len(recorded) == 1
    assert recorded[0]["data"]["withhold_reports"] is True
    assert recorded[0]["data"]["grounds"] == ["risk_of_violence", "police_investigation"]
    assert recorded[0]["data"]["recorded_at"]
    withdrawn = listener.of_type("invitations.invitation.withdrawn.v1")[0]["data"]
    assert (withdrawn["person_id"], withdrawn["reason"]) == ("DAD", "excluded")
    rejected = listener.of_type("invitations.input.rejected.v1")[0]["data"]
    assert rejected["reasons"] == ["only this conference's chair can decide an exclusion"]
    assert "DAD" in {i["person_id"] for i in issued(listener, review)}  # invited as normal
    required = listener.of_type("invitations.exclusion.review_required.v1")[0]["data"]
    assert required == {
        "conference_id": review,
        "person_id": "DAD",
        "previous_conference_id": initial,
        "previous_grounds": ["risk_of_violence", "police_investigation"],
    }
    advised = listener.of_type("invitations.attendance.advised.v1", initial)
    assert [a["code"] for a in advised[-1]["data"]["advice"]] == [
        "parental_responsibility_not_invited"
    ]  # the excluded father's views still matter


async def test_advice_for_a_family_like_the_seed_leaflets(
    settings: Settings, amqp_url: str
) -> None:
    """Kent's leaflet: a health visitor if a child is under 5, a police officer, the
    child's views; Redbridge's: both parents, including one who lives elsewhere."""
    conference = "CONF-ADVICE"
    data = family_conference(
        conference,
        children=[
            {
                "child_id": "K12",
                "given_name": "A",
                "family_name": "B",
                "date_of_birth": "2014-05-01",
            },
            {
                "child_id": "K2",
                "given_name": "C",
                "family_name": "B",
                "date_of_birth": "2024-08-01",
            },
        ],
        participants=[
            {
                "person_id": "GRAN",
                "name": "G",
                "role": "carer",
                "child_ids": ["K12", "K2"],
                "has_parental_responsibility": False,
                "lives_with_child": True,
            },
            {"person_id": "SW", "name": "S", "role": "social_worker", "agency": "CSC"},
            {
                "person_id": "SCH",
                "name": "T",
                "role": "school",
                "agency": "School",
                "child_ids": ["K12"],
            },
        ],
    )
    async with listening(amqp_url) as listener, running(["invitations"], settings):
        await publish_event(amqp_url, cloud_event("crm.conference.requested.v1", conference, data))
        await listener.wait_until(
            lambda seen: bool(seen.of_type("invitations.attendance.advised.v1"))
        )
        for participant in (
            {**DAD, "child_ids": ["K12", "K2"]},
            {"person_id": "HV", "name": "H", "role": "health_visitor", "agency": "Health"},
            {"person_id": "POL", "name": "P", "role": "police", "agency": "Police"},
            {"person_id": "K12", "name": "K", "role": "child", "child_ids": ["K12"]},
            {"person_id": "HV", "name": "H", "role": "health_visitor", "agency": "Health"},
        ):
            await publish_event(
                amqp_url, crm("crm.participant.added.v1", conference, {"participant": participant})
            )
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.attendance.advised.v1")) == 5
        )
        await listener.settle()
    advised = [
        [(a["code"], a["child_id"]) for a in e["data"]["advice"]]
        for e in listener.of_type("invitations.attendance.advised.v1")
    ]
    assert advised[0] == [
        ("child_views_needed", "K12"),
        ("parental_responsibility_not_invited", "K12"),
        ("health_visitor_expected", "K2"),
        ("parental_responsibility_not_invited", "K2"),
        ("police_expected", None),
    ]
    assert advised[-1] == []  # every gap closed
    assert len(issued(listener, conference)) == 4 + 4  # chair, three listed; four added once


async def test_an_interpreter_need_is_recorded_and_advised_until_one_is_invited(
    settings: Settings, amqp_url: str, database: str
) -> None:
    """A parent answers that she needs an interpreter: the answer says so, the chair's list
    advice names the gap, and it closes when an interpreter for her language is added."""
    conference = "CONF-INTERPRETER"
    data = family_conference(conference)
    answer = {"person_id": "MUM", "response": "attending", "needs_interpreter": True,
              "language": "pl"}  # fmt: skip
    interpreter = {"person_id": "INT", "name": "I", "role": "interpreter", "language": "PL"}

    def gaps(seen: Listener) -> list[list[str]]:
        return [
            [a["code"] for a in e["data"]["advice"] if a["code"] == "interpreter_needed"]
            for e in seen.of_type("invitations.attendance.advised.v1", conference)
        ]

    async with listening(amqp_url) as listener, running(["invitations"], settings):
        await publish_event(amqp_url, cloud_event("crm.conference.requested.v1", conference, data))
        await listener.wait_until(lambda seen: len(issued(seen, conference)) == 5)
        await publish_event(amqp_url, crm("crm.invitation.responded.v1", conference, answer))
        await listener.wait_until(lambda seen: gaps(seen)[-1:] == [["interpreter_needed"]])
        await publish_event(
            amqp_url,
            crm("crm.participant.added.v1", conference, {"participant": interpreter}),
        )
        await listener.wait_until(lambda seen: len(gaps(seen)) >= 2 and gaps(seen)[-1] == [])
        await listener.settle()
    [recorded] = listener.of_type("invitations.response.recorded.v1", conference)
    assert (recorded["data"]["needs_interpreter"], recorded["data"]["language"]) == (True, "pl")
    [raised] = [
        a
        for e in listener.of_type("invitations.attendance.advised.v1", conference)
        for a in e["data"]["advice"]
        if a["code"] == "interpreter_needed"
    ]
    assert raised["message"] == "MUM needs an interpreter (pl): none is invited."
    # The list had no gap when requested (nothing said), one once she answered, none once an
    # interpreter for her language was added.
    assert gaps(listener) == [["interpreter_needed"], []]
