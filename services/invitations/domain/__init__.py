"""The invitation rules, as plain Python: who is invited and what the invitation says
(`invitations`), advice on the list (`advice`), answers and quorum (`answering`), the
chair's exclusions (`exclusions`), and the `Conference` aggregate (`conference`, over the
state its parts share, `state`)."""

from rules.quorum import Attendee, Quorum, assess_quorum, attendee
from services.invitations.domain.advice import (
    AdviceItem,
    ChildFacts,
    ListedPerson,
    age_on,
    attendance_advice,
)
from services.invitations.domain.answering import supporter_notice_late
from services.invitations.domain.conference import Conference
from services.invitations.domain.exclusions import ExclusionRequest, exclusion_violations
from services.invitations.domain.invitations import (
    Invitation,
    Invitee,
    TimescaleBreach,
    invitation_for,
    invitees,
    timescale_breach,
)
from services.invitations.domain.state import QUORUM_CHECK, ExclusionState, InviteeState

__all__ = [
    "QUORUM_CHECK",
    "AdviceItem",
    "Attendee",
    "ChildFacts",
    "Conference",
    "ExclusionRequest",
    "ExclusionState",
    "Invitation",
    "Invitee",
    "InviteeState",
    "ListedPerson",
    "Quorum",
    "TimescaleBreach",
    "age_on",
    "assess_quorum",
    "attendance_advice",
    "attendee",
    "exclusion_violations",
    "invitation_for",
    "invitees",
    "supporter_notice_late",
    "timescale_breach",
]
