"""Wiring for the invitations service."""

from pathlib import Path

from services.invitations.handlers import QUORUM_CHECK, on_quorum_check
from services.invitations.router import BINDINGS
from shared.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="invitations",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
    timer_handlers={QUORUM_CHECK: on_quorum_check},
)
