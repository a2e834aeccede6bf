"""The conference aggregate: what the decisions service keeps of one conference (its kind,
date, chair, children, who is invited, their answers, attendance) and its outcome records."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from contracts.common_v1 import Participant
from contracts.crm_v1 import (
    ChildAdded,
    ComplaintAcknowledged,
    ComplaintAnswered,
    ComplaintReceived,
    ConferenceCancelled,
    ConferenceHeld,
    ConferenceRequested,
    ConferenceRescheduled,
    CoreGroupHeld,
    ExclusionDecided,
    InvitationResponded,
    ParticipantAdded,
    PlanAgreed,
)
from rules.calendar import local_date
from rules.effects import Effects, Env, NotReadyYet, RuleViolation, Timer
from rules.quorum import Attendee, assess_quorum, attendee
from services.decisions.domain import complaints
from services.decisions.domain.complaints import Complaint
from services.decisions.domain.core_group import CoreGroup
from services.decisions.domain.plans import Applied

Day = date
"""A date (the aggregate's `date` property is the conference's date)."""


@dataclass(frozen=True)
class ChildRef:
    """A child a conference concerned."""

    child_id: str
    unborn: bool
    nhs_number: str | None = None


@dataclass(frozen=True)
class Listed:
    """Someone invited: what quorum needs to know."""

    person_id: str
    role: str
    agency: str | None = None
    parental_responsibility: bool = False


@dataclass(frozen=True)
class Answer:
    """An invitee's response, with the deputy who attends in their place."""

    response: str
    deputy: Listed | None = None


@dataclass(frozen=True)
class OutcomeRecord:
    """One outcome record (never edited; a correction supersedes it)."""

    record_id: str
    decided_at: datetime
    decided_by: str
    children: list[dict[str, Any]]
    quorate: bool
    supersedes: str | None
    correction_reason: str | None
    applied: list[Applied]
    lead_social_worker: str | None = None
    core_group: list[str] = field(default_factory=list)


@dataclass
class Conference:
    """One council's conference, as the decisions service keeps it."""

    conference_id: str
    kind: str
    scheduled_date: date
    chair_person_id: str
    children: list[ChildRef]
    details: dict[str, Any]
    listed: list[Listed] = field(default_factory=list)
    answers: dict[str, Answer] = field(default_factory=dict)
    attended: list[str] | None = None
    held_on: date | None = None
    records: list[OutcomeRecord] = field(default_factory=list)
    status: str = "scheduled"
    withheld_from: list[str] = field(default_factory=list)
    """Family members the chair excluded with reports withheld: not sent the decision."""
    core_group: CoreGroup | None = None
    """The core group of the protection plans this conference made or continued."""
    complaints: list[Complaint] = field(default_factory=list)

    @property
    def current(self) -> OutcomeRecord | None:
        """The record no other supersedes."""
        superseded = {r.supersedes for r in self.records}
        return next((r for r in reversed(self.records) if r.record_id not in superseded), None)

    @property
    def date(self) -> date:
        """The date it was held (else scheduled for): plans start and reviews count on it."""
        return self.held_on or self.scheduled_date

    @classmethod
    def request(
        cls, data: ConferenceRequested, existing: "Conference | None"
    ) -> tuple["Conference", Effects]:
        """Remember the conference's kind, date, chair, children and who is invited (nothing
        to say yet)."""
        if existing is not None:
            raise RuleViolation([f"conference {data.conference_id} was already requested"])
        return cls(
            conference_id=data.conference_id,
            kind=data.kind,
            scheduled_date=local_date(data.scheduled_start),
            chair_person_id=data.chair.person_id,
            children=[ChildRef(c.child_id, c.unborn, c.nhs_number) for c in data.children],
            details=data.model_dump(
                mode="json",
                include={
                    "section47_start_date",
                    "strategy_discussion_date",
                    "transfer_notice_date",
                    "previous_conference_id",
                },
            ),
            listed=[listed(p) for p in data.participants],
        ), Effects()

    def reschedule(self, data: ConferenceRescheduled) -> Effects:
        """The conference moved: plans start, reviews count and the census date on the new
        date, unless it is recorded as held on another."""
        self.open_for_change()
        self.scheduled_date = local_date(data.scheduled_start)
        return Effects()

    def cancel(self, data: ConferenceCancelled) -> Effects:
        """The conference will not take place: no outcome can be recorded for it."""
        self.open_for_change()
        self.status = "cancelled"
        return Effects()

    def open_for_change(self) -> None:
        """Refuse a change to a cancelled conference."""
        if self.status == "cancelled":
            raise RuleViolation([f"conference {self.conference_id} was cancelled"])

    def add_child(self, data: ChildAdded) -> Effects:
        """Another child the conference concerns: a decision can be made for them."""
        self.open_for_change()
        if all(c.child_id != data.child.child_id for c in self.children):
            child = data.child
            self.children.append(ChildRef(child.child_id, child.unborn, child.nhs_number))
        return Effects()

    def add_participant(self, data: ParticipantAdded) -> Effects:
        """Someone added to the list."""
        if all(p.person_id != data.participant.person_id for p in self.listed):
            self.listed.append(listed(data.participant))
        return Effects()

    def decide_exclusion(self, data: ExclusionDecided) -> Effects:
        """The chair excluded a family member with reports withheld: the decision notice is
        not sent to them (the chair decides what they are told). A decision that is not the
        chair's is refused by the invitations service and changes nothing here."""
        chair_withholds = data.withhold_reports and data.decided_by == self.chair_person_id
        if chair_withholds and data.person_id not in self.withheld_from:
            self.withheld_from.append(data.person_id)
        return Effects()

    def respond(self, data: InvitationResponded) -> Effects:
        """An invitee's answer (a deputy attends in their place)."""
        self.answers[data.person_id] = Answer(
            data.response, listed(data.deputy) if data.deputy else None
        )
        return Effects()

    def hold(self, data: ConferenceHeld) -> Effects:
        """The conference took place: its date and who was there (an empty list says nothing:
        nobody is a conference without its chair)."""
        self.held_on = data.held_on
        self.attended = list(data.attended) or self.attended
        return Effects()

    def hold_core_group(self, data: CoreGroupHeld, env: Env) -> Effects:
        """A core group meeting of this conference's plans."""
        return self._core_group(data.conference_id).hold(data, self.date, env)

    def agree_plan(self, data: PlanAgreed, env: Env) -> Effects:
        """The detailed plan: its actions replace the outline plan's."""
        return self._core_group(data.conference_id).set_actions(data.actions, env)

    def hand_on_core_group(self, on: Day) -> Effects:
        """The next conference (on `on`) took the plans on: this conference's core group
        stops from then."""
        return self.core_group.stop("next_conference", on) if self.core_group else Effects()

    def plan_ended(self, child_id: str, on: Day) -> Effects:
        """A child's plan ended outside a conference: the core group stops with the last."""
        group = self.core_group
        if group is None or child_id not in group.children:
            return Effects()
        group.children = [c for c in group.children if c != child_id]
        return Effects() if group.children else group.stop("plans_ended", on)

    def core_group_overdue(self, timer: Timer, env: Env) -> Effects:
        """The core group did not meet by the date it was due."""
        return self.core_group.meeting_overdue(timer, env) if self.core_group else Effects()

    def action_overdue(self, timer: Timer, env: Env) -> Effects:
        """A plan action was not done by its date."""
        return self.core_group.action_overdue(timer, env) if self.core_group else Effects()

    def receive_complaint(self, data: ComplaintReceived, env: Env) -> Effects:
        """A complaint about the conference: recorded with its deadlines (the decision
        stands)."""
        role = next((p.role for p in self.listed if p.person_id == data.person_id), None)
        complaint, effects = complaints.receive(
            self.complaints, data, role, self.chair_person_id, env
        )
        self.complaints.append(complaint)
        return effects

    def acknowledge_complaint(self, data: ComplaintAcknowledged) -> Effects:
        """The council acknowledged a complaint."""
        return complaints.acknowledge(complaints.find(self.complaints, data.complaint_id), data)

    def answer_complaint(self, data: ComplaintAnswered) -> Effects:
        """The chair answered a complaint, or it was withdrawn."""
        complaint = complaints.find(self.complaints, data.complaint_id)
        return complaints.answer(complaint, data, self.chair_person_id)

    def complaint_due(self, timer: Timer, env: Env) -> Effects:
        """A complaint's acknowledgement or answer is due soon, or overdue."""
        return complaints.remind_or_chase(
            self.complaints, self.conference_id, self.chair_person_id, timer, env
        )

    def _core_group(self, conference_id: str) -> CoreGroup:
        if self.core_group is not None and self.core_group.stopped != "no_plan":
            return self.core_group
        if self.current is None:
            raise NotReadyYet(f"conference {conference_id} has no recorded outcome yet")
        raise RuleViolation(
            [f"conference {conference_id} made no child protection plan: it has no core group"]
        )

    def quorate(self, env: Env) -> bool | None:
        """Quorate from who attended, else from the answers; None when nothing is known."""
        by_id = {p.person_id: p for p in self.listed}
        # a deputy in the room counts for the invitee they stand in for
        deputies = {
            a.deputy.person_id: by_id[pid]
            for pid, a in self.answers.items()
            if a.deputy is not None and pid in by_id
        }
        attendees: list[Attendee | None]
        if self.attended is not None:
            present = [by_id.get(pid) or deputies.get(pid) for pid in self.attended]
            attendees = [attendee(p.role, p.agency, "attending", None) for p in present if p]
        elif self.answers:
            attendees = [
                attendee(
                    by_id[pid].role,
                    by_id[pid].agency,
                    answer.response,
                    {"role": answer.deputy.role, "agency": answer.deputy.agency}
                    if answer.deputy
                    else None,
                )
                for pid, answer in self.answers.items()
                if pid in by_id
            ]
        else:
            return None
        return assess_quorum([a for a in attendees if a is not None], env.policy).quorate


def listed(participant: Participant) -> Listed:
    """What quorum needs to know of someone invited."""
    return Listed(
        participant.person_id,
        participant.role,
        participant.agency,
        participant.has_parental_responsibility,
    )


def upgrade_conference_1(document: dict[str, Any]) -> dict[str, Any]:
    """A conference stored by release 0.1.0, which did not keep who holds parental
    responsibility: each parent listed is taken to hold it (the process invites parents as
    those with parental responsibility); a carer is not.

    Nor did it keep the core group of a child protection plan it recorded (it announced the
    first meeting, and kept no more): the plan's core group is made, so the meetings the CRM
    records from now on are taken. Its members and first meeting's date were not kept, so
    the first meeting recorded is taken as on time. Everything else added since has a
    default."""
    for person in document.get("listed", []):
        person.setdefault("parental_responsibility", person.get("role") == "parent")
    records = document.get("records", [])
    superseded = {record.get("supersedes") for record in records}
    current = next((r for r in reversed(records) if r["record_id"] not in superseded), None)
    if current is not None and document.get("core_group") is None:
        protected = [
            child["child_id"] for child in current.get("children", [])
            if child.get("decision") == "child_protection_plan"
        ]  # fmt: skip
        if protected:
            document["core_group"] = {
                "conference_id": document["conference_id"],
                "chair_person_id": document["chair_person_id"],
                "members": [],
                "lead_social_worker": None,
                "children": protected,
                "next_due": None,
            }
    return document
