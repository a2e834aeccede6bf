"""Wiring for the decisions service."""

from pathlib import Path

from services.decisions.domain import REVIEW_OVERDUE, ChildPlans
from services.decisions.handlers import CHILDREN
from services.decisions.router import BINDINGS, ordering_keys
from shared.application.handling import TimerRule
from shared.runtime.definition import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="decisions",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
    timer_rules={REVIEW_OVERDUE: TimerRule(CHILDREN, ChildPlans.review_overdue)},
    ordering_keys=ordering_keys,
)
