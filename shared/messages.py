"""Reading incoming CloudEvents and building outgoing ones."""

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from contracts.base import ContractModel
from contracts.envelope import CloudEvent
from contracts.registry import EventType, event_type


class MalformedInput(Exception):
    """A message that is not a readable, known, valid event: it goes to the dead letters.

    `event_id` and `event_type` are set when the envelope could be read that far,
    so the producer can be told.
    """

    def __init__(self, reasons: list[str], raw: dict[str, Any] | None = None) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons
        self.raw = raw or {}

    @property
    def event_id(self) -> str | None:
        """The event's id, when the body carried a usable one (one a rejection can name)."""
        value = self.raw.get("id")
        usable = isinstance(value, str) and re.fullmatch(r"[!-~]{1,200}", value)
        return value if usable else None

    @property
    def event_type(self) -> str | None:
        """The event's type, when the body carried a usable one."""
        value = self.raw.get("type")
        usable = isinstance(value, str) and re.fullmatch(r"[a-z_.0-9]{1,200}", value)
        return value if usable else None


def describe_validation_error(error: ValidationError, prefix: str = "") -> list[str]:
    """Reasons a person can read, naming fields and never echoing the values."""
    reasons = []
    for item in error.errors(include_url=False, include_input=False):
        where = ".".join(str(part) for part in (prefix, *item["loc"]) if part != "")
        reasons.append(f"{where or 'data'}: {item['msg']}")
    return reasons


MAX_BODY_BYTES = 1_048_576
"""No CRM event comes near this (a conference with a few hundred participants is tens of KB);
a larger body is refused before it is parsed."""


def parse_event(body: bytes) -> tuple[CloudEvent, EventType, ContractModel]:
    """Read a message body into its envelope, contract entry and typed data.

    Raises MalformedInput for anything that is not a valid event of a known type,
    including bodies built to escape a parser (too large, nested too deep, numbers with
    thousands of digits): they are refused with a reason, never retried.
    """
    if len(body) > MAX_BODY_BYTES:
        raise MalformedInput(
            [f"the body is {len(body)} bytes: at most {MAX_BODY_BYTES} are accepted"]
        )
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as error:
        raise MalformedInput([f"the body is not JSON: {error.msg}"]) from error
    except UnicodeDecodeError as error:
        raise MalformedInput(["the body is not JSON: it is not UTF-8 text"]) from error
    except RecursionError as error:
        raise MalformedInput(["the body is JSON nested too deeply to read"]) from error
    except ValueError as error:  # e.g. an integer of thousands of digits
        raise MalformedInput([f"the body is not usable JSON: {type(error).__name__}"]) from error
    if not isinstance(raw, dict):
        raise MalformedInput(["the body is JSON but not an object, so not a CloudEvent"])
    if (b"\\u0000" in body or b"\\ud" in body.lower()) and not _text(raw):
        raise MalformedInput(
            ["the event holds a NUL character or a lone UTF-16 surrogate, which is not text"], raw
        )
    try:
        envelope = CloudEvent.model_validate(raw)
    except ValidationError as error:
        raise MalformedInput(describe_validation_error(error), raw) from error
    except RecursionError as error:
        raise MalformedInput(["the event is nested too deeply to read"], raw) from error
    entry = event_type(envelope.type)
    if entry is None:
        raise MalformedInput([f"unknown event type or version {envelope.type!r}"], raw)
    if envelope.source != entry.producer:
        raise MalformedInput(
            [f"source {envelope.source!r} is not the producer of {envelope.type}"], raw
        )
    try:
        data = entry.model.model_validate(envelope.data)
    except ValidationError as error:
        raise MalformedInput(describe_validation_error(error, "data"), raw) from error
    except RecursionError as error:
        raise MalformedInput(["data: nested too deeply to read"], raw) from error
    return envelope, entry, data


def _text(value: Any) -> bool:
    """True when every string in a JSON value is text a database can hold (no NUL, no lone
    surrogate)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return False
        return "\x00" not in value
    if isinstance(value, dict):
        return all(_text(k) and _text(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_text(item) for item in value)
    return True


def new_event(
    *,
    type_name: str,
    data: ContractModel,
    subject: str,
    tenant: str,
    correlationid: str,
    causationid: str | None,
    time: datetime,
    trace: dict[str, str] | None = None,
) -> CloudEvent:
    """A new event of a contract type, checked against its model; `trace` is the
    `traceparent` (and `tracestate`) of the span that causes it."""
    entry = event_type(type_name)
    if entry is None or not isinstance(data, entry.model):
        raise TypeError(f"{type(data).__name__} is not the data of {type_name}")
    return CloudEvent(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source=entry.producer,
        type=type_name,
        time=time,
        subject=subject,
        tenant=tenant,
        correlationid=correlationid,
        causationid=causationid,
        data=data.model_dump(mode="json", by_alias=True),
        **(trace or {}),
    )


def to_body(event: CloudEvent) -> bytes:
    """The JSON body of an event, as published."""
    unset = {name for name in ("traceparent", "tracestate") if getattr(event, name) is None}
    return event.model_dump_json(exclude_none=False, exclude=unset).encode()


@dataclass(frozen=True)
class Message:
    """One fact to publish: its exchange, routing key (its type), body and id."""

    exchange: str
    routing_key: str
    body: bytes
    message_id: str
