"""Wiring for the reports service."""

from pathlib import Path

from services.reports.domain import (
    CORRECTION_OVERDUE,
    CORRECTION_REMINDER,
    MINUTES_OVERDUE,
    MINUTES_REMINDER,
    OVERDUE,
    READINESS,
    REMINDER,
    Conference,
)
from services.reports.handlers import CONFERENCES
from services.reports.router import BINDINGS
from shared.application.handling import TimerRule
from shared.runtime.definition import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="reports",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
    timer_rules={
        REMINDER: TimerRule(CONFERENCES, Conference.remind),
        OVERDUE: TimerRule(CONFERENCES, Conference.chase),
        READINESS: TimerRule(CONFERENCES, Conference.summarise),
        MINUTES_REMINDER: TimerRule(CONFERENCES, Conference.remind_minutes),
        MINUTES_OVERDUE: TimerRule(CONFERENCES, Conference.chase_minutes),
        CORRECTION_REMINDER: TimerRule(CONFERENCES, Conference.remind_correction),
        CORRECTION_OVERDUE: TimerRule(CONFERENCES, Conference.chase_correction),
    },
)
