"""The family's story as the council's CRM tells it: one initial conference for two
children, its invitations answered, reports, an exclusion and the chair's decision."""

import uuid
from typing import Any

TENANT = "886"  # Kent: the policy preset for this LA code applies


RESPONSES: list[tuple[str, dict[str, Any], str]] = [
    ("P-SW", {"response": "attending"}, "2026-11-17T10:00:00+00:00"),
    ("P-POL", {"response": "attending"}, "2026-11-18T11:00:00+00:00"),
    ("P-SCH", {"response": "apologies"}, "2026-11-18T12:00:00+00:00"),
    ("P-HV", {"response": "attending"}, "2026-11-19T09:00:00+00:00"),
    (
        "P-MUM",
        {
            "response": "attending",
            "supporter": {"name": "Friend", "relationship": "friend"},
        },
        "2026-11-24T08:00:00+00:00",
    ),
]
"""Who answers the invitation, how, and when (the mother names a supporter late)."""


def crm_event(type_name: str, subject: str, data: dict[str, Any], at: str) -> dict[str, Any]:
    """A CloudEvent exactly as the CRM writes it."""
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "crm",
        "type": type_name,
        "time": at,
        "subject": subject,
        "tenant": TENANT,
        "correlationid": subject,
        "causationid": None,
        "datacontenttype": "application/json",
        "data": data,
    }


def scenario(conference_id: str) -> dict[str, dict[str, Any]]:
    """One family, two children; the conference is set two working days past its target."""
    venue = {
        "mode": "hybrid",
        "address": "Civic Centre, Room 4",
        "join_url": "https://meet.example/c1",
    }
    professionals = [
        ("P-SW", "social_worker", "Children's Social Care"),
        ("P-POL", "police", "Kent Police"),
        ("P-HV", "health_visitor", "Community Health"),
        ("P-SCH", "school", "Oak Primary School"),
    ]
    participants = [
        {
            "person_id": "P-MUM",
            "name": "Parent One",
            "role": "parent",
            "child_ids": ["C-1", "C-2"],
            "has_parental_responsibility": True,
            "lives_with_child": True,
            "language": "ar",
            "needs_interpreter": True,
        },
        {
            "person_id": "P-DAD",
            "name": "Parent Two",
            "role": "parent",
            "child_ids": ["C-1", "C-2"],
            "has_parental_responsibility": True,
            "lives_with_child": False,
        },
        *(
            {
                "person_id": pid,
                "name": f"Professional {pid}",
                "role": role,
                "agency": agency,
                "child_ids": ["C-1", "C-2"],
            }
            for pid, role, agency in professionals
        ),
    ]
    document = {"uri": "crm://documents/R-1", "sha256": "a" * 64, "media_type": "application/pdf"}
    return {
        "requested": crm_event(
            "crm.conference.requested.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "kind": "initial",
                "scheduled_start": "2026-11-25T10:00:00+00:00",
                "venue": venue,
                "chair": {"person_id": "P-CHAIR", "name": "Independent Chair"},
                "children": [
                    {
                        "child_id": "C-1",
                        "given_name": "Child",
                        "family_name": "One",
                        "date_of_birth": "2019-03-14",
                        "nhs_number": "9434765919",
                    },
                    {
                        "child_id": "C-2",
                        "given_name": "Child",
                        "family_name": "Two",
                        "date_of_birth": "2023-06-02",
                        "nhs_number": "9434765870",
                    },
                ],
                "participants": participants,
                "strategy_discussion_date": "2026-11-02",
                "section47_start_date": "2026-11-02",
            },
            "2026-11-16T09:00:00+00:00",
        ),
        "sw_report": crm_event(
            "crm.report.submitted.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "report_id": "R-SW",
                "author_person_id": "P-SW",
                "agency": "Children's Social Care",
                "submitted_at": "2026-11-17T16:00:00+00:00",
                "document": document,
                "shareable_with_family": True,
                "sections": [
                    "voice_of_child",
                    "family_strengths",
                    "developmental_needs",
                    "parental_capacity",
                    "wider_factors",
                ],
            },
            "2026-11-17T16:00:00+00:00",
        ),
        "police_report": crm_event(
            "crm.report.submitted.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "report_id": "R-POL",
                "author_person_id": "P-POL",
                "agency": "Kent Police",
                "submitted_at": "2026-11-24T09:30:00+00:00",
                "document": {**document, "uri": "crm://documents/R-POL"},
                "restricted_document": {**document, "uri": "crm://documents/R-POL-restricted"},
                "shareable_with_family": False,
                "sections": ["wider_factors"],
            },
            "2026-11-24T09:30:00+00:00",
        ),
        **{
            f"response_{person}": crm_event(
                "crm.invitation.responded.v1",
                conference_id,
                {"conference_id": conference_id, "person_id": person, **answer},
                at,
            )
            for person, answer, at in RESPONSES
        },
        "exclusion": crm_event(
            "crm.exclusion.decided.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "person_id": "P-DAD",
                "decided_by": "P-CHAIR",
                "decided_at": "2026-11-20T15:00:00+00:00",
                "scope": "whole",
                "grounds": ["risk_of_violence"],
                "reason": "Threats made to the social worker.",
                "alternative_arrangements": ["written views", "separate meeting with the chair"],
                "withhold_reports": False,
            },
            "2026-11-20T15:00:00+00:00",
        ),
        "held": crm_event(
            "crm.conference.held.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "held_on": "2026-11-25",
                "attended": ["P-CHAIR", "P-MUM", "P-SW", "P-POL", "P-HV"],
            },
            "2026-11-25T12:00:00+00:00",
        ),
        "outcome": crm_event(
            "crm.outcome.decided.v1",
            conference_id,
            {
                "conference_id": conference_id,
                "decided_at": "2026-11-25T12:30:00+00:00",
                "decided_by": "P-CHAIR",
                "children": [
                    {
                        "child_id": "C-1",
                        "decision": "child_protection_plan",
                        "categories": ["emotional", "neglect"],
                        "reason": "Risk of significant harm.",
                    },
                    {
                        "child_id": "C-2",
                        "decision": "child_protection_plan",
                        "categories": ["neglect"],
                        "reason": "Risk of significant harm.",
                    },
                ],
                "recommendations": [
                    {
                        "person_id": "P-SW",
                        "agency": "Children's Social Care",
                        "child_id": "C-2",
                        "decision": "child_protection_plan",
                    },
                    {
                        "person_id": "P-SCH",
                        "agency": "Oak Primary School",
                        "child_id": "C-2",
                        "decision": "child_in_need_plan",
                    },
                ],
                "lead_social_worker": "P-SW",
                "core_group": ["P-MUM", "P-DAD", "P-SW", "P-HV", "P-SCH"],
            },
            "2026-11-25T12:30:00+00:00",
        ),
    }
