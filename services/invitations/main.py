"""Wiring for the invitations service."""

from pathlib import Path

from services.invitations.domain import QUORUM_CHECK, Conference
from services.invitations.handlers import CONFERENCES
from services.invitations.router import BINDINGS, ordering_keys
from shared.application.handling import TimerRule
from shared.runtime.definition import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="invitations",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
    timer_rules={QUORUM_CHECK: TimerRule(CONFERENCES, Conference.quorum_check)},
    ordering_keys=ordering_keys,
)
