"""One function per message or timer: contract in, domain call, persist, queue events."""

from datetime import date, datetime, time, timedelta
from typing import Any, cast

import sqlalchemy as sa

from contracts.crm_v1 import (
    ConferenceCancelled,
    ConferenceRequested,
    ConferenceRescheduled,
    ParticipantAdded,
    ReportSubmitted,
)
from contracts.invitations_v1 import ExclusionRecorded
from contracts.reports_v1 import (
    ReadinessAssessed,
    ReminderSent,
    ReportOverdue,
    ReportReceived,
    ReportRequested,
    ReportShared,
    ReportWithheld,
)
from services.reports import domain, repository
from shared import timers
from shared.calendar import LONDON, local_date
from shared.handling import HandlerContext, RuleViolation, known_conference
from shared.timers import Timer

REMINDER, OVERDUE, READINESS = "report_reminder", "report_overdue", "readiness_summary"


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Ask every invited agency for its report; note who reports are shared with."""
    if await repository.conference(ctx.connection, data.conference_id) is not None:
        raise RuleViolation([f"conference {data.conference_id} was already requested"])
    await repository.add_conference(
        ctx.connection,
        conference_id=data.conference_id,
        tenant=ctx.tenant,
        kind=data.kind,
        scheduled_start=data.scheduled_start,
        chair_person_id=data.chair.person_id,
        participants=[p.model_dump(mode="json") for p in data.participants],
    )
    await repository.add_recipient(
        ctx.connection, data.conference_id, data.chair.person_id, "chair"
    )
    for participant in data.participants:
        await _add_family_recipient(
            ctx,
            data.conference_id,
            participant.person_id,
            participant.role,
        )
    conference = await _conference(ctx, data.conference_id)
    professionals = [
        domain.Professional(p.person_id, p.role, p.agency)
        for p in data.participants
        if p.agency is not None
    ]
    for request in domain.requests_for(
        data.conference_id, professionals, local_date(ctx.event_time), _deadlines(ctx, conference)
    ):
        await repository.add_request(ctx.connection, data.conference_id, request)
        await _requested(ctx, conference, request)
    await _schedule_readiness(ctx, conference)


async def on_conference_rescheduled(ctx: HandlerContext, data: ConferenceRescheduled) -> None:
    """Move every deadline and every timer with the conference."""
    await _conference(ctx, data.conference_id, for_change=True)
    await repository.update_conference(
        ctx.connection, data.conference_id, scheduled_start=data.scheduled_start
    )
    conference = await _conference(ctx, data.conference_id)
    due = _deadlines(ctx, conference)
    short_notice = local_date(ctx.event_time) > due.due_to_chair
    for row in await repository.request_rows(ctx.connection, data.conference_id):
        await repository.update_request(
            ctx.connection,
            row.request_id,
            due_to_chair=due.due_to_chair,
            share_with_family_by=due.share_with_family_by,
            short_notice=short_notice,
        )
        await _requested(
            ctx,
            conference,
            domain.ReportRequest(
                row.request_id,
                row.agency,
                row.author_person_id,
                due.due_to_chair,
                due.share_with_family_by,
                short_notice,
            ),
        )
    await _schedule_readiness(ctx, conference)


async def on_conference_cancelled(ctx: HandlerContext, data: ConferenceCancelled) -> None:
    """Stop every reminder, chase and summary."""
    await _conference(ctx, data.conference_id, for_change=True)
    await repository.update_conference(ctx.connection, data.conference_id, status="cancelled")
    await timers.cancel(ctx.connection, ctx.clock, subject=data.conference_id)


async def on_participant_added(ctx: HandlerContext, data: ParticipantAdded) -> None:
    """A new agency is asked for its report; a new family member gets what was shared."""
    conference = await _conference(ctx, data.conference_id, for_change=True)
    participant = data.participant
    await repository.update_conference(
        ctx.connection,
        data.conference_id,
        participants=[*conference.participants, participant.model_dump(mode="json")],
    )
    if (
        participant.agency is not None
        and participant.role not in domain.NON_PROFESSIONAL_ROLES
        and await repository.request_for_agency(
            ctx.connection, data.conference_id, participant.agency
        )
        is None
    ):
        [request] = domain.requests_for(
            data.conference_id,
            [domain.Professional(participant.person_id, participant.role, participant.agency)],
            local_date(ctx.event_time),
            _deadlines(ctx, conference),
        )
        await repository.add_request(ctx.connection, data.conference_id, request)
        await _requested(ctx, conference, request)
    if await _add_family_recipient(
        ctx,
        data.conference_id,
        participant.person_id,
        participant.role,
    ):
        for report in await repository.report_rows(ctx.connection, data.conference_id):
            await _distribute(ctx, conference, report)


async def on_exclusion_recorded(ctx: HandlerContext, data: ExclusionRecorded) -> None:
    """The chair ordered reports withheld from an excluded person: they receive nothing more."""
    await _conference(ctx, data.conference_id)
    if data.withhold_reports:
        await repository.order_withheld(ctx.connection, data.conference_id, data.person_id)


async def on_report_submitted(ctx: HandlerContext, data: ReportSubmitted) -> None:
    """Match the report to its request, record it, and share it with the chair and family."""
    conference = await _conference(ctx, data.conference_id, for_change=True)
    if await repository.report_exists(ctx.connection, data.report_id):
        raise RuleViolation([f"report {data.report_id} was already submitted"])
    author_role = _role(conference, data.author_person_id)
    family = author_role in domain.FAMILY_AUTHOR_ROLES
    request = (
        None
        if family
        else await repository.request_for_agency(ctx.connection, data.conference_id, data.agency)
    )
    due = _deadlines(ctx, conference)
    on_time = domain.on_time(local_date(data.submitted_at), due.due_to_chair)
    missing = [] if family else domain.missing_sections(list(data.sections))
    await repository.add_report(
        ctx.connection,
        report_id=data.report_id,
        conference_id=data.conference_id,
        request_id=request.request_id if request else None,
        agency=data.agency,
        author_person_id=data.author_person_id,
        received_at=data.submitted_at,
        on_time=on_time,
        missing_sections=missing,
        shareable_with_family=data.shareable_with_family,
        family_authored=family,
        document=data.document.model_dump(mode="json"),
        restricted_document=(
            data.restricted_document.model_dump(mode="json") if data.restricted_document else None
        ),
    )
    await ctx.emit(
        "reports.report.received.v1",
        ReportReceived(
            conference_id=data.conference_id,
            request_id=request.request_id if request else None,
            report_id=data.report_id,
            agency=data.agency,
            received_at=data.submitted_at,
            on_time=on_time,
            missing_sections=missing,
            unrequested=request is None and not family,
            family_authored=family,
            notify=[data.author_person_id, conference.chair_person_id] if missing else [],
        ),
        data.conference_id,
    )
    [report] = [
        r
        for r in await repository.report_rows(ctx.connection, data.conference_id)
        if r.report_id == data.report_id
    ]
    await _distribute(ctx, conference, report)


async def on_reminder_due(ctx: HandlerContext, timer: Timer) -> None:
    """Remind an author whose report has not arrived two working days before it is due."""
    request, conference = await _open_request(ctx, timer)
    if request is not None and conference is not None:
        await ctx.emit(
            "reports.reminder.sent.v1",
            ReminderSent(
                conference_id=conference.conference_id,
                request_id=request.request_id,
                author_person_id=request.author_person_id,
                due_to_chair=request.due_to_chair,
            ),
            conference.conference_id,
        )


async def on_overdue(ctx: HandlerContext, timer: Timer) -> None:
    """The chair's deadline passed without the report: tell author, social worker and chair."""
    request, conference = await _open_request(ctx, timer)
    if request is not None and conference is not None:
        social_workers = [
            p["person_id"] for p in conference.participants if p["role"] == "social_worker"
        ]
        notify = list(
            dict.fromkeys([request.author_person_id, *social_workers, conference.chair_person_id])
        )
        await ctx.emit(
            "reports.report.overdue.v1",
            ReportOverdue(
                conference_id=conference.conference_id,
                request_id=request.request_id,
                agency=request.agency,
                due_to_chair=request.due_to_chair,
                notify=notify,
            ),
            conference.conference_id,
        )


async def on_readiness_due(ctx: HandlerContext, timer: Timer) -> None:
    """At the chair's deadline: what arrived, what is missing, what the family got on time."""
    conference = await repository.conference(ctx.connection, timer.subject, lock=True)
    if conference is None or conference.status == "cancelled":
        return
    requests = await repository.request_rows(ctx.connection, conference.conference_id)
    reports = await repository.report_rows(ctx.connection, conference.conference_id)
    shares = await repository.share_rows(ctx.connection, conference.conference_id)
    summary = domain.readiness(
        [r.agency for r in requests],
        [r.agency for r in reports if not r.family_authored],
        [bool(s.on_time) for s in shares if s.role != "chair" and s.outcome == "shared"],
    )
    await ctx.emit(
        "reports.readiness.assessed.v1",
        ReadinessAssessed(
            conference_id=conference.conference_id,
            received=summary.received,
            missing=summary.missing,
            family_shared_on_time=summary.family_shared_on_time,
        ),
        conference.conference_id,
    )


# --- helpers -------------------------------------------------------------------------


async def _conference(
    ctx: HandlerContext, conference_id: str, *, for_change: bool = False
) -> sa.Row[Any]:
    row = await repository.conference(ctx.connection, conference_id, lock=True)
    return cast("sa.Row[Any]", known_conference(row, conference_id, for_change=for_change))


def _deadlines(ctx: HandlerContext, conference: sa.Row[Any]) -> domain.Deadlines:
    return domain.deadlines(
        conference.kind, local_date(conference.scheduled_start), ctx.policy, ctx.calendar
    )


def _role(conference: sa.Row[Any], person_id: str) -> str | None:
    roles = [p["role"] for p in conference.participants if p["person_id"] == person_id]
    return roles[0] if roles else None


async def _add_family_recipient(
    ctx: HandlerContext, conference_id: str, person_id: str, role: str
) -> bool:
    if not domain.entitled_family_role(role):
        return False
    known = {r.person_id for r in await repository.recipient_rows(ctx.connection, conference_id)}
    if person_id in known:
        return False
    await repository.add_recipient(ctx.connection, conference_id, person_id, role)
    return True


async def _requested(
    ctx: HandlerContext, conference: sa.Row[Any], request: domain.ReportRequest
) -> None:
    await ctx.emit(
        "reports.report.requested.v1",
        ReportRequested(
            conference_id=conference.conference_id,
            request_id=request.request_id,
            agency=request.agency,
            author_person_id=request.author_person_id,
            due_to_chair=request.due_to_chair,
            share_with_family_by=request.share_with_family_by,
            short_notice=request.short_notice,
        ),
        conference.conference_id,
    )
    remind_on = ctx.calendar.subtract_working_days(
        request.due_to_chair, ctx.policy.reminder_before_deadline
    )
    if _at(remind_on, time(9, 0)) > ctx.event_time:  # no reminder for a deadline already near
        await _schedule(
            ctx,
            conference,
            f"{REMINDER}:{request.request_id}",
            REMINDER,
            _at(remind_on, time(9, 0)),
            request.request_id,
        )
    await _schedule(
        ctx,
        conference,
        f"{OVERDUE}:{request.request_id}",
        OVERDUE,
        _end_of(request.due_to_chair),
        request.request_id,
    )


async def _schedule_readiness(ctx: HandlerContext, conference: sa.Row[Any]) -> None:
    due = _deadlines(ctx, conference)
    await _schedule(
        ctx,
        conference,
        f"{READINESS}:{conference.conference_id}",
        READINESS,
        _end_of(due.due_to_chair),
        None,
    )


async def _schedule(
    ctx: HandlerContext,
    conference: sa.Row[Any],
    timer_id: str,
    kind: str,
    due_at: datetime,
    request_id: str | None,
) -> None:
    await timers.schedule(
        ctx.connection,
        ctx.clock,
        timer_id=timer_id,
        kind=kind,
        due_at=due_at,
        subject=conference.conference_id,
        tenant=conference.tenant,
        correlationid=ctx.outbox.correlationid,
        payload={"request_id": request_id},
    )


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, LONDON)


def _end_of(day: date) -> datetime:
    """A deadline day ends at midnight: a report arriving that day is on time."""
    return datetime.combine(day + timedelta(days=1), time(0, 0), LONDON)


async def _open_request(
    ctx: HandlerContext, timer: Timer
) -> tuple[sa.Row[Any] | None, sa.Row[Any] | None]:
    """The request a timer is about, if it is still waiting for its report."""
    conference = await repository.conference(ctx.connection, timer.subject, lock=True)
    request = await repository.request(ctx.connection, str(timer.payload["request_id"]))
    if conference is None or request is None or conference.status == "cancelled":
        return None, None
    reports = await repository.report_rows(ctx.connection, conference.conference_id)
    if any(r.request_id == request.request_id for r in reports):
        return None, None
    return request, conference


async def _distribute(ctx: HandlerContext, conference: sa.Row[Any], report: sa.Row[Any]) -> None:
    facts = domain.ReportFacts(
        report.report_id,
        report.document["uri"],
        report.restricted_document["uri"] if report.restricted_document else None,
        report.shareable_with_family,
        report.family_authored,
    )
    recipients = [
        domain.Recipient(r.person_id, r.role, r.withhold_ordered)
        for r in await repository.recipient_rows(ctx.connection, conference.conference_id)
    ]
    delivered = await repository.delivered(ctx.connection, conference.conference_id)
    due = _deadlines(ctx, conference)
    shared_on = local_date(ctx.event_time)
    for outcome in domain.distribute(facts, recipients, delivered):
        if isinstance(outcome, domain.Share):
            on_time = domain.share_on_time(outcome.role, shared_on, due)
            await repository.add_share(
                ctx.connection,
                report_id=outcome.report_id,
                person_id=outcome.person_id,
                conference_id=conference.conference_id,
                role=outcome.role,
                outcome="shared",
                on_time=on_time,
                at=ctx.event_time,
            )
            await ctx.emit(
                "reports.report.shared.v1",
                ReportShared(
                    conference_id=conference.conference_id,
                    report_id=outcome.report_id,
                    recipient_person_id=outcome.person_id,
                    recipient_role=outcome.role,
                    document_uri=outcome.document_uri,
                    includes_restricted=outcome.includes_restricted,
                    shared_at=ctx.event_time,
                    on_time=on_time,
                    restricted_document_uri=outcome.restricted_document_uri,
                ),
                conference.conference_id,
            )
        else:
            await repository.add_share(
                ctx.connection,
                report_id=outcome.report_id,
                person_id=outcome.person_id,
                conference_id=conference.conference_id,
                role="family",
                outcome="withheld",
                reason=outcome.reason,
                at=ctx.event_time,
            )
            await ctx.emit(
                "reports.report.withheld.v1",
                ReportWithheld(
                    conference_id=conference.conference_id,
                    report_id=outcome.report_id,
                    recipient_person_id=outcome.person_id,
                    reason=outcome.reason,
                    notify=[conference.chair_person_id],
                ),
                conference.conference_id,
            )
