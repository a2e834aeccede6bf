"""Broker and database passwords come from secrets: generated, never the user's name,
never committed, read from a file the platform mounts."""

import base64
import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app, main
from services.provision import broker_definitions, generate_passwords, password_hash
from shared.runtime.settings import Settings

runner = CliRunner()


def test_broker_secrets_generates_one_private_password_per_user_and_keeps_existing_ones(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "secrets"
    first = runner.invoke(app, ["broker", "secrets", str(folder)])
    assert first.exit_code == 0, first.output
    assert first.output.count("generated") == 4
    passwords = {p.name: p.read_text().strip() for p in folder.iterdir()}
    assert set(passwords) == {"crm", "invitations", "reports", "decisions"}
    assert len(set(passwords.values())) == 4
    for user, password in passwords.items():
        assert len(password) >= 32 and user not in password
        assert stat.S_IMODE((folder / user).stat().st_mode) == 0o600
    again = runner.invoke(app, ["broker", "secrets", str(folder)])
    assert again.output.count("kept") == 4
    assert {p.name: p.read_text().strip() for p in folder.iterdir()} == passwords


def test_a_drawn_password_that_contains_its_users_name_is_drawn_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A random password can happen to contain a user's name (about one in a thousand for
    `crm`): generating must not give one its own check refuses."""
    drawn = iter(["xxCRMxx" + "a" * 40, "b" * 43, *("c" * 43 for _ in range(10))])
    monkeypatch.setattr("services.provision.secrets.token_urlsafe", lambda _n: next(drawn))
    generate_passwords(tmp_path)
    assert (tmp_path / "crm").read_text().strip() == "b" * 43


def test_definitions_carry_salted_hashes_of_the_secrets_and_no_password_without_them(
    tmp_path: Path,
) -> None:
    generate_passwords(tmp_path)
    written = tmp_path / "definitions.json"
    result = runner.invoke(
        app, ["broker", "definitions", "--passwords", str(tmp_path), "-o", str(written)]
    )
    assert result.exit_code == 0, result.output
    users = {u["name"]: u for u in json.loads(written.read_text())["users"]}
    for name, user in users.items():
        password = (tmp_path / name).read_text().strip()
        salt = base64.b64decode(user["password_hash"])[:4]
        assert user["password_hash"] == password_hash(password, salt)
        assert user["password_hash"] != password_hash(name, salt)
    assert {u["password_hash"] for u in broker_definitions()["users"]} == {""}


@pytest.mark.parametrize(
    ("password", "says"), [("invitations", "contains its name"), ("short", "shorter than 16")]
)
def test_a_weak_password_is_refused_in_one_line(
    password: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    generate_passwords(tmp_path)
    (tmp_path / "invitations").write_text(password + "\n")
    with pytest.raises(SystemExit) as ended:
        main(["broker", "definitions", "--passwords", str(tmp_path)])
    assert ended.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "--passwords" in line and says in line and "Traceback" not in line


def test_a_password_file_takes_the_place_of_the_urls_password(tmp_path: Path) -> None:
    (tmp_path / "amqp").write_text("s3cr/t p@ss\n")
    (tmp_path / "db").write_text("db-secret\n")
    settings = Settings(
        AMQP_URL="amqp://reports@broker:5672/convene",
        amqp_password_file=tmp_path / "amqp",
        DATABASE_URL="postgresql://convene:old@db:5432/convene",
        database_password_file=tmp_path / "db",
    )
    assert settings.amqp_url == "amqp://reports:s3cr%2Ft%20p%40ss@broker:5672/convene"
    assert settings.database_url == "postgresql://convene:db-secret@db:5432/convene"


def test_a_missing_password_file_names_the_variable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONVENE_AMQP_PASSWORD_FILE", str(tmp_path / "absent"))
    monkeypatch.setenv("CONVENE_LOG_FORMAT", "console")
    with pytest.raises(SystemExit) as ended:
        main(["run", "reports"])
    assert ended.value.code == 2
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "CONVENE_AMQP_PASSWORD_FILE" in line and "cannot read the password file" in line
