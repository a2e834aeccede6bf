"""Version 1 of the facts the decisions service publishes on `decisions.events`."""

from datetime import date
from typing import Literal

from pydantic import Field

from contracts.base import ContractModel
from contracts.common_v1 import AbuseCategory, Decision
from contracts.crm_v1 import ComplaintOutcome, PlanEndReason

CensusCategory = Literal["NEG", "PHY", "EMO", "SAB", "MUL"]
PlanType = Literal["child_protection", "unborn_child_protection", "child_in_need"]


class RecordedChildOutcome(ContractModel):
    """The recorded decision for one child."""

    child_id: str = Field(description="The child.")
    decision: Decision = Field(description="The chair's decision.")
    categories: list[AbuseCategory] = Field(description="Categories of abuse (plans only).")
    census_category: CensusCategory | None = Field(
        description="The census code: NEG, PHY, EMO, SAB, or MUL for more than one; null "
        "without a plan."
    )


class Dissent(ContractModel):
    """A recommendation the decision differs from."""

    person_id: str = Field(description="Who recommended otherwise.")
    child_id: str = Field(description="For which child.")
    recommended: Decision = Field(description="What they recommended.")


class OutcomeRecorded(ContractModel):
    """`decisions.outcome.recorded.v1`: the outcome is on record."""

    conference_id: str = Field(description="The conference.")
    record_id: str = Field(description="This record; a correction gets a new one.")
    children: list[RecordedChildOutcome] = Field(description="One decision per child.")
    dissent: list[Dissent] = Field(description="Recommendations the decision differs from.")
    quorate: bool = Field(description="The conference was quorate.")
    supersedes: str | None = Field(description="The record this one corrects, or null.")


class PlanStarted(ContractModel):
    """`decisions.plan.started.v1`: a plan started (for the NHS CP-IS and the census)."""

    plan_id: str = Field(description="The plan.")
    child_id: str = Field(description="The child.")
    nhs_number: str | None = Field(default=None, description="The child's NHS number, if known.")
    plan_type: PlanType = Field(description="The kind of plan.")
    start_date: date = Field(description="The conference date.")
    category: CensusCategory | None = Field(description="Census category for protection plans.")
    lead_social_worker: str | None = Field(default=None, description="person_id of the key worker.")
    conference_id: str | None = Field(default=None, description="The conference that started it.")
    tenant: str | None = Field(default=None, description="The council's LA code (for CP-IS).")


class PlanEnded(ContractModel):
    """`decisions.plan.ended.v1`: a plan ended."""

    plan_id: str = Field(description="The plan.")
    child_id: str = Field(description="The child.")
    plan_type: PlanType = Field(description="The kind of plan.")
    end_date: date = Field(description="The date it ended.")
    reason: PlanEndReason | Literal["review_decision"] = Field(description="Why it ended.")
    nhs_number: str | None = Field(default=None, description="The child's NHS number, if known.")
    tenant: str | None = Field(default=None, description="Optional: the council's LA code.")
    voided: bool = Field(
        default=False,
        description="Optional: a correction withdrew the decision that started the plan; it "
        "is to be treated as never having started.",
    )


class PlanCategoryChanged(ContractModel):
    """`decisions.plan.category_changed.v1`: a review changed a plan's category."""

    plan_id: str = Field(description="The plan.")
    child_id: str = Field(description="The child.")
    from_: CensusCategory = Field(alias="from", description="The category before.")
    to: CensusCategory = Field(description="The category now.")
    on: date = Field(description="The review date.")
    from_categories: list[AbuseCategory] = Field(
        default_factory=list,
        description="Optional (added within v1): the categories before (MUL to MUL can "
        "still be a change).",
    )
    to_categories: list[AbuseCategory] = Field(
        default_factory=list, description="Optional (added within v1): the categories now."
    )


NoticeRecipientKind = Literal["family", "lead_social_worker", "core_group", "professional"]


class NoticeChild(ContractModel):
    """What a decision notice says about one child."""

    child_id: str = Field(description="The child.")
    decision: Decision = Field(description="The chair's decision.")
    categories: list[AbuseCategory] = Field(description="Categories of abuse (plans only).")
    review_due_by: date | None = Field(
        description="The next review conference must be held by this date (protection plans)."
    )


class NoticeChange(ContractModel):
    """What a corrected outcome changed since the notice before."""

    what: Literal["decision", "categories", "lead_social_worker", "core_group"] = Field(
        description="What changed."
    )
    child_id: str | None = Field(description="For which child (decision and categories).")


class DecisionNoticeDue(ContractModel):
    """`decisions.decision_notice.due.v1`: the CRM is to send one person the conference's
    decision by `send_by`. A new type within v1. One per recipient: each parent and carer
    with parental responsibility, the lead social worker, the core group and each invited
    professional. A corrected outcome sends a new notice to everyone, saying what changed."""

    conference_id: str = Field(description="The conference.")
    record_id: str = Field(description="The outcome record it tells.")
    recipient_person_id: str = Field(description="Who is told.")
    recipient: NoticeRecipientKind = Field(description="Why they are told.")
    send_by: date = Field(description="Within the policy's working days of the decision.")
    children: list[NoticeChild] = Field(description="Each child's decision.")
    lead_social_worker: str | None = Field(description="person_id of the lead social worker.")
    core_group: list[str] = Field(description="person_ids in the core group.")
    core_group_first_meeting_by: date | None = Field(
        description="The core group first meets by this date (a protection plan)."
    )
    next_review_by: date | None = Field(description="The next review conference, at the latest.")
    how_to_complain: str | None = Field(
        description="For the family: how to complain about the conference; null otherwise."
    )
    supersedes: str | None = Field(description="The record a correction replaces, or null.")
    changes: list[NoticeChange] = Field(
        description="A correction: what changed since the record it supersedes."
    )


class DecisionNoticeWithheld(ContractModel):
    """`decisions.decision_notice.withheld.v1`: a family member the chair excluded with
    reports withheld is not sent the decision notice; the chair decides what they are told.
    A new type within v1."""

    conference_id: str = Field(description="The conference.")
    record_id: str = Field(description="The outcome record.")
    recipient_person_id: str = Field(description="Who is not sent the notice.")
    reason: Literal["chair_ordered"] = Field(description="Why.")
    notify: list[str] = Field(description="person_ids told (the chair).")


class CoreGroupDue(ContractModel):
    """`decisions.core_group.due.v1`: the core group's next meeting is due: the first within
    10 working days of the conference, then each within the council's interval of the one
    before, until the plan ends or the next conference."""

    conference_id: str = Field(description="The conference.")
    due_by: date = Field(description="The meeting must be held by this date.")
    members: list[str] = Field(description="person_ids in the core group.")
    after_meeting_on: date | None = Field(
        default=None,
        description="Optional (added within v1): the meeting this one follows; null for the first.",
    )


class CoreGroupRecorded(ContractModel):
    """`decisions.core_group.recorded.v1`: a core group meeting is on record, on time or not.
    A new type within v1."""

    conference_id: str = Field(description="The conference.")
    meeting_id: str = Field(description="The CRM's meeting.")
    held_on: date = Field(description="The date it met.")
    due_by: date | None = Field(description="The date it was due by (null: none was due).")
    on_time: bool = Field(description="Held by the date it was due.")
    actions_done: list[str] = Field(description="action_ids it found done.")


class CoreGroupOverdue(ContractModel):
    """`decisions.core_group.overdue.v1`: the core group did not meet by the date it was due.
    A new type within v1."""

    conference_id: str = Field(description="The conference.")
    due_by: date = Field(description="The date missed.")
    notify: list[str] = Field(description="person_ids told: the lead social worker and the chair.")


class PlanActionOverdue(ContractModel):
    """`decisions.plan_action.overdue.v1`: a plan action was not done by its date. A new type
    within v1."""

    conference_id: str = Field(description="The conference whose plan it is.")
    action_id: str = Field(description="The action.")
    who: str = Field(description="person_id of who was to do it.")
    due_by: date = Field(description="The date missed.")
    child_id: str | None = Field(description="The child it is for, if one.")
    notify: list[str] = Field(description="person_ids told: the lead social worker and the chair.")


class ReviewDue(ContractModel):
    """`decisions.review.due.v1`: the next review conference is due (the CRM schedules it)."""

    plan_id: str = Field(description="The plan.")
    child_id: str = Field(description="The child.")
    due_by: date = Field(description="The review must be held by this date.")
    conference_id: str | None = Field(default=None, description="The conference that set it.")


class ReviewOverdue(ContractModel):
    """`decisions.review.overdue.v1`: no review was held by the due date."""

    plan_id: str = Field(description="The plan.")
    child_id: str = Field(description="The child.")
    due_by: date = Field(description="The date missed.")


ComplaintStep = Literal["acknowledgement", "answer"]


class ComplaintRecorded(ContractModel):
    """`decisions.complaint.recorded.v1`: a complaint about a conference is on record, with
    the dates it is to be acknowledged and answered by; the decision stands meanwhile. A new
    type within v1."""

    conference_id: str = Field(description="The conference.")
    complaint_id: str = Field(description="The complaint.")
    person_id: str = Field(description="Who complains.")
    acknowledge_by: date = Field(description="Acknowledged by this date.")
    answer_by: date = Field(description="The chair answers by this date.")
    notify: list[str] = Field(description="person_ids told (the chair).")


class ComplaintReminderSent(ContractModel):
    """`decisions.complaint.reminder_sent.v1`: the chair was reminded that a complaint's
    acknowledgement or answer is due. A new type within v1."""

    conference_id: str = Field(description="The conference.")
    complaint_id: str = Field(description="The complaint.")
    step: ComplaintStep = Field(description="The acknowledgement or the answer.")
    due_by: date = Field(description="The deadline.")
    notify: list[str] = Field(description="person_ids reminded (the chair).")


class ComplaintOverdue(ContractModel):
    """`decisions.complaint.overdue.v1`: a complaint's acknowledgement or answer passed its
    deadline. A new type within v1."""

    conference_id: str = Field(description="The conference.")
    complaint_id: str = Field(description="The complaint.")
    step: ComplaintStep = Field(description="The acknowledgement or the answer.")
    due_by: date = Field(description="The deadline missed.")
    notify: list[str] = Field(description="person_ids chased (the chair).")


class ComplaintClosed(ContractModel):
    """`decisions.complaint.closed.v1`: the chair answered a complaint (or it was withdrawn).
    A new type within v1."""

    conference_id: str = Field(description="The conference.")
    complaint_id: str = Field(description="The complaint.")
    outcome: ComplaintOutcome = Field(description="Its outcome.")
    answered_on: date = Field(description="The date it was answered.")
    on_time: bool = Field(description="Answered by the date it was due.")
