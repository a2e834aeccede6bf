"""The `convene` command line."""

from pathlib import Path

from typer.testing import CliRunner

from contracts.export import generated_files
from services.cli import app

runner = CliRunner()


def test_contracts_export_writes_every_schema_and_asyncapi(tmp_path: Path) -> None:
    result = runner.invoke(app, ["contracts", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.json")
    )
    assert written == sorted(generated_files())
    assert len(written) == 37


def test_run_refuses_an_unknown_service() -> None:
    result = runner.invoke(app, ["run", "payments"])
    assert result.exit_code != 0
    assert "invitations, reports, decisions" in result.output
