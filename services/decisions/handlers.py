"""One function per message: load the conference and its children, call the domain, save."""

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
    OutcomeDecided,
    ParticipantAdded,
    PlanAgreed,
)
from contracts.crm_v1 import PlanEnded as CrmPlanEnded
from services.decisions import domain
from services.decisions.domain import ChildPlans, Conference
from shared.application.handling import HandlerContext
from shared.store.aggregates import AggregateStore, Loaded

CONFERENCES = AggregateStore(
    "conference", Conference, version=2, upgrades={1: domain.upgrade_conference_1}
)
CHILDREN = AggregateStore("child", ChildPlans)


async def on_conference_requested(ctx: HandlerContext, data: ConferenceRequested) -> None:
    """Remember the conference (kind, date, chair, children, who is invited) and the children."""
    existing = await ctx.load(CONFERENCES, data.conference_id)
    conference, effects = Conference.request(data, existing.state if existing else None)
    for child in data.children:
        loaded = await _child(ctx, child.child_id)
        await ctx.save(CHILDREN, loaded, loaded.state.remember(child))
    await ctx.save(CONFERENCES, ctx.new(data.conference_id, conference), effects)


async def on_conference_rescheduled(ctx: HandlerContext, data: ConferenceRescheduled) -> None:
    """The conference moved: plans and the census count from the new date."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.reschedule(data))


async def on_conference_cancelled(ctx: HandlerContext, data: ConferenceCancelled) -> None:
    """The conference will not take place: an outcome for it is refused."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.cancel(data))


async def on_child_added(ctx: HandlerContext, data: ChildAdded) -> None:
    """Another child the conference concerns (kept for CP-IS and the census too)."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.add_child(data)
    child = await _child(ctx, data.child.child_id)
    await ctx.save(CHILDREN, child, child.state.remember(data.child))
    await ctx.save(CONFERENCES, conference, effects)


async def on_participant_added(ctx: HandlerContext, data: ParticipantAdded) -> None:
    """Someone added to the list (quorum counts them if they attend)."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.add_participant(data))


async def on_invitation_responded(ctx: HandlerContext, data: InvitationResponded) -> None:
    """An invitee's answer: quorum comes from the answers when attendance is not sent."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.respond(data))


async def on_exclusion_decided(ctx: HandlerContext, data: ExclusionDecided) -> None:
    """The chair excluded a family member with reports withheld: no decision notice for them."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.decide_exclusion(data))


async def on_conference_held(ctx: HandlerContext, data: ConferenceHeld) -> None:
    """The conference took place: plans start, reviews count and quorum is judged on it."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.hold(data))


async def on_outcome_decided(ctx: HandlerContext, data: OutcomeDecided) -> None:
    """Record each child's outcome; start, continue or end plans; say what is due next."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    children = {c.child_id: await _child(ctx, c.child_id) for c in conference.state.children}
    earlier = conference.state.details.get("previous_conference_id")
    previous = await ctx.load_aside(CONFERENCES, earlier) if earlier else None
    record_id = domain.stable_id("outcome", ctx.tenant, data.conference_id, ctx.event_id)
    facts, per_child = domain.decide(
        ctx.tenant,
        conference.state,
        {child_id: loaded.state for child_id, loaded in children.items()},
        data,
        record_id,
        ctx.env(data.decided_at),
        previous.state if previous else None,
    )
    for child_id, loaded in children.items():
        await ctx.save(CHILDREN, loaded, per_child[child_id])
    await ctx.save(CONFERENCES, conference, facts)
    if previous is not None:  # a review takes the plans on: the earlier core group stops
        handed_on = previous.state.hand_on_core_group(conference.state.date)
        await ctx.save(CONFERENCES, previous, handed_on)


async def on_plan_ended(ctx: HandlerContext, data: CrmPlanEnded) -> None:
    """A plan ends outside a conference (moved away, turned 18, died, looked after)."""
    child = await _child(ctx, data.child_id)
    meeting_for = child.state.core_group_conference()
    effects = child.state.end_outside_conference(ctx.tenant, data)
    await ctx.save(CHILDREN, child, effects)
    conference = await ctx.load_aside(CONFERENCES, meeting_for) if meeting_for else None
    if conference is not None:  # the core group stops meeting with the last plan it serves
        effects = conference.state.plan_ended(data.child_id, data.ended_on)
        await ctx.save(CONFERENCES, conference, effects)


async def on_plan_agreed(ctx: HandlerContext, data: PlanAgreed) -> None:
    """The detailed plan: its actions replace the outline plan's."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.agree_plan(data, ctx.env()))


async def on_core_group_held(ctx: HandlerContext, data: CoreGroupHeld) -> None:
    """A core group meeting: on record, its actions done, the next one due."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.hold_core_group(data, ctx.env()))


async def on_complaint_received(ctx: HandlerContext, data: ComplaintReceived) -> None:
    """A complaint about a conference: recorded with its deadlines; the decision stands."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    effects = conference.state.receive_complaint(data, ctx.env(data.received_at))
    await ctx.save(CONFERENCES, conference, effects)


async def on_complaint_acknowledged(ctx: HandlerContext, data: ComplaintAcknowledged) -> None:
    """The council acknowledged a complaint."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.acknowledge_complaint(data))


async def on_complaint_answered(ctx: HandlerContext, data: ComplaintAnswered) -> None:
    """The chair answered a complaint (or it was withdrawn)."""
    conference = await ctx.require(CONFERENCES, data.conference_id, "conference")
    await ctx.save(CONFERENCES, conference, conference.state.answer_complaint(data))


async def _child(ctx: HandlerContext, child_id: str) -> Loaded[ChildPlans]:
    return await ctx.load(CHILDREN, child_id) or ctx.new(child_id, ChildPlans(child_id))
