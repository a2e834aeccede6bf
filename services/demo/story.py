"""The family's story as the council's CRM tells it: one initial conference for two
children, its invitations answered, reports, an exclusion and the chair's decision; then
what follows it: the core group's first meeting and the detailed plan, the minutes shared,
corrected at the mother's request and shared again, and the core group's second meeting."""

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
                "plan_actions": ACTIONS[:2],
            },
            "2026-11-25T12:30:00+00:00",
        ),
        **after_the_conference(conference_id),
    }


ACTIONS = [
    {"action_id": "A-1", "what": "Health check", "who": "P-HV", "due_by": "2026-12-04",
     "child_id": "C-2"},
    {"action_id": "A-2", "what": "Parenting course", "who": "P-MUM", "due_by": "2027-01-15"},
    {"action_id": "A-3", "what": "School support plan", "who": "P-SCH", "due_by": "2026-12-18",
     "child_id": "C-1"},
]  # fmt: skip
"""The outline plan's two actions, and one more in the detailed plan."""


def after_the_conference(conference_id: str) -> dict[str, dict[str, Any]]:
    """The core group twice, the detailed plan, the minutes and their correction."""
    minutes = {"uri": "crm://documents/MIN-1", "sha256": "b" * 64, "media_type": "application/pdf"}

    def event(type_name: str, at: str, **data: Any) -> dict[str, Any]:
        return crm_event(type_name, conference_id, {"conference_id": conference_id, **data}, at)

    def meeting(meeting_id: str, on: str, done: list[str]) -> dict[str, Any]:
        return event("crm.core_group.held.v1", f"{on}T15:00:00+00:00", meeting_id=meeting_id,
                     held_on=on, attended=["P-MUM", "P-SW", "P-HV"],
                     actions_reviewed=[{"action_id": a, "done": True} for a in done])  # fmt: skip

    def minutes_version(version: int, at: str) -> dict[str, Any]:
        document = {**minutes, "uri": f"{minutes['uri']}-v{version}"}
        restricted = {**minutes, "uri": "crm://documents/MIN-1-restricted"}
        return event(
            "crm.minutes.submitted.v1",
            at,
            minutes_id="MIN-1",
            version=version,
            submitted_at=at,
            document=document,
            restricted_document=restricted,
        )

    return {
        "core_group_1": meeting("CG-1", "2026-12-03", ["A-1"]),
        "plan_agreed": event(
            "crm.plan.agreed.v1",
            "2026-12-03T16:00:00+00:00",
            agreed_on="2026-12-03",
            actions=ACTIONS,
        ),
        "minutes_1": minutes_version(1, "2026-12-08T10:00:00+00:00"),
        "correction": event(
            "crm.minutes.correction_requested.v1",
            "2026-12-09T11:00:00+00:00",
            request_id="CR-1",
            person_id="P-MUM",
            requested_at="2026-12-09T11:00:00+00:00",
        ),
        "answer": event(
            "crm.minutes.correction_answered.v1",
            "2026-12-11T14:00:00+00:00",
            request_id="CR-1",
            answered_by="P-CHAIR",
            answered_at="2026-12-11T14:00:00+00:00",
            accepted=True,
        ),
        "minutes_2": minutes_version(2, "2026-12-14T10:00:00+00:00"),
        "core_group_2": meeting("CG-2", "2026-12-30", []),
    }
