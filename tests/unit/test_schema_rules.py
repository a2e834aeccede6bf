"""The schemas state every rule the services refuse input by: each body the services
dead-letter for its form is one no committed schema accepts, and each rule that is not a
schema rule is named, with why, in contracts/README.md."""

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from contracts.export import committed_folder
from tests.e2e.test_bad_input_table import CASES, DEAD_LETTERED, PROCESSED, Case

SCHEMAS = {
    path.stem: Draft202012Validator(
        json.loads(path.read_text(encoding="utf-8")), format_checker=FormatChecker()
    )
    for path in sorted((committed_folder() / "schemas").glob("*.json"))
}

NOT_SCHEMA_RULES = {
    # Read before any schema can apply: these are not JSON a schema can be given.
    "not JSON": "not JSON",
    "empty body": "not JSON",
    "not UTF-8": "not JSON",
    "5,000-digit integer": "not JSON",
    "nested 100,000 deep": "not JSON",
}
"""Refusals that come before a schema can be applied, by the phrase contracts/README.md
gives them."""


def _accepting(body: Any) -> list[str]:
    return [name for name, validator in SCHEMAS.items() if validator.is_valid(body)]


def _readable(case: Case) -> Any:
    try:
        return json.loads(case.body)
    except (ValueError, RecursionError):
        return None


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.ends == DEAD_LETTERED], ids=lambda c: c.name
)
def test_every_body_the_services_refuse_for_its_form_no_schema_accepts(case: Case) -> None:
    if case.name in NOT_SCHEMA_RULES:
        assert _readable(case) is None
        readme = (committed_folder() / "README.md").read_text(encoding="utf-8")
        assert NOT_SCHEMA_RULES[case.name] in readme
        return
    body = _readable(case)
    assert body is not None, f"{case.name}: readable JSON, so a schema must judge it"
    assert _accepting(body) == []


@pytest.mark.parametrize("case", [c for c in CASES if c.ends == PROCESSED], ids=lambda c: c.name)
def test_every_body_the_services_apply_its_schema_accepts(case: Case) -> None:
    body = json.loads(case.body)
    assert _accepting(body) == [body["type"]]


def test_text_and_date_rules_read_the_same_in_every_regex_engine() -> None:
    """The patterns are written with escapes (no raw NUL or surrogate in the files) and
    still catch the raw characters once JSON is decoded."""
    raw = (committed_folder() / "schemas" / "crm.conference.requested.v1.json").read_bytes()
    assert b"\x00" not in raw and b"\\u0000" in raw
    validator = SCHEMAS["crm.conference.requested.v1"]
    good = next(json.loads(c.body) for c in CASES if c.name == "unicode names")
    assert validator.is_valid(good)
    for bad in ("a\x00b", "\ud800", "x\udfff"):
        body = json.loads(json.dumps(good))
        body["data"]["participants"][0]["name"] = bad
        assert not validator.is_valid(body), repr(bad)
    for key in ("a\x00", "\udc00"):
        body = json.loads(json.dumps(good))
        body["data"][key] = "x"
        assert not validator.is_valid(body), repr(key)


def test_every_schema_file_is_read_from_the_committed_folder() -> None:
    assert Path(committed_folder(), "schemas").is_dir()
    assert len(SCHEMAS) >= 30
