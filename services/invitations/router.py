"""What the invitations service consumes (each binding is a subscriber in AsyncAPI)."""

from services.invitations import handlers
from shared.runtime import Binding

BINDINGS = [
    Binding(
        "crm.conference.requested.v1",
        handlers.on_conference_requested,
        "Invite every listed participant and the chair; check the statutory timescale.",
    ),
]
