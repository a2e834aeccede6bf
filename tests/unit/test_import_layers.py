"""The import check `make test` runs (import-linter, configured in pyproject.toml) holds on
the code as it is, and fails on a copy with a deliberate violation of each kind."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _copy(tmp_path: Path) -> Path:
    for package in ("contracts", "rules", "shared", "services"):
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=where,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(where), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_the_code_keeps_every_import_contract(tmp_path: Path) -> None:
    result = _lint(_copy(tmp_path))
    assert result.returncode == 0, result.stdout
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("rules/calendar.py", "import shared.store.db", "never import plumbing"),
        ("services/reports/domain.py", "import sqlalchemy", "never import plumbing"),
        ("contracts/base.py", "import rules.roles", "Contracts import nothing of ours"),
        (
            "services/decisions/domain.py",
            "import services.invitations.domain",
            "Services never import each other",
        ),
        ("shared/store/inbox.py", "import shared.application.consumer", "The plumbing by role"),
    ],
)
def test_a_deliberate_violation_fails_the_check(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    where = _copy(tmp_path)
    target = where / module
    if not target.exists():  # a package now: its __init__
        target = where / module.removesuffix(".py") / "__init__.py"
    target.write_text(target.read_text() + f"\n{line}  # noqa\n")
    result = _lint(where)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout, result.stdout
