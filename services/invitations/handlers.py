"""One function per message: contract in, domain call, persist, queue events."""

from datetime import date, datetime, time
from typing import Any, cast

import sqlalchemy as sa

from contracts.common_v1 import Participant, Venue
from contracts.crm_v1 import (
    ConferenceCancelled,
    ConferenceRequested,
    ConferenceRescheduled,
    ExclusionDecided,
    InvitationResponded,
    ParticipantAdded,
)
from contracts.invitations_v1 import (
    Advice,
    AttendanceAdvised,
    ExclusionRecorded,
    ExclusionReviewRequired,
    InvitationIssued,
    InvitationWithdrawn,
    QuorumAssessed,
    ResponseRecorded,
    TimescaleBreached,
)
from services.invitations import domain, repository
from shared import timers
from shared.calendar import LONDON, local_date
from shared.handling import HandlerContext, RuleViolation, known_conference
from shared.timers import Timer

QUORUM_CHECK = "quorum_check"


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Invite everyone listed and the chair; check the timescale; advise on gaps; and at a
    review, invite anyone excluded last time as normal and tell the chair to decide again."""
    if await repository.conference(ctx.connection, data.conference_id) is not None:
        raise RuleViolation(
            [
                f"conference {data.conference_id} was already requested; "
                "use crm.conference.rescheduled.v1 to move it"
            ]
        )
    participants = list(data.participants)
    previously_excluded = await _previously_excluded(ctx, data, participants)
    await repository.add_conference(
        ctx.connection,
        conference_id=data.conference_id,
        tenant=ctx.tenant,
        kind=data.kind,
        scheduled_start=data.scheduled_start,
        chair_person_id=data.chair.person_id,
        details=data.model_dump(mode="json"),
        requested_at=ctx.event_time,
    )
    conference = await _conference(ctx, data.conference_id)
    people = domain.invitees(
        data.chair.person_id,
        [
            domain.Invitee(p.person_id, p.role, p.needs_interpreter, p.language)
            for p in participants
        ],
    )
    listed = {p.person_id: p for p in participants}
    for person in people:
        participant = listed.get(person.person_id)
        await repository.add_invitee(
            ctx.connection,
            conference_id=data.conference_id,
            person_id=person.person_id,
            role=person.role,
            agency=participant.agency if participant else None,
            revision=1,
            participant=participant.model_dump(mode="json") if participant else None,
        )
        await _issue(ctx, conference, person)
    await _check_timescale(ctx, conference)
    await _advise(ctx, conference)
    await _schedule_quorum_check(ctx, conference)
    for person_id, grounds in previously_excluded.items():
        await ctx.emit(
            "invitations.exclusion.review_required.v1",
            ExclusionReviewRequired(
                conference_id=data.conference_id,
                person_id=person_id,
                previous_conference_id=data.previous_conference_id or "",
                previous_grounds=grounds,
            ),
            data.conference_id,
        )


async def on_conference_rescheduled(ctx: HandlerContext, data: ConferenceRescheduled) -> None:
    """Re-issue every live invitation as a new revision; re-check the timescale."""
    conference = await _conference(ctx, data.conference_id, for_change=True)
    await repository.update_conference(
        ctx.connection,
        data.conference_id,
        scheduled_start=data.scheduled_start,
        revision=conference.revision + 1,
    )
    conference = await _conference(ctx, data.conference_id)
    for row in await _live(ctx, data.conference_id):
        await repository.update_invitee(
            ctx.connection, data.conference_id, row.person_id, revision=conference.revision
        )
        await _issue(ctx, conference, _invitee(row))
    await _check_timescale(ctx, conference)
    await _schedule_quorum_check(ctx, conference)


async def on_conference_cancelled(ctx: HandlerContext, data: ConferenceCancelled) -> None:
    """Withdraw every live invitation and stop every timer."""
    await _conference(ctx, data.conference_id, for_change=True)
    await repository.update_conference(ctx.connection, data.conference_id, status="cancelled")
    for row in await _live(ctx, data.conference_id):
        await _withdraw(ctx, data.conference_id, row.person_id, "cancelled")
    await timers.cancel(ctx.connection, ctx.clock, subject=data.conference_id)


async def on_participant_added(ctx: HandlerContext, data: ParticipantAdded) -> None:
    """Invite someone added to the list (once, however often they are added)."""
    conference = await _conference(ctx, data.conference_id, for_change=True)
    participant = data.participant
    existing = await repository.invitee(ctx.connection, data.conference_id, participant.person_id)
    if existing is not None and existing.status == "live":
        return
    if existing is not None:
        raise RuleViolation(
            [f"{participant.person_id} was excluded from this conference by the chair"]
        )
    await repository.add_invitee(
        ctx.connection,
        conference_id=data.conference_id,
        person_id=participant.person_id,
        role=participant.role,
        agency=participant.agency,
        revision=conference.revision,
        participant=participant.model_dump(mode="json"),
    )
    await _issue(
        ctx,
        conference,
        domain.Invitee(
            participant.person_id,
            participant.role,
            participant.needs_interpreter,
            participant.language,
        ),
    )
    await _advise(ctx, conference)


async def on_invitation_responded(ctx: HandlerContext, data: InvitationResponded) -> None:
    """Record an answer, a deputy, a supporter (late or not) and needs; re-assess quorum."""
    conference = await _conference(ctx, data.conference_id, for_change=True)
    row = await repository.invitee(ctx.connection, data.conference_id, data.person_id)
    if row is None or row.status != "live":
        raise RuleViolation([f"{data.person_id} has no live invitation to this conference"])
    invitee = _invitee(row)
    reasons = []
    if data.supporter is not None and not invitee.is_family:
        reasons.append("only a family member can bring a supporter")
    if data.response == "deputy" and (data.deputy is None or invitee.is_family):
        reasons.append("a deputy response comes from a professional and names the deputy")
    if reasons:
        raise RuleViolation(reasons)
    invitation = domain.invitation_for(
        invitee,
        conference.scheduled_start,
        local_date(conference.scheduled_start),
        conference.revision,
        ctx.policy,
        ctx.calendar,
    )
    late = data.supporter is not None and domain.supporter_notice_late(
        local_date(ctx.event_time), invitation.supporter_notice_by
    )
    await repository.update_invitee(
        ctx.connection,
        data.conference_id,
        data.person_id,
        response=data.response,
        responded_at=ctx.event_time,
        deputy=data.deputy.model_dump(mode="json") if data.deputy else None,
        supporter=data.supporter.model_dump(mode="json") if data.supporter else row.supporter,
        supporter_notice_late=late or (row.supporter_notice_late and data.supporter is None),
        needs_interpreter=(
            row.needs_interpreter if data.needs_interpreter is None else data.needs_interpreter
        ),
        language=data.language or row.language,
    )
    await ctx.emit(
        "invitations.response.recorded.v1",
        ResponseRecorded(
            conference_id=data.conference_id,
            person_id=data.person_id,
            response=data.response,
            deputy=data.deputy,
            supporter=data.supporter,
            supporter_notice_late=late,
        ),
        data.conference_id,
    )
    await _assess_quorum(ctx, conference)


async def on_exclusion_decided(ctx: HandlerContext, data: ExclusionDecided) -> None:
    """Validate and record the chair's exclusion; a whole exclusion withdraws the invitation."""
    conference = await _conference(ctx, data.conference_id, for_change=True)
    row = await repository.invitee(ctx.connection, data.conference_id, data.person_id)
    reasons = domain.exclusion_violations(
        domain.ExclusionRequest(
            data.person_id,
            data.decided_by,
            data.scope,
            data.part_description,
            tuple(data.grounds),
            data.reason,
        ),
        conference.chair_person_id,
        row.role if row is not None else None,
    )
    if reasons:
        raise RuleViolation(reasons)
    recorded = ExclusionRecorded(**data.model_dump(), recorded_at=ctx.clock.now())
    await repository.add_exclusion(
        ctx.connection,
        exclusion_id=ctx.event_id,
        conference_id=data.conference_id,
        person_id=data.person_id,
        decision=data.model_dump(mode="json"),
        recorded_at=recorded.recorded_at,
    )
    await ctx.emit("invitations.exclusion.recorded.v1", recorded, data.conference_id)
    if data.scope == "whole" and row is not None and row.status == "live":
        await _withdraw(ctx, data.conference_id, data.person_id, "excluded")
        await _advise(ctx, conference)


async def on_quorum_check(ctx: HandlerContext, timer: Timer) -> None:
    """One working day before the conference: tell the chair whether it is quorate."""
    conference = await repository.conference(ctx.connection, timer.subject, lock=True)
    if conference is not None and conference.status != "cancelled":
        await _assess_quorum(ctx, conference)


# --- helpers -------------------------------------------------------------------------


async def _conference(
    ctx: HandlerContext, conference_id: str, *, for_change: bool = False
) -> sa.Row[Any]:
    row = await repository.conference(ctx.connection, conference_id, lock=True)
    return cast("sa.Row[Any]", known_conference(row, conference_id, for_change=for_change))


async def _live(ctx: HandlerContext, conference_id: str) -> list[sa.Row[Any]]:
    rows = await repository.invitee_rows(ctx.connection, conference_id)
    return [row for row in rows if row.status == "live"]


def _invitee(row: sa.Row[Any]) -> domain.Invitee:
    return domain.Invitee(row.person_id, row.role, row.needs_interpreter, row.language)


async def _issue(ctx: HandlerContext, conference: sa.Row[Any], invitee: domain.Invitee) -> None:
    invitation = domain.invitation_for(
        invitee,
        conference.scheduled_start,
        local_date(conference.scheduled_start),
        conference.revision,
        ctx.policy,
        ctx.calendar,
    )
    await ctx.emit(
        "invitations.invitation.issued.v1",
        InvitationIssued(
            conference_id=conference.conference_id,
            person_id=invitee.person_id,
            role=invitee.role,
            revision=invitation.revision,
            kind=conference.kind,
            scheduled_start=conference.scheduled_start,
            pre_meeting_start=invitation.pre_meeting_start,
            venue=Venue.model_validate(conference.details["venue"]),
            respond_by=invitation.respond_by,
            supporter_notice_by=invitation.supporter_notice_by,
            needs_interpreter=invitee.needs_interpreter,
            language=invitee.language,
        ),
        conference.conference_id,
    )


async def _withdraw(ctx: HandlerContext, conference_id: str, person_id: str, reason: str) -> None:
    await repository.update_invitee(ctx.connection, conference_id, person_id, status="withdrawn")
    await ctx.emit(
        "invitations.invitation.withdrawn.v1",
        InvitationWithdrawn(conference_id=conference_id, person_id=person_id, reason=reason),
        conference_id,
    )


async def _check_timescale(ctx: HandlerContext, conference: sa.Row[Any]) -> None:
    details = conference.details
    breach = domain.timescale_breach(
        conference.kind,
        local_date(conference.scheduled_start),
        _date(details.get("strategy_discussion_date")),
        _date(details.get("transfer_notice_date")),
        ctx.policy,
        ctx.calendar,
    )
    if breach is not None:
        await ctx.emit(
            "invitations.timescale.breached.v1",
            TimescaleBreached(
                conference_id=conference.conference_id,
                rule=breach.rule,
                target_date=breach.target_date,
                scheduled_date=breach.scheduled_date,
                working_days_late=breach.working_days_late,
            ),
            conference.conference_id,
        )


async def _advise(ctx: HandlerContext, conference: sa.Row[Any]) -> None:
    """Advise on gaps in the list when they change (an empty list: the gaps are closed)."""
    children = [
        domain.ChildFacts(c["child_id"], _date(c.get("date_of_birth")))
        for c in conference.details["children"]
    ]
    people = [
        domain.ListedPerson(
            row.person_id,
            row.role,
            tuple(row.participant.get("child_ids") or ()),
            bool(row.participant.get("has_parental_responsibility")),
            row.status == "live",
        )
        for row in await repository.invitee_rows(ctx.connection, conference.conference_id)
        if row.participant is not None
    ]
    advice = domain.attendance_advice(
        children, people, local_date(conference.scheduled_start), ctx.policy
    )
    stored = [[a.code, a.child_id] for a in advice]
    if stored == (conference.advice or []):
        return
    await repository.update_conference(ctx.connection, conference.conference_id, advice=stored)
    await ctx.emit(
        "invitations.attendance.advised.v1",
        AttendanceAdvised(
            conference_id=conference.conference_id,
            advice=[Advice(code=a.code, child_id=a.child_id, message=a.message) for a in advice],
        ),
        conference.conference_id,
    )


async def _assess_quorum(ctx: HandlerContext, conference: sa.Row[Any]) -> None:
    answers = [
        domain.attendee(row.role, row.agency, row.response, row.deputy)
        for row in await _live(ctx, conference.conference_id)
    ]
    attendees = [a for a in answers if a is not None]
    quorum = domain.assess_quorum(attendees, ctx.policy)
    await ctx.emit(
        "invitations.quorum.assessed.v1",
        QuorumAssessed(
            conference_id=conference.conference_id,
            quorate=quorum.quorate,
            agencies_attending=quorum.agencies_attending,
            missing=quorum.missing,
        ),
        conference.conference_id,
    )


async def _schedule_quorum_check(ctx: HandlerContext, conference: sa.Row[Any]) -> None:
    day_before = ctx.calendar.subtract_working_days(local_date(conference.scheduled_start), 1)
    await timers.schedule(
        ctx.connection,
        ctx.clock,
        timer_id=f"{QUORUM_CHECK}:{conference.conference_id}",
        kind=QUORUM_CHECK,
        due_at=datetime.combine(day_before, time(9, 0), LONDON),
        subject=conference.conference_id,
        tenant=conference.tenant,
        correlationid=ctx.outbox.correlationid,
        payload={},
    )


async def _previously_excluded(
    ctx: HandlerContext, data: ConferenceRequested, participants: list[Participant]
) -> dict[str, list[Any]]:
    """At a review: who was excluded last time (and on what grounds). They are invited as
    normal, added back from the previous list if the CRM did not list them again."""
    if data.previous_conference_id is None:
        return {}
    excluded: dict[str, list[Any]] = {}
    for row in await repository.exclusion_rows(ctx.connection, data.previous_conference_id):
        excluded[row.person_id] = list(row.decision["grounds"])
    listed = {p.person_id for p in participants}
    for person_id in excluded:
        previous = await repository.invitee(ctx.connection, data.previous_conference_id, person_id)
        if person_id not in listed and previous is not None and previous.participant:
            participants.append(Participant.model_validate(previous.participant))
    return excluded


def _date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None
