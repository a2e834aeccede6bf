"""Version 1 of the facts the invitations service publishes on `invitations.events`."""

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, Field

from contracts.base import ContractModel
from contracts.common_v1 import ConferenceKind, Participant, Role, Venue
from contracts.crm_v1 import ExclusionDecided, ExclusionGround, ResponseKind, Supporter

InviteeRole = Role | Literal["chair"]
AdviceCode = Literal[
    "child_views_needed",
    "health_visitor_expected",
    "interpreter_needed",
    "parental_responsibility_not_invited",
    "police_expected",
    "social_care_expected",
]


class InvitationIssued(ContractModel):
    """`invitations.invitation.issued.v1`: an invitation (or a new revision of one) was sent."""

    conference_id: str = Field(description="The conference.")
    person_id: str = Field(description="The invitee.")
    role: InviteeRole = Field(description="Their role, or `chair`.")
    revision: int = Field(ge=1, description="1, then +1 on each reschedule.")
    kind: ConferenceKind = Field(description="The kind of conference.")
    scheduled_start: AwareDatetime = Field(description="Start time.")
    pre_meeting_start: AwareDatetime | None = Field(
        default=None, description="Family: the chair's pre-meeting with them."
    )
    venue: Venue = Field(description="Where and how to attend.")
    respond_by: date = Field(description="Please respond by this date.")
    supporter_notice_by: date | None = Field(
        default=None, description="Family: tell the chair of a supporter by this date."
    )
    needs_interpreter: bool = Field(default=False, description="An interpreter is arranged.")
    language: str | None = Field(default=None, description="The interpreter's language.")
    accessibility_needs: str | None = Field(
        default=None,
        description="Optional (added within v1): arrangements the invitee needs to take part.",
    )
    chair_contact_by: date | None = Field(
        default=None,
        description="Optional (added within v1), family: where the council's policy has the "
        "chair meet or phone the family before the day instead of the pre-meeting, the date "
        "by which the chair will have been in touch.",
    )


class InvitationWithdrawn(ContractModel):
    """`invitations.invitation.withdrawn.v1`: an invitation no longer stands."""

    conference_id: str = Field(description="The conference.")
    person_id: str = Field(description="The former invitee.")
    reason: Literal["excluded", "cancelled"] = Field(description="Why it was withdrawn.")


class Advice(ContractModel):
    """One piece of advice about the invitation list."""

    code: AdviceCode = Field(description="What kind of gap.")
    child_id: str | None = Field(default=None, description="The child it concerns, if any.")
    message: str = Field(description="The advice in words a social worker understands.")


class AttendanceAdvised(ContractModel):
    """`invitations.attendance.advised.v1`: gaps in the invitation list (advice, not a block)."""

    conference_id: str = Field(description="The conference.")
    advice: list[Advice] = Field(description="Each gap found.")


class ResponseRecorded(ContractModel):
    """`invitations.response.recorded.v1`: an invitee's answer was recorded."""

    conference_id: str = Field(description="The conference.")
    person_id: str = Field(description="Who answered.")
    response: ResponseKind = Field(description="Their answer.")
    deputy: Participant | None = Field(default=None, description="The deputy, if any.")
    supporter: Supporter | None = Field(default=None, description="Their supporter, if any.")
    supporter_notice_late: bool = Field(
        default=False, description="The supporter was named after the notice date."
    )
    needs_interpreter: bool | None = Field(
        default=None,
        description="Optional (added within v1): whether they need an interpreter, as the "
        "answer said (absent: the answer did not say).",
    )
    language: str | None = Field(
        default=None,
        description="Optional (added within v1): the language for the interpreter, as the "
        "answer said.",
    )


class ExclusionRecorded(ExclusionDecided):
    """`invitations.exclusion.recorded.v1`: the exclusion as received, now on the audit record."""

    recorded_at: datetime = Field(description="When it was recorded.")
    late_request: bool = Field(
        default=False,
        description="Optional (added within v1): the request reached the chair later than the "
        "policy's `exclusion_request_before` working days before the conference.",
    )


class ExclusionReviewRequired(ContractModel):
    """`invitations.exclusion.review_required.v1`: a fresh exclusion decision is due."""

    conference_id: str = Field(description="The new conference.")
    person_id: str = Field(description="The person excluded last time.")
    previous_conference_id: str = Field(description="Where they were excluded.")
    previous_grounds: list[ExclusionGround] = Field(description="The grounds given then.")


class QuorumAssessed(ContractModel):
    """`invitations.quorum.assessed.v1`: whether the conference is quorate."""

    conference_id: str = Field(description="The conference.")
    quorate: bool = Field(description="Social care plus enough other agencies attend.")
    agencies_attending: list[str] = Field(description="Agencies expected to attend.")
    missing: str = Field(description="What is missing for quorum, or empty.")
    final: bool = Field(
        default=False,
        description="Optional (added within v1): true for the assessment from the attendance "
        "recorded in crm.conference.held.v1; false for the outlook from the answers.",
    )


class TimescaleBreached(ContractModel):
    """`invitations.timescale.breached.v1`: the conference is later than the statutory date."""

    conference_id: str = Field(description="The conference.")
    rule: Literal["initial_within_15_working_days", "transfer_in_within_15_working_days"] = Field(
        description="The rule broken."
    )
    target_date: date = Field(description="The last date the rule allows.")
    scheduled_date: date = Field(description="The date it is scheduled for.")
    working_days_late: int = Field(ge=1, description="Working days after the target date.")
