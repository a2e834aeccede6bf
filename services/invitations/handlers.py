"""One function per message: load the conference, call the domain, save, emit."""

from contracts.crm_v1 import (
    ChildAdded,
    ConferenceCancelled,
    ConferenceHeld,
    ConferenceRequested,
    ConferenceRescheduled,
    ExclusionDecided,
    InvitationResponded,
    ParticipantAdded,
)
from services.invitations import repository
from services.invitations.domain import Conference
from shared.application.handling import HandlerContext
from shared.store.aggregates import AggregateStore

CONFERENCES = AggregateStore("conference", Conference)


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Invite everyone listed and the chair; at a review, re-decide last time's exclusions."""
    existing = await ctx.load(CONFERENCES, data.conference_id)
    previous = (
        await ctx.load(CONFERENCES, data.previous_conference_id)
        if data.previous_conference_id
        else None
    )
    conference, effects = Conference.request(
        data,
        existing.state if existing else None,
        previous.state if previous else None,
        ctx.env(),
    )
    await ctx.save(CONFERENCES, ctx.new(data.conference_id, conference), effects)


async def on_conference_rescheduled(ctx: HandlerContext, data: ConferenceRescheduled) -> None:
    """Re-issue every live invitation as a new revision; re-check the timescale."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.reschedule(data, ctx.env()))


async def on_conference_cancelled(ctx: HandlerContext, data: ConferenceCancelled) -> None:
    """Withdraw every live invitation and stop every timer."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.cancel(data, ctx.env()))


async def on_participant_added(ctx: HandlerContext, data: ParticipantAdded) -> None:
    """Invite someone added to the list (once, however often they are added)."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.add_participant(data, ctx.env()))


async def on_invitation_responded(ctx: HandlerContext, data: InvitationResponded) -> None:
    """Record an answer, a deputy, a supporter (late or not) and needs; re-assess quorum."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.respond(data, ctx.env()))


async def on_exclusion_decided(ctx: HandlerContext, data: ExclusionDecided) -> None:
    """Validate and record the chair's exclusion, in the audit record too."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.decide_exclusion(data, ctx.env(data.decided_at))
    repository.add_exclusion(ctx, data)
    await ctx.save(CONFERENCES, conference, effects)


async def on_conference_held(ctx: HandlerContext, data: ConferenceHeld) -> None:
    """The final quorum assessment, from who attended."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.hold(data, ctx.env()))


async def on_child_added(ctx: HandlerContext, data: ChildAdded) -> None:
    """Another child of the household: advise on the list for them too."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.add_child(data, ctx.env()))
