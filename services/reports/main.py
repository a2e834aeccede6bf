"""Wiring for the reports service."""

from pathlib import Path

from services.reports import handlers
from services.reports.router import BINDINGS
from shared.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="reports",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
    timer_handlers={
        handlers.REMINDER: handlers.on_reminder_due,
        handlers.OVERDUE: handlers.on_overdue,
        handlers.READINESS: handlers.on_readiness_due,
    },
)
