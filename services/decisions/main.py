"""Wiring for the decisions service."""

from pathlib import Path

from services.decisions.domain import (
    ACTION_OVERDUE,
    COMPLAINT_OVERDUE,
    COMPLAINT_REMINDER,
    CORE_GROUP_OVERDUE,
    REVIEW_OVERDUE,
    ChildPlans,
    Conference,
)
from services.decisions.handlers import CHILDREN, CONFERENCES
from services.decisions.router import BINDINGS, ordering_keys
from shared.application.handling import TimerRule
from shared.runtime.definition import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="decisions",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
    timer_rules={
        REVIEW_OVERDUE: TimerRule(CHILDREN, ChildPlans.review_overdue),
        CORE_GROUP_OVERDUE: TimerRule(CONFERENCES, Conference.core_group_overdue),
        ACTION_OVERDUE: TimerRule(CONFERENCES, Conference.action_overdue),
        COMPLAINT_REMINDER: TimerRule(CONFERENCES, Conference.complaint_due),
        COMPLAINT_OVERDUE: TimerRule(CONFERENCES, Conference.complaint_due),
    },
    ordering_keys=ordering_keys,
)
