"""A CRM's history of one family across conferences, as raw CloudEvents in publish order:
an initial conference with responses, reports, an exclusion and an outcome, then a review
that continues one plan and steps the other down, then a plan ended outside a conference."""

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
        },
        "2025-11-26T12:30:00Z",
    )
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
