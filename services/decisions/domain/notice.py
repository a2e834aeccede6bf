"""Telling people the decision: a notice per person for the CRM to send within the policy's
working days of the outcome (each child's decision and category, the lead social worker,
the core group and its first meeting, the next review, and for the family how to
complain); a correction notifies everyone again with what changed."""

from datetime import date
from typing import Any

from contracts.decisions_v1 import (
    DecisionNoticeDue,
    DecisionNoticeWithheld,
    NoticeChange,
    NoticeChild,
    NoticeRecipientKind,
)
from rules.calendar import local_date
from rules.effects import Effects, Env
from rules.roles import PARENTS_AND_CARERS, is_agency
from services.decisions.domain.conference import Conference, OutcomeRecord


def notice_recipients(
    conference: Conference, lead_social_worker: str | None, core_group: list[str]
) -> dict[str, NoticeRecipientKind]:
    """Who is told, once each, and why: each parent and carer with parental responsibility,
    the lead social worker, the core group and each invited professional (the first reason
    that applies: a parent in the core group is told as family)."""
    told: dict[str, NoticeRecipientKind] = {}
    for person in conference.listed:
        if person.role in PARENTS_AND_CARERS and person.parental_responsibility:
            told.setdefault(person.person_id, "family")
    if lead_social_worker:
        told.setdefault(lead_social_worker, "lead_social_worker")
    for member in core_group:
        told.setdefault(member, "core_group")
    for person in conference.listed:
        if is_agency(person.role):
            told.setdefault(person.person_id, "professional")
    return told


def changes(before: OutcomeRecord | None, now: OutcomeRecord) -> list[NoticeChange]:
    """What a correction changed since the record it supersedes."""
    if before is None:
        return []
    found: list[NoticeChange] = []
    earlier: dict[str, dict[str, Any]] = {c["child_id"]: c for c in before.children}
    for child in now.children:
        was = earlier.get(child["child_id"])
        if was is None or was["decision"] != child["decision"]:
            found.append(NoticeChange(what="decision", child_id=child["child_id"]))
        elif set(was["categories"]) != set(child["categories"]):
            found.append(NoticeChange(what="categories", child_id=child["child_id"]))
    if before.lead_social_worker != now.lead_social_worker:
        found.append(NoticeChange(what="lead_social_worker", child_id=None))
    if set(before.core_group) != set(now.core_group):
        found.append(NoticeChange(what="core_group", child_id=None))
    return found


def decision_notices(
    conference: Conference,
    record: OutcomeRecord,
    before: OutcomeRecord | None,
    review_due: dict[str, date | None],
    core_group_by: date | None,
    env: Env,
) -> Effects:
    """A notice per person to be told of the recorded outcome, due within the policy's
    working days of the decision; a family member the chair excluded with reports withheld
    is not sent one, and the chair is told so."""
    send_by = env.policy.after(
        "decision_notice_within_working_days", local_date(record.decided_at), env.calendar
    )
    reviews = [due for due in review_due.values() if due is not None]
    children = [
        NoticeChild(
            child_id=c["child_id"],
            decision=c["decision"],
            categories=c["categories"],
            review_due_by=review_due.get(c["child_id"]),
        )
        for c in record.children
    ]
    changed = changes(before, record)
    effects = Effects()
    recipients = notice_recipients(conference, record.lead_social_worker, record.core_group)
    for person_id, kind in recipients.items():
        if kind == "family" and person_id in conference.withheld_from:
            effects.emit(
                "decisions.decision_notice.withheld.v1",
                DecisionNoticeWithheld(
                    conference_id=conference.conference_id,
                    record_id=record.record_id,
                    recipient_person_id=person_id,
                    reason="chair_ordered",
                    notify=[conference.chair_person_id],
                ),
                conference.conference_id,
            )
            continue
        effects.emit(
            "decisions.decision_notice.due.v1",
            DecisionNoticeDue(
                conference_id=conference.conference_id,
                record_id=record.record_id,
                recipient_person_id=person_id,
                recipient=kind,
                send_by=send_by,
                children=children,
                lead_social_worker=record.lead_social_worker,
                core_group=record.core_group,
                core_group_first_meeting_by=core_group_by,
                next_review_by=min(reviews) if reviews else None,
                how_to_complain=env.policy.how_to_complain if kind == "family" else None,
                supersedes=record.supersedes,
                changes=changed,
            ),
            conference.conference_id,
        )
    return effects
