"""Wiring for the reports service."""

from pathlib import Path

from services.reports.router import BINDINGS
from shared.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="reports",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
)
