"""A CRM's history of one family across conferences, as raw CloudEvents in publish order:
an initial conference with responses, reports, an exclusion, a grandmother the chair lets
see the reports, an outcome with an outline plan, then what follows it (minutes shared and
corrected, the core group meeting twice and agreeing the detailed plan, the mother's
complaint acknowledged and answered late), then a review that
continues one plan and steps the other down, then a plan ended outside a conference."""

import uuid
from typing import Any

from tests.support.crm import cloud_event, family_conference

_IDS = uuid.UUID("5d3e0c2a-8a0b-4d8c-b1f4-0c4b8b3e9a11")

PROFESSIONALS = [
    {"person_id": "SW", "name": "S", "role": "social_worker", "agency": "Children's Social Care"},
    {"person_id": "POL", "name": "P", "role": "police", "agency": "Police"},
    {"person_id": "HV", "name": "H", "role": "health_visitor", "agency": "Community Health"},
    {"person_id": "SCH", "name": "T", "role": "school", "agency": "Primary School"},
]
FAMILY = [
    {
        "person_id": "MUM",
        "name": "M",
        "role": "parent",
        "child_ids": ["C1", "C2"],
        "has_parental_responsibility": True,
        "lives_with_child": True,
    },
    {
        "person_id": "DAD",
        "name": "D",
        "role": "parent",
        "child_ids": ["C1", "C2"],
        "has_parental_responsibility": True,
        "lives_with_child": False,
    },
]
CHILDREN = [
    {
        "child_id": "C1",
        "given_name": "A",
        "family_name": "B",
        "date_of_birth": "2017-03-01",
        "nhs_number": "9434765919",
        "sex": "female",
    },
    {
        "child_id": "C2",
        "given_name": "C",
        "family_name": "B",
        "date_of_birth": "2023-06-01",
        "sex": "male",
    },
]


class History:
    """Builds one council's events with ids stable for a given (tenant, conference) seed, so
    two runs of the same history can be compared fact by fact."""

    def __init__(self, tenant: str, prefix: str = "CONF") -> None:
        self.tenant = tenant
        self.prefix = prefix
        self.events: list[dict[str, Any]] = []

    def add(self, type_name: str, subject: str, data: dict[str, Any], time: str) -> None:
        event_id = str(uuid.uuid5(_IDS, f"{self.tenant}|{len(self.events)}|{type_name}|{subject}"))
        self.events.append(
            cloud_event(type_name, subject, data, time=time, tenant=self.tenant, event_id=event_id)
        )

    def report(
        self, conference: str, rid: str, author: str, agency: str, at: str, **extra: Any
    ) -> None:
        document = {"uri": f"crm://{rid}", "sha256": "d" * 64, "media_type": "application/pdf"}
        self.add(
            "crm.report.submitted.v1",
            conference,
            {
                "conference_id": conference,
                "report_id": rid,
                "author_person_id": author,
                "agency": agency,
                "submitted_at": at,
                "document": document,
                "sections": [
                    "voice_of_child",
                    "family_strengths",
                    "developmental_needs",
                    "parental_capacity",
                    "wider_factors",
                ],
                **extra,
            },
            at,
        )


GRAN = {"person_id": "GRAN", "name": "G", "role": "family_member", "child_ids": ["C1", "C2"]}
OUTLINE = [
    {"action_id": "A1", "what": "Health check", "who": "HV", "due_by": "2025-12-12",
     "child_id": "C2"},
    {"action_id": "A2", "what": "Parenting course", "who": "MUM", "due_by": "2026-01-16"},
    {"action_id": "A3", "what": "School support plan", "who": "SCH", "due_by": "2026-02-13",
     "child_id": "C1"},
]  # fmt: skip


def _after_the_initial(h: History, initial: str) -> None:
    """The minutes (corrected at the mother's request), the core group's first meeting on
    time with the detailed plan, and its second a little late."""
    document = {"uri": f"crm://{initial}-minutes", "sha256": "c" * 64, "media_type": "x/y"}
    restricted = {**document, "uri": f"crm://{initial}-minutes-restricted"}

    def minutes(version: int, at: str) -> None:
        h.add(
            "crm.minutes.submitted.v1",
            initial,
            {
                "conference_id": initial,
                "minutes_id": f"{initial}-MIN",
                "version": version,
                "submitted_at": at,
                "document": {**document, "uri": f"{document['uri']}-v{version}"},
                "restricted_document": restricted,
            },
            at,
        )

    def core_group(meeting: str, on: str, done: list[str]) -> None:
        h.add(
            "crm.core_group.held.v1",
            initial,
            {
                "conference_id": initial,
                "meeting_id": meeting,
                "held_on": on,
                "attended": ["MUM", "SW", "HV"],
                "actions_reviewed": [{"action_id": a, "done": True} for a in done],
            },
            f"{on}T16:00:00Z",
        )

    complaint = {"conference_id": initial, "complaint_id": f"{initial}-K1"}
    h.add(
        "crm.complaint.received.v1",
        initial,
        {**complaint, "person_id": "MUM", "received_at": "2025-12-01T11:00:00+00:00"},
        "2025-12-01T11:00:00Z",
    )
    h.add(
        "crm.complaint.acknowledged.v1",
        initial,
        {**complaint, "acknowledged_at": "2025-12-02T10:00:00+00:00"},
        "2025-12-02T10:00:00Z",
    )
    core_group(f"{initial}-CG1", "2025-12-05", ["A1"])
    h.add(
        "crm.plan.agreed.v1",
        initial,
        {"conference_id": initial, "agreed_on": "2025-12-05", "actions": OUTLINE},
        "2025-12-05T16:30:00Z",
    )
    minutes(1, "2025-12-10T10:00:00+00:00")
    h.add(
        "crm.minutes.correction_requested.v1",
        initial,
        {
            "conference_id": initial,
            "request_id": f"{initial}-CR1",
            "person_id": "MUM",
            "requested_at": "2025-12-12T10:00:00+00:00",
        },
        "2025-12-12T10:00:00Z",
    )
    h.add(
        "crm.minutes.correction_answered.v1",
        initial,
        {
            "conference_id": initial,
            "request_id": f"{initial}-CR1",
            "answered_by": "CHAIR",
            "answered_at": "2025-12-17T15:00:00+00:00",
            "accepted": True,
        },
        "2025-12-17T15:00:00Z",
    )
    minutes(2, "2025-12-18T10:00:00+00:00")
    h.add(
        "crm.complaint.answered.v1",
        initial,
        {
            **complaint,
            "answered_by": "CHAIR",
            "answered_at": "2025-12-19T12:00:00+00:00",
            "outcome": "not_upheld",
        },
        "2025-12-19T12:00:00Z",
    )
    core_group(f"{initial}-CG2", "2026-01-09", [])


def family_history(tenant: str, prefix: str = "CONF") -> list[dict[str, Any]]:
    """Initial conference on 25 November 2026, review on 23 February 2027, plan ended in May."""
    initial, review = f"{prefix}-1", f"{prefix}-2"
    h = History(tenant, prefix)
    h.add(
        "crm.conference.requested.v1",
        initial,
        family_conference(
            initial,
            scheduled_start="2025-11-26T10:00:00+00:00",
            children=CHILDREN,
            participants=[*FAMILY, *PROFESSIONALS],
            strategy_discussion_date="2025-11-07",
        ),
        "2025-11-17T09:00:00Z",
    )
    for person, at in (("SW", "2025-11-17T11:00:00Z"), ("POL", "2025-11-18T10:00:00Z")):
        h.add(
            "crm.invitation.responded.v1",
            initial,
            {"conference_id": initial, "person_id": person, "response": "attending"},
            at,
        )
    h.report(initial, f"{prefix}-R-SW", "SW", "Children's Social Care", "2025-11-18T16:00:00+00:00")
    h.add(
        "crm.exclusion.decided.v1",
        initial,
        {
            "conference_id": initial,
            "person_id": "DAD",
            "decided_by": "CHAIR",
            "decided_at": "2025-11-19T15:00:00+00:00",
            "scope": "whole",
            "grounds": ["risk_of_violence"],
            "reason": "Threats made to the social worker",
            "alternative_arrangements": ["written views"],
            "withhold_reports": True,
        },
        "2025-11-19T15:00:00Z",
    )
    h.add(
        "crm.participant.added.v1",
        initial,
        {"conference_id": initial, "participant": GRAN},
        "2025-11-20T09:00:00Z",
    )
    h.add(
        "crm.family_sharing.decided.v1",
        initial,
        {
            "conference_id": initial,
            "person_id": "GRAN",
            "decided_by": "CHAIR",
            "decided_at": "2025-11-20T11:00:00+00:00",
            "receives_reports": True,
        },
        "2025-11-20T11:00:00Z",
    )
    h.report(
        initial,
        f"{prefix}-R-POL",
        "POL",
        "Police",
        "2025-11-25T09:30:00+00:00",
        shareable_with_family=False,
        restricted_document={
            "uri": f"crm://{prefix}-R-POL-restricted",
            "sha256": "e" * 64,
            "media_type": "application/pdf",
        },
    )
    h.add(
        "crm.conference.held.v1",
        initial,
        {
            "conference_id": initial,
            "held_on": "2025-11-26",
            "attended": ["CHAIR", "MUM", "SW", "POL", "HV"],
        },
        "2025-11-26T12:00:00Z",
    )
    h.add(
        "crm.outcome.decided.v1",
        initial,
        {
            "conference_id": initial,
            "decided_at": "2025-11-26T12:30:00+00:00",
            "decided_by": "CHAIR",
            "children": [
                {
                    "child_id": "C1",
                    "decision": "child_protection_plan",
                    "categories": ["neglect", "emotional"],
                },
                {"child_id": "C2", "decision": "child_protection_plan", "categories": ["neglect"]},
            ],
            "recommendations": [
                {
                    "person_id": "POL",
                    "agency": "Police",
                    "child_id": "C2",
                    "decision": "child_in_need_plan",
                }
            ],
            "lead_social_worker": "SW",
            "core_group": ["MUM", "SW", "HV"],
            "plan_actions": [OUTLINE[0], OUTLINE[1]],
        },
        "2025-11-26T12:30:00Z",
    )
    _after_the_initial(h, initial)
    review_request = family_conference(
        review,
        kind="review",
        scheduled_start="2026-02-24T10:00:00+00:00",
        children=CHILDREN,
        participants=[FAMILY[0], *PROFESSIONALS],
        previous_conference_id=initial,
    )
    review_request.pop("strategy_discussion_date")
    h.add("crm.conference.requested.v1", review, review_request, "2026-02-02T09:00:00Z")
    h.report(review, f"{prefix}-R-SW2", "SW", "Children's Social Care", "2026-02-13T10:00:00+00:00")
    h.add(
        "crm.conference.held.v1",
        review,
        {
            "conference_id": review,
            "held_on": "2026-02-24",
            "attended": ["CHAIR", "SW", "POL", "SCH"],
        },
        "2026-02-24T12:00:00Z",
    )
    h.add(
        "crm.outcome.decided.v1",
        review,
        {
            "conference_id": review,
            "decided_at": "2026-02-24T12:30:00+00:00",
            "decided_by": "CHAIR",
            "children": [
                {"child_id": "C1", "decision": "child_protection_plan", "categories": ["physical"]},
                {"child_id": "C2", "decision": "child_in_need_plan", "categories": []},
            ],
            "recommendations": [],
            "lead_social_worker": "SW",
            "core_group": ["MUM", "SW"],
        },
        "2026-02-24T12:30:00Z",
    )
    h.add(
        "crm.plan.ended.v1",
        "C2",
        {
            "child_id": "C2",
            "ended_on": "2026-05-11",
            "reason": "transferred_out",
            "recorded_by": "SW",
        },
        "2026-05-11T09:00:00Z",
    )
    return h.events
