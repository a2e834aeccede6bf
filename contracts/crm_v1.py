"""Version 1 of the facts the CRM publishes on `crm.events`."""

from datetime import date
from typing import Literal, Self

from pydantic import AwareDatetime, ConfigDict, Field, model_validator

from contracts.base import ContractModel, HappenedAt, HappenedOn, Identifier
from contracts.common_v1 import (
    AbuseCategory,
    Child,
    ConferenceKind,
    Decision,
    DocumentRef,
    Participant,
    Person,
    Venue,
)

ResponseKind = Literal["attending", "apologies", "deputy"]
ExclusionGround = Literal[
    "risk_of_violence",
    "risk_to_child",
    "harm_to_participant_wellbeing",
    "under_influence",
    "police_investigation",
    "legal_advice",
    "confidential_third_party_information",
    "child_request",
    "other",
]
ReportSection = Literal[
    "voice_of_child",
    "family_strengths",
    "developmental_needs",
    "parental_capacity",
    "wider_factors",
]
PlanEndReason = Literal["transferred_out", "turned_18", "died", "became_looked_after", "other"]


KIND_REQUIRES = {
    ConferenceKind.INITIAL: "strategy_discussion_date",
    ConferenceKind.TRANSFER_IN: "transfer_notice_date",
    ConferenceKind.REVIEW: "previous_conference_id",
}
"""The field each kind of conference must give."""


class ConferenceRequested(ContractModel):
    """`crm.conference.requested.v1`: a conference was requested and scheduled."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"required": ["kind"], "properties": {"kind": {"const": str(kind)}}},
                    "then": {"required": [field], "properties": {field: {"type": "string"}}},
                }
                for kind, field in KIND_REQUIRES.items()
            ]
        }
    )

    conference_id: Identifier = Field(description="The CRM's conference id.")
    kind: ConferenceKind = Field(description="Initial, review or transfer-in.")
    scheduled_start: AwareDatetime = Field(description="Start time, RFC 3339 with an offset.")
    venue: Venue = Field(description="Where and how people attend.")
    chair: Person = Field(description="The independent chair.")
    children: list[Child] = Field(
        min_length=1, max_length=50, description="The children it concerns."
    )
    participants: list[Participant] = Field(
        default_factory=list,
        max_length=500,
        description="Everyone the CRM invites besides the chair.",
    )
    strategy_discussion_date: HappenedOn | None = Field(
        default=None,
        description="Initial: date of the strategy discussion that started the section 47 "
        "enquiry (required for `initial`). Past-only.",
    )
    section47_start_date: HappenedOn | None = Field(
        default=None, description="Initial: the date the section 47 enquiry started. Past-only."
    )
    transfer_notice_date: HappenedOn | None = Field(
        default=None,
        description="Transfer-in: date of written notice of the move (required for "
        "`transfer_in`). Past-only.",
    )
    previous_conference_id: Identifier | None = Field(
        default=None, description="Review: the previous conference (required for `review`)."
    )

    @model_validator(mode="after")
    def _kind_fields(self) -> Self:
        required = KIND_REQUIRES[ConferenceKind(self.kind)]
        if getattr(self, required) is None:
            raise ValueError(f"a {self.kind} conference needs {required}")
        return self


class ConferenceRescheduled(ContractModel):
    """`crm.conference.rescheduled.v1`: the conference moved."""

    conference_id: Identifier = Field(description="The conference.")
    scheduled_start: AwareDatetime = Field(description="The new start time.")
    reason: str = Field(description="Why it moved.")


class ConferenceCancelled(ContractModel):
    """`crm.conference.cancelled.v1`: the conference will not take place."""

    conference_id: Identifier = Field(description="The conference.")
    reason: str = Field(description="Why it was cancelled.")


class ParticipantAdded(ContractModel):
    """`crm.participant.added.v1`: someone was added to the invitation list."""

    conference_id: Identifier = Field(description="The conference.")
    participant: Participant = Field(description="The person added.")


class ChildAdded(ContractModel):
    """`crm.child.added.v1`: a child was added to a conference after it was requested (another
    child living in the household). A new type within v1; nothing else changed."""

    conference_id: Identifier = Field(description="The conference.")
    child: Child = Field(description="The child added.")


class Supporter(ContractModel):
    """A supporter a family member will bring."""

    name: str = Field(min_length=1, description="The supporter's name.")
    relationship: str = Field(description="Their relationship to the family member.")


class InvitationResponded(ContractModel):
    """`crm.invitation.responded.v1`: an invitee answered."""

    conference_id: Identifier = Field(description="The conference.")
    person_id: Identifier = Field(description="Who answered.")
    response: ResponseKind = Field(description="Attending, apologies, or a deputy attends.")
    deputy: Participant | None = Field(default=None, description="The deputy, for `deputy`.")
    supporter: Supporter | None = Field(default=None, description="A supporter they will bring.")
    needs_interpreter: bool | None = Field(default=None, description="Needs an interpreter.")
    language: str | None = Field(default=None, description="Language for the interpreter.")


class ExclusionDecided(ContractModel):
    """`crm.exclusion.decided.v1`: the chair decided to exclude a family member."""

    conference_id: Identifier = Field(description="The conference.")
    person_id: Identifier = Field(description="Who is excluded.")
    decided_by: Identifier = Field(description="person_id of the chair who decided.")
    decided_at: HappenedAt = Field(description="When the chair decided. Past-only.")
    scope: Literal["whole", "part"] = Field(description="The whole conference or part of it.")
    part_description: str | None = Field(
        default=None, description="Which part, required for `part`."
    )
    grounds: list[ExclusionGround] = Field(
        min_length=1, max_length=20, description="At least one ground."
    )
    reason: str = Field(description="The chair's written reason.")
    alternative_arrangements: list[str] = Field(
        max_length=20, default_factory=list, description="How the person will still be heard."
    )
    withhold_reports: bool = Field(
        default=False, description="The chair ordered reports withheld from the person."
    )


class FamilySharingDecided(ContractModel):
    """`crm.family_sharing.decided.v1`: the chair said whether a family member who is not a
    parent or carer (role `family_member`) receives the conference's reports and minutes.
    Parents and carers receive them by right; another family member only from the chair's
    yes, until a later no. A new type within v1."""

    conference_id: Identifier = Field(description="The conference.")
    person_id: Identifier = Field(description="The family member.")
    decided_by: Identifier = Field(description="person_id of the chair who decided.")
    decided_at: HappenedAt = Field(description="When the chair decided. Past-only.")
    receives_reports: bool = Field(
        description="True: they receive reports and minutes from now on; false: no more."
    )


class ReportSubmitted(ContractModel):
    """`crm.report.submitted.v1`: an agency (or family member) submitted a report."""

    conference_id: Identifier = Field(description="The conference.")
    report_id: Identifier = Field(description="The CRM's report id.")
    author_person_id: Identifier = Field(description="Who wrote it.")
    agency: str = Field(min_length=1, description="The author's agency (or `family`).")
    submitted_at: HappenedAt = Field(description="When it was submitted. Past-only.")
    document: DocumentRef = Field(description="The shareable document.")
    restricted_document: DocumentRef | None = Field(
        default=None, description="The restricted part, for the chair only."
    )
    shareable_with_family: bool = Field(
        default=True, description="False when the whole report is withheld before the conference."
    )
    sections: list[ReportSection] = Field(
        max_length=20, default_factory=list, description="Which checklist sections it covers."
    )


class MinutesSubmitted(ContractModel):
    """`crm.minutes.submitted.v1`: the minutes of a conference (a later version amends the
    one before and supersedes it). A new type within v1."""

    conference_id: Identifier = Field(description="The conference.")
    minutes_id: Identifier = Field(description="The CRM's id for the minutes.")
    version: int = Field(ge=1, le=100, description="1 for the minutes, 2 on for amendments.")
    submitted_at: HappenedAt = Field(description="When they were submitted. Past-only.")
    document: DocumentRef = Field(description="The minutes everyone entitled may see.")
    restricted_document: DocumentRef | None = Field(
        default=None,
        description="The restricted part, for the chair and the professionals only.",
    )


class MinutesCorrectionRequested(ContractModel):
    """`crm.minutes.correction_requested.v1`: a family member asked the chair to correct the
    minutes they received. A new type within v1."""

    conference_id: Identifier = Field(description="The conference.")
    request_id: Identifier = Field(description="The CRM's id for the request.")
    person_id: Identifier = Field(description="The family member who asks.")
    requested_at: HappenedAt = Field(description="When they asked. Past-only.")


class MinutesCorrectionAnswered(ContractModel):
    """`crm.minutes.correction_answered.v1`: the chair answered a request to correct the
    minutes (an amended version follows as `crm.minutes.submitted.v1`). A new type within
    v1."""

    conference_id: Identifier = Field(description="The conference.")
    request_id: Identifier = Field(description="The request answered.")
    answered_by: Identifier = Field(description="person_id of the chair.")
    answered_at: HappenedAt = Field(description="When the chair answered. Past-only.")
    accepted: bool = Field(description="True when the minutes will be amended.")


class ConferenceHeld(ContractModel):
    """`crm.conference.held.v1`: the conference took place."""

    conference_id: Identifier = Field(description="The conference.")
    held_on: HappenedOn = Field(description="The date it was held. Past-only.")
    attended: list[Identifier] = Field(
        default_factory=list, max_length=1000, description="person_ids who attended."
    )


class ChildOutcome(ContractModel):
    """The chair's decision for one child."""

    child_id: Identifier = Field(description="The child.")
    decision: Decision = Field(description="Plan, child in need plan, or no further action.")
    categories: list[AbuseCategory] = Field(
        default_factory=list,
        max_length=8,
        description="Categories of abuse, one or more for a plan.",
    )
    reason: str = Field(default="", description="The chair's reasons.")


class PlanAction(ContractModel):
    """One action of a child protection plan: what, by whom, by when."""

    action_id: Identifier = Field(description="The CRM's id for the action.")
    what: str = Field(min_length=1, description="What is to be done.")
    who: Identifier = Field(description="person_id of who does it.")
    due_by: date = Field(description="The date it is to be done by.")
    child_id: Identifier | None = Field(default=None, description="The child it is for, if one.")


class Recommendation(ContractModel):
    """One professional's recommendation for one child."""

    person_id: Identifier = Field(description="Who recommended.")
    agency: str = Field(description="Their agency.")
    child_id: Identifier = Field(description="For which child.")
    decision: Decision = Field(description="What they recommended.")


class OutcomeDecided(ContractModel):
    """`crm.outcome.decided.v1`: the chair recorded the outcome."""

    conference_id: Identifier = Field(description="The conference.")
    decided_at: HappenedAt = Field(description="When the chair decided. Past-only.")
    decided_by: Identifier = Field(description="person_id of the chair.")
    children: list[ChildOutcome] = Field(
        min_length=1, max_length=50, description="One decision per child."
    )
    recommendations: list[Recommendation] = Field(
        max_length=2000,
        default_factory=list,
        description="Each professional's recommendation per child.",
    )
    lead_social_worker: Identifier | None = Field(
        default=None, description="person_id of the lead social worker (key worker)."
    )
    core_group: list[Identifier] = Field(
        default_factory=list, max_length=1000, description="person_ids in the core group."
    )
    inquorate_reason: str | None = Field(
        default=None, description="Why the chair decided although the conference was inquorate."
    )
    plan_actions: list[PlanAction] = Field(
        default_factory=list,
        max_length=500,
        description="Optional (added within v1): the outline plan's actions; each not done "
        "by its date is raised with the lead social worker and the chair.",
    )
    correction_reason: str | None = Field(
        default=None,
        description="Required when the conference already has a recorded outcome: this "
        "decision supersedes it.",
    )


class PlanAgreed(ContractModel):
    """`crm.plan.agreed.v1`: the core group agreed the detailed plan of a conference's
    children (usually at its first meeting); its actions replace the outline plan's. A new
    type within v1."""

    conference_id: Identifier = Field(description="The conference whose plan it details.")
    agreed_on: HappenedOn = Field(description="The date it was agreed. Past-only.")
    actions: list[PlanAction] = Field(
        min_length=1, max_length=500, description="What needs to be done, by whom and when."
    )


class ActionReviewed(ContractModel):
    """A plan action the core group reviewed."""

    action_id: Identifier = Field(description="The action.")
    done: bool = Field(description="True when it has been done.")


class CoreGroupHeld(ContractModel):
    """`crm.core_group.held.v1`: the core group of a conference's plan met. A new type
    within v1."""

    conference_id: Identifier = Field(description="The conference whose plan it works to.")
    meeting_id: Identifier = Field(description="The CRM's id for the meeting.")
    held_on: HappenedOn = Field(description="The date it met. Past-only.")
    attended: list[Identifier] = Field(
        default_factory=list, max_length=1000, description="person_ids who attended."
    )
    actions_reviewed: list[ActionReviewed] = Field(
        default_factory=list, max_length=500, description="The plan actions it reviewed."
    )


class PlanEnded(ContractModel):
    """`crm.plan.ended.v1`: a plan ended outside a conference."""

    child_id: Identifier = Field(description="The child.")
    ended_on: HappenedOn = Field(description="The date the plan ended. Past-only.")
    reason: PlanEndReason = Field(description="Why it ended.")
    recorded_by: Identifier = Field(description="person_id who recorded it.")


ComplaintOutcome = Literal["upheld", "partly_upheld", "not_upheld", "withdrawn"]


class ComplaintReceived(ContractModel):
    """`crm.complaint.received.v1`: a parent or carer, or a professional, complained about a
    conference (its conduct or its decision). A complaint never suspends the decision. A new
    type within v1."""

    conference_id: Identifier = Field(description="The conference complained about.")
    complaint_id: Identifier = Field(description="The CRM's id for the complaint.")
    person_id: Identifier = Field(description="Who complains: someone invited to it.")
    received_at: HappenedAt = Field(description="When it was received. Past-only.")


class ComplaintAcknowledged(ContractModel):
    """`crm.complaint.acknowledged.v1`: the council acknowledged a complaint. A new type
    within v1."""

    conference_id: Identifier = Field(description="The conference.")
    complaint_id: Identifier = Field(description="The complaint.")
    acknowledged_at: HappenedAt = Field(description="When. Past-only.")


class ComplaintAnswered(ContractModel):
    """`crm.complaint.answered.v1`: the chair answered a complaint (after consulting customer
    care, as the council's procedure says), or it was withdrawn. A new type within v1."""

    conference_id: Identifier = Field(description="The conference.")
    complaint_id: Identifier = Field(description="The complaint.")
    answered_by: Identifier = Field(description="person_id of the chair who answered.")
    answered_at: HappenedAt = Field(description="When. Past-only.")
    outcome: ComplaintOutcome = Field(description="Upheld, partly upheld, not upheld, withdrawn.")
