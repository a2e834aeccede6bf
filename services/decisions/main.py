"""Wiring for the decisions service."""

from pathlib import Path

from services.decisions.router import BINDINGS
from shared.runtime import ServiceDefinition

DEFINITION = ServiceDefinition(
    name="decisions",
    migrations=Path(__file__).parent / "migrations",
    bindings=BINDINGS,
)
