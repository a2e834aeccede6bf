"""The invitations service's own record beside its aggregates: the exclusion audit."""

from contracts.crm_v1 import ExclusionDecided
from services.invitations.tables import exclusions
from shared.application.handling import HandlerContext


def add_exclusion(ctx: HandlerContext, data: ExclusionDecided) -> None:
    """Add an exclusion to the audit record (never updated, never deleted), with the
    handler's other writes."""
    ctx.insert(
        exclusions,
        {
            "exclusion_id": ctx.event_id,
            "tenant": ctx.tenant,
            "conference_id": data.conference_id,
            "person_id": data.person_id,
            "decision": data.model_dump(mode="json"),
            "recorded_at": ctx.clock.now(),
        },
    )
