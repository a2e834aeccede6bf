"""Logs never carry personal data: only allowlisted keys reach the output."""

import json
import logging

import pytest

from shared.logging import configure_logging, get_logger


def test_personal_data_never_reaches_the_log(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "json")
    get_logger("test").info(
        "conference_requested",
        conference_id="CONF-1",
        tenant="886",
        name="Jane Example",
        date_of_birth="2019-03-14",
        address="1 High Street",
    )
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["conference_id"] == "CONF-1" and record["tenant"] == "886"
    assert record["redacted_keys"] == ["address", "date_of_birth", "name"]
    for secret in ("Jane", "2019-03-14", "High Street"):
        assert secret not in line
    logging.getLogger().handlers.clear()
