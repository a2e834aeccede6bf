"""The contract: every v1 type, the committed schemas, the AsyncAPI document."""

import json
from datetime import UTC, datetime

import jsonschema
import pytest
from pydantic import ValidationError

from contracts.crm_v1 import ConferenceRequested
from contracts.export import ASYNCAPI_FILE, committed_folder, generated_files
from contracts.registry import EVENT_TYPES
from services.app import DEFINITIONS
from shared.messages import MalformedInput, new_event, parse_event
from tests.support.crm import cloud_event, family_conference

CONTRACT_TYPES = {
    "crm": [
        "conference.requested",
        "conference.rescheduled",
        "conference.cancelled",
        "participant.added",
        "child.added",  # a new type within v1 (the contract allows new types)
        "invitation.responded",
        "exclusion.decided",
        "report.submitted",
        "conference.held",
        "outcome.decided",
        "plan.ended",
        # new types within v1 (issue 25): after the conference
        "family_sharing.decided",
        "minutes.submitted",
        "minutes.correction_requested",
        "minutes.correction_answered",
        "plan.agreed",
        "core_group.held",
        "complaint.received",
        "complaint.acknowledged",
        "complaint.answered",
    ],
    "invitations": [
        "invitation.issued",
        "invitation.withdrawn",
        "attendance.advised",
        "response.recorded",
        "exclusion.recorded",
        "exclusion.review_required",
        "quorum.assessed",
        "timescale.breached",
        "input.rejected",
    ],
    "reports": [
        "report.requested",
        "report.received",
        "report.shared",
        "report.withheld",
        "reminder.sent",
        "report.overdue",
        "readiness.assessed",
        "input.rejected",
        "minutes.shared",
        "minutes.withheld",
        "minutes.correction_requested",
        "minutes.reminder_sent",
        "minutes.overdue",
    ],
    "decisions": [
        "outcome.recorded",
        "plan.started",
        "plan.ended",
        "plan.category_changed",
        "core_group.due",
        "review.due",
        "review.overdue",
        "input.rejected",
        "decision_notice.due",
        "decision_notice.withheld",
        "core_group.recorded",
        "core_group.overdue",
        "plan_action.overdue",
        "complaint.recorded",
        "complaint.reminder_sent",
        "complaint.overdue",
        "complaint.closed",
    ],
}

CONSUMERS = {name: d.event_types for name, d in DEFINITIONS.items()}


def test_every_contract_type_has_a_frozen_described_model() -> None:
    expected = {f"{p}.{t}.v1" for p, types in CONTRACT_TYPES.items() for t in types}
    assert set(EVENT_TYPES) == expected
    assert len(EVENT_TYPES) == 59
    for name, entry in EVENT_TYPES.items():
        assert entry.model.model_config.get("frozen") is True, name
        for field_name, field in entry.model.model_fields.items():
            assert field.description, f"{name}.{field_name} has no description"


def test_committed_schemas_match_the_models() -> None:
    """Fails when a model changes and `convene contracts export contracts` was not run."""
    folder = committed_folder()
    for relative, text in generated_files(CONSUMERS).items():
        path = folder / relative
        assert path.is_file(), f"{relative} is not committed"
        assert path.read_text(encoding="utf-8") == text, f"{relative} drifted from its model"
    committed = {p.name for p in (folder / "schemas").glob("*.json")}
    assert committed == {f"{name}.json" for name in EVENT_TYPES}


def test_a_crm_event_as_written_by_hand_satisfies_the_published_schema() -> None:
    schema = json.loads(
        (committed_folder() / "schemas/crm.conference.requested.v1.json").read_text()
    )
    event = cloud_event("crm.conference.requested.v1", "C-1", family_conference("C-1"))
    jsonschema.Draft202012Validator(schema).validate(event)
    event["data"].pop("children")
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(event)


def test_asyncapi_document_names_every_exchange_and_message() -> None:
    document = json.loads((committed_folder() / ASYNCAPI_FILE).read_text())
    assert document["asyncapi"] == "3.0.0"
    assert set(document["channels"]) == {
        "crm.events",
        "invitations.events",
        "reports.events",
        "decisions.events",
        "invitations.incoming",
        "reports.incoming",
        "decisions.incoming",
        "crm.facts",
    }
    assert {m["name"] for m in document["components"]["messages"].values()} == set(EVENT_TYPES)


def test_models_are_frozen() -> None:
    data = ConferenceRequested.model_validate(family_conference("C-1"))
    with pytest.raises(ValidationError):
        data.kind = "review"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"kind": "review"}, "previous_conference_id"),
        ({"kind": "transfer_in"}, "transfer_notice_date"),
        ({"venue": {"mode": "virtual"}}, "join_url"),
        ({"participants": [{"person_id": "X", "name": "X", "role": "police"}]}, "agency"),
        ({"children": [{"child_id": "C", "given_name": "A", "family_name": "B"}]}, "exactly one"),
    ],
)
def test_conditional_requirements(change: dict[str, object], reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        ConferenceRequested.model_validate(family_conference("C-1", **change))


def test_parse_event_reads_a_valid_event_and_refuses_bad_ones() -> None:
    event = cloud_event("crm.conference.requested.v1", "C-1", family_conference("C-1"))
    envelope, entry, data = parse_event(json.dumps(event).encode())
    assert (envelope.id, entry.producer, type(data)) == (event["id"], "crm", ConferenceRequested)
    for body, expected in [
        (b'{"a": "\xc3\x28"}', "not UTF-8"),
        (b"[1]", "not an object"),
        (json.dumps({**event, "type": "crm.conference.requested.v9"}).encode(), "unknown"),
        (json.dumps({**event, "source": "reports"}).encode(), "not the producer"),
        (json.dumps({**event, "tenant": "12"}).encode(), "tenant"),
    ]:
        with pytest.raises(MalformedInput, match=expected):
            parse_event(body)


def test_validation_reasons_never_echo_the_values() -> None:
    event = cloud_event(
        "crm.conference.requested.v1",
        "C-1",
        family_conference(
            "C-1",
            children=[
                {
                    "child_id": "C",
                    "given_name": "Secretname",
                    "family_name": "B",
                    "date_of_birth": "not-a-date",
                }
            ],
        ),
    )
    with pytest.raises(MalformedInput) as caught:
        parse_event(json.dumps(event).encode())
    assert "data.children.0.date_of_birth" in str(caught.value)
    assert "not-a-date" not in str(caught.value) and "Secretname" not in str(caught.value)


def test_new_event_refuses_data_of_another_type() -> None:
    data = ConferenceRequested.model_validate(family_conference("C-1"))
    with pytest.raises(TypeError):
        new_event(
            type_name="crm.conference.held.v1",
            data=data,
            subject="C-1",
            tenant="201",
            correlationid="C-1",
            causationid=None,
            time=datetime.now(UTC),
        )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"id": ' + b"9" * 5_000 + b"}", "not usable JSON"),
        (b'{"data": "' + b"x" * 1_100_000 + b'"}', "at most 1048576"),
    ],
)
def test_bodies_built_to_escape_the_parser_are_refused_with_a_reason(
    body: bytes, reason: str
) -> None:
    with pytest.raises(MalformedInput) as refused:
        parse_event(body)
    assert reason in "; ".join(refused.value.reasons)


def _requested(**overrides: object) -> dict[str, object]:
    return cloud_event("crm.conference.requested.v1", "C-1", family_conference("C-1", **overrides))


def _change(event: dict[str, object], path: list[object], value: object) -> dict[str, object]:
    changed = json.loads(json.dumps(event))
    target = changed
    for key in path[:-1]:
        target = target[key]
    if value is _DROP:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


_DROP = object()

RULES = [
    ("an initial conference names its strategy discussion",
     ["data", "strategy_discussion_date"], _DROP),
    ("a review names the previous conference", ["data", "kind"], "review"),
    ("a transfer-in names the notice date", ["data", "kind"], "transfer_in"),
    ("a child has a date of birth or an expected date, not both",
     ["data", "children", 0, "expected_date_of_delivery"], "2027-01-01"),
    ("a child has one of the two dates",
     ["data", "children", 1, "expected_date_of_delivery"], _DROP),
    ("a professional names their agency", ["data", "participants", 1, "agency"], _DROP),
    ("an in-person venue has an address", ["data", "venue", "address"], _DROP),
    ("the producer is the type's", ["source"], "reports"),
]  # fmt: skip


@pytest.mark.parametrize(("rule", "path", "value"), RULES, ids=[r[0] for r in RULES])
def test_the_schema_says_what_the_models_require(
    rule: str, path: list[object], value: object
) -> None:
    """Each rule that once lived only in prose: the published schema and the model agree."""
    schema = json.loads(
        (committed_folder() / "schemas/crm.conference.requested.v1.json").read_text()
    )
    validator = jsonschema.Draft202012Validator(schema)
    valid = _requested()
    validator.validate(valid)
    broken = _change(valid, path, value)
    assert not validator.is_valid(broken), rule
    with pytest.raises(MalformedInput):
        parse_event(json.dumps(broken).encode())


def test_the_schema_accepts_what_the_rules_allow() -> None:
    schema = json.loads(
        (committed_folder() / "schemas/crm.conference.requested.v1.json").read_text()
    )
    validator = jsonschema.Draft202012Validator(schema)
    review = _requested(kind="review", previous_conference_id="C-0")
    parent_without_agency = _change(_requested(), ["data", "participants", 0, "agency"], None)
    virtual = _change(_requested(), ["data", "venue"], {"mode": "virtual", "join_url": "https://x"})
    for event in (review, parent_without_agency, virtual):
        validator.validate(event)
        parse_event(json.dumps(event).encode())


def test_every_schema_carries_a_real_example_that_satisfies_it() -> None:
    """The examples are events the services published (tests/support/examples.py): each is
    valid against its published schema and is read by the models as it stands."""
    for name in EVENT_TYPES:
        schema = json.loads((committed_folder() / f"schemas/{name}.json").read_text())
        assert schema.get("examples"), f"{name} has no example"
        for example in schema["examples"]:
            jsonschema.Draft202012Validator(schema).validate(example)
            event, _entry, _data = parse_event(json.dumps(example).encode())
            assert event.type == name
    document = json.loads((committed_folder() / ASYNCAPI_FILE).read_text())
    for message in document["components"]["messages"].values():
        assert message["examples"][0]["payload"]["type"] == message["name"]


def _models(model: type) -> list[type]:
    """A model and every model it nests, however deep."""
    found = [model]
    for field in model.model_fields.values():
        for nested in _nested(field.annotation):
            found += _models(nested)
    return found


def _nested(annotation: object) -> list[type]:
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for argument in get_args(annotation) for model in _nested(argument)]


def test_every_date_and_time_field_is_held_to_the_years_the_contract_allows() -> None:
    from contracts.base import _date_fields
    from contracts.envelope import CloudEvent

    models = {m for entry in EVENT_TYPES.values() for m in _models(entry.model)}
    models |= set(_models(CloudEvent))
    checked = 0
    for model in models:
        properties = model.model_json_schema(by_alias=False).get("properties", {})
        for name, schema in properties.items():
            formats = {s.get("format") for s in [schema, *schema.get("anyOf", [])]}
            if formats & {"date", "date-time"}:
                assert name in _date_fields(model), f"{model.__name__}.{name}"
                checked += 1
    assert checked > 20
