"""One function per message: contract in, domain call, persist, queue events."""

from contracts.crm_v1 import ConferenceRequested
from contracts.invitations_v1 import InvitationIssued, TimescaleBreached
from services.invitations import domain, repository
from shared.calendar import local_date
from shared.handling import HandlerContext, RuleViolation


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Invite everyone listed and the chair; flag a conference later than its timescale."""
    if await repository.conference_exists(ctx.connection, data.conference_id):
        raise RuleViolation(
            [
                f"conference {data.conference_id} was already requested; "
                "use crm.conference.rescheduled.v1 to move it"
            ]
        )
    conference_date = local_date(data.scheduled_start)
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
    listed = {p.person_id: p for p in data.participants}
    people = domain.invitees(
        data.chair.person_id,
        [
            domain.Invitee(p.person_id, p.role, p.needs_interpreter, p.language)
            for p in data.participants
        ],
    )
    for invitee in people:
        participant = listed.get(invitee.person_id)
        await repository.add_invitee(
            ctx.connection,
            conference_id=data.conference_id,
            person_id=invitee.person_id,
            role=invitee.role,
            agency=participant.agency if participant else None,
            revision=1,
            participant=participant.model_dump(mode="json") if participant else None,
        )
        invitation = domain.invitation_for(
            invitee, data.scheduled_start, conference_date, 1, ctx.policy, ctx.calendar
        )
        await ctx.emit(
            "invitations.invitation.issued.v1",
            InvitationIssued(
                conference_id=data.conference_id,
                person_id=invitee.person_id,
                role=invitee.role,
                revision=invitation.revision,
                kind=data.kind,
                scheduled_start=data.scheduled_start,
                pre_meeting_start=invitation.pre_meeting_start,
                venue=data.venue,
                respond_by=invitation.respond_by,
                supporter_notice_by=invitation.supporter_notice_by,
                needs_interpreter=invitee.needs_interpreter,
                language=invitee.language,
            ),
            data.conference_id,
        )
    breach = domain.timescale_breach(
        data.kind,
        conference_date,
        data.strategy_discussion_date,
        data.transfer_notice_date,
        ctx.policy,
        ctx.calendar,
    )
    if breach is not None:
        await ctx.emit(
            "invitations.timescale.breached.v1",
            TimescaleBreached(
                conference_id=data.conference_id,
                rule=breach.rule,
                target_date=breach.target_date,
                scheduled_date=breach.scheduled_date,
                working_days_late=breach.working_days_late,
            ),
            data.conference_id,
        )
