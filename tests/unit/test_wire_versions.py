"""`shared/broker/wire.py` writes frames through aiormq's channel internals: it runs only on
the versions it is proven against, and says so loudly on any other."""

import importlib.metadata
import inspect
import tomllib
from pathlib import Path

import aiormq.channel
import aiormq.connection
import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from shared.broker import wire

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("library", sorted(wire.PROVEN))
def test_the_installed_version_is_one_wire_is_proven_against(library: str) -> None:
    installed = Version(importlib.metadata.version(library))
    assert installed in SpecifierSet(wire.PROVEN[library]), (
        f"{library} {installed} is installed, but shared/broker/wire.py is proven against "
        f"{library}{wire.PROVEN[library]} only: run tests/integration/test_wire.py against it "
        "and widen wire.PROVEN and pyproject.toml, or install a proven version"
    )


def test_the_project_pins_what_wire_is_proven_against() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins = {(r := Requirement(line)).name: str(r.specifier) for line in project["dependencies"]}
    for library, proven in wire.PROVEN.items():
        assert SpecifierSet(pins[library]) == SpecifierSet(proven), library


def test_the_channel_parts_wire_uses_are_there() -> None:
    channel = inspect.getsource(aiormq.channel)
    for name in ("lock", "delivery_tag", "confirmations", "message_id_delivery_tag"):
        assert f"self.{name}" in channel, f"aiormq.Channel has no {name} any more"
    assert "write_queue" in inspect.getsource(aiormq.connection)
