"""Signed hand-backs, the settings that go with them, and the contract's limits."""

import json

import pytest
from pydantic import SecretStr, ValidationError

from contracts.crm_v1 import ConferenceRequested
from shared.broker import handback
from shared.messages import MalformedInput, parse_event
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference

KEY = b"a secret of the service's own"


def test_a_signed_sender_is_trusted_and_any_change_breaks_the_signature() -> None:
    body, message_id = b'{"id": "1"}', "1"
    signed = {
        handback.ORIGINAL_USER: "crm",
        handback.SIGNATURE: handback.signature(KEY, body, message_id, "crm"),
    }
    assert handback.verified_sender(KEY, body, message_id, signed) == "crm"
    assert handback.verified_sender(KEY, b'{"id": "2"}', message_id, signed) is None
    assert handback.verified_sender(KEY, body, "2", signed) is None
    assert handback.verified_sender(b"another key", body, message_id, signed) is None
    assert handback.verified_sender(None, body, message_id, signed) is None
    forged = {**signed, handback.ORIGINAL_USER: "guest"}
    assert handback.verified_sender(KEY, body, message_id, forged) is None
    assert handback.verified_sender(KEY, body, message_id, {handback.ORIGINAL_USER: "crm"}) is None


def test_the_secure_profile_needs_a_handback_key() -> None:
    with pytest.raises(ValidationError, match="CONVENE_HANDBACK_KEY"):
        Settings(verify_producers=True)
    assert Settings(verify_producers=True, handback_key=SecretStr("k")).verify_producers


def test_retry_delays_are_read_in_order() -> None:
    assert Settings().retry_delay_list() == [10.0, 60.0, 600.0]
    assert Settings(retry_delays="0.5,2").retry_delay_list() == [0.5, 2.0]
    assert Settings(retry_delays="").retry_delay_list() == []
    with pytest.raises(ValidationError):
        Settings(retry_delays="ten seconds")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"conference_id": "C" * 101}, "conference_id"),
        ({"conference_id": "CONF 1"}, "conference_id"),
        ({"venue": {"mode": "in_person", "address": "x" * 4001}}, "venue.address"),
        ({"strategy_discussion_date": "1899-12-31"}, "between 1900 and 2100"),
        ({"scheduled_start": "2101-01-01T10:00:00+00:00"}, "between 1900 and 2100"),
        (
            {
                "participants": [
                    {"person_id": f"P{n}", "name": "N", "role": "parent"} for n in range(501)
                ]
            },
            "participants",
        ),
    ],
)
def test_the_contract_refuses_what_is_over_its_limits(
    change: dict[str, object], field: str
) -> None:
    data = {**family_conference("CONF-LIMITS"), **change}
    with pytest.raises(ValidationError) as refused:
        ConferenceRequested.model_validate(data)
    assert field.split(".")[0] in str(refused.value)


def test_limits_are_in_the_json_schema() -> None:
    schema = json.dumps(ConferenceRequested.model_json_schema())
    assert '"maxLength": 100' in schema and '"maxItems": 500' in schema
    assert '"maxLength": 4000' in schema


@pytest.mark.parametrize(("name", "reason"), [("a\x00b", "NUL"), ("\ud800", "surrogate")])
def test_text_no_database_can_hold_is_refused_before_it_reaches_one(name: str, reason: str) -> None:
    event = cloud_event("crm.conference.requested.v1", "CONF-T", family_conference("CONF-T"))
    event["data"]["participants"][0]["name"] = name
    with pytest.raises(MalformedInput, match=reason):
        parse_event(json.dumps(event).encode())
