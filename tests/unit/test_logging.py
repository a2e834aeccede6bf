"""Logs never carry personal data: only allowlisted keys reach the output."""

import json
import logging

import pytest

from shared.observability.logging import configure_logging, get_logger


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


def test_a_refused_publish_is_logged_with_how_the_broker_refused_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import aiormq.exceptions
    from pamqp.commands import Basic

    from shared.runtime.relay import _refusal

    configure_logging("INFO", "json")
    returned = aiormq.exceptions.DeliveryError(
        None,
        Basic.Return(
            reply_code=312, reply_text="NO_ROUTE", exchange="decisions.events",
            routing_key="decisions.plan.started.v1",
        ),
    )  # fmt: skip
    for error in (returned, aiormq.exceptions.DeliveryError(None, Basic.Nack(delivery_tag=7))):
        get_logger("test").warning(
            "outbox_publish_failed", error_type="DeliveryError", **_refusal(error)
        )
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()[-2:]]
    assert lines[0]["broker_frame"] == "Return" and lines[0]["broker_reply_text"] == "NO_ROUTE"
    assert lines[0]["broker_routing_key"] == "decisions.plan.started.v1"
    assert lines[1]["broker_frame"] == "Nack"
    assert "redacted_keys" not in lines[0] and "redacted_keys" not in lines[1]
    logging.getLogger().handlers.clear()


def test_a_line_that_cannot_be_written_never_fails_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io
    import sys

    closed = io.StringIO()
    closed.close()
    configure_logging("INFO", "json")
    monkeypatch.setattr(sys, "stderr", closed)  # standard error gone (a closed pipe)
    get_logger("test").warning("delivery_gap_skipped", count=1)  # dropped, not raised
    logging.getLogger().handlers.clear()
