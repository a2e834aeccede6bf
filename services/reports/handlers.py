"""One function per message: load the conference, call the domain, save, emit."""

from contracts.crm_v1 import (
    ChildAdded,
    ConferenceCancelled,
    ConferenceHeld,
    ConferenceRequested,
    ConferenceRescheduled,
    ExclusionDecided,
    FamilySharingDecided,
    InvitationResponded,
    MinutesCorrectionAnswered,
    MinutesCorrectionRequested,
    MinutesSubmitted,
    ParticipantAdded,
    ReportSubmitted,
)
from services.reports.domain import Conference, upgrade_conference_1
from shared.application.handling import HandlerContext
from shared.store.aggregates import AggregateStore

CONFERENCES = AggregateStore(
    "conference", Conference, version=2, upgrades={1: upgrade_conference_1}
)


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Ask every invited agency for its report; note who reports are shared with."""
    existing = await ctx.load(CONFERENCES, data.conference_id)
    conference, effects = Conference.request(
        ctx.tenant, data, existing.state if existing else None, ctx.env()
    )
    await ctx.save(CONFERENCES, ctx.new(data.conference_id, conference), effects)


async def on_conference_rescheduled(ctx: HandlerContext, data: ConferenceRescheduled) -> None:
    """Move every deadline and every timer with the conference."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.reschedule(data, ctx.env()))


async def on_conference_cancelled(ctx: HandlerContext, data: ConferenceCancelled) -> None:
    """Stop every reminder, chase and summary."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.cancel(data, ctx.env()))


async def on_participant_added(ctx: HandlerContext, data: ParticipantAdded) -> None:
    """A new agency is asked for its report; a new family member gets what was shared."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.add_participant(ctx.tenant, data, ctx.env())
    await ctx.save(CONFERENCES, conference, effects)


async def on_exclusion_decided(ctx: HandlerContext, data: ExclusionDecided) -> None:
    """The chair ordered reports withheld from a family member: they receive nothing more."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.decide_exclusion(data))


async def on_report_submitted(ctx: HandlerContext, data: ReportSubmitted) -> None:
    """Record a report and share it with the chair and family, as of its submission."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.submit_report(data, ctx.env(data.submitted_at))
    await ctx.save(CONFERENCES, conference, effects)


async def on_child_added(ctx: HandlerContext, data: ChildAdded) -> None:
    """Another child of the household: every request is issued again naming the children."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.add_child(data, ctx.env()))


async def on_family_sharing_decided(ctx: HandlerContext, data: FamilySharingDecided) -> None:
    """The chair said whether a family member who is not a parent or carer receives reports."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.decide_family_sharing(data, ctx.env(data.decided_at))
    await ctx.save(CONFERENCES, conference, effects)


async def on_invitation_responded(ctx: HandlerContext, data: InvitationResponded) -> None:
    """An invitee's answer: those who send apologies receive the minutes too."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.respond(data))


async def on_conference_held(ctx: HandlerContext, data: ConferenceHeld) -> None:
    """The conference took place: who attended receives the minutes, due from this date."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.hold(data, ctx.env()))


async def on_minutes_submitted(ctx: HandlerContext, data: MinutesSubmitted) -> None:
    """Record a version of the minutes and share it, as of its submission."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.submit_minutes(data, ctx.env(data.submitted_at))
    await ctx.save(CONFERENCES, conference, effects)


async def on_minutes_correction_requested(
    ctx: HandlerContext, data: MinutesCorrectionRequested
) -> None:
    """A family member asks the chair to correct the minutes."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.request_correction(data, ctx.env(data.requested_at))
    await ctx.save(CONFERENCES, conference, effects)


async def on_minutes_correction_answered(
    ctx: HandlerContext, data: MinutesCorrectionAnswered
) -> None:
    """The chair answered a request to correct the minutes."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.answer_correction(data, ctx.env(data.answered_at))
    await ctx.save(CONFERENCES, conference, effects)
