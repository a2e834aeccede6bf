"""Wiring for the decisions service."""

from pathlib import Path

from services.decisions.handlers import REVIEW_OVERDUE, on_review_overdue
from services.decisions.router import BINDINGS
from shared.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="decisions",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
    timer_handlers={REVIEW_OVERDUE: on_review_overdue},
)
