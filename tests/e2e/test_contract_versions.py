"""The contract's rule for a breaking change, shown once: a `.v2` published beside the `.v1`
it replaces; the service takes both, and they give the same facts. Here the CRM's answer to
an invitation, with the answer renamed and the interpreter's need said by its language
(a change no `.v1` consumer could read)."""

import dataclasses
import json
from typing import Any

import pytest
from pydantic import Field

from contracts import registry
from contracts.base import ContractModel
from contracts.crm_v1 import InvitationResponded, Participant, ResponseKind, Supporter
from services import app
from services.app import running
from services.invitations import handlers
from shared.runtime.definition import Binding, converted
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_events
from tests.support.listener import listening

V2 = "crm.invitation.responded.v2"


class InvitationRespondedV2(ContractModel):
    """`crm.invitation.responded.v2`: an invitee answered (`answer` replaces `response`; an
    interpreter is needed when a language is given)."""

    conference_id: str
    person_id: str
    answer: ResponseKind
    deputy: Participant | None = None
    supporter: Supporter | None = None
    interpreter_language: str | None = Field(default=None)

    def as_v1(self) -> InvitationResponded:
        return InvitationResponded(
            conference_id=self.conference_id,
            person_id=self.person_id,
            response=self.answer,
            deputy=self.deputy,
            supporter=self.supporter,
            needs_interpreter=True if self.interpreter_language else None,
            language=self.interpreter_language,
        )


ANSWERS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("SW", {"response": "attending"}, {"answer": "attending"}),
    ("MUM", {"response": "attending", "needs_interpreter": True, "language": "Polish"},
     {"answer": "attending", "interpreter_language": "Polish"}),
    ("MW", {"response": "apologies"}, {"answer": "apologies"}),
]  # fmt: skip
"""Each invitee's answer as `.v1` and as `.v2` say it."""


@pytest.fixture
def v2_beside_v1(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract and the invitations service with the `.v2` added beside the `.v1`."""
    entry = registry.EventType(V2, InvitationRespondedV2, "An invitee answered (v2).")
    monkeypatch.setitem(registry.EVENT_TYPES, V2, entry)
    definition = app.DEFINITIONS["invitations"]
    binding = Binding(
        V2, converted(handlers.on_invitation_responded, InvitationRespondedV2.as_v1), "As v1."
    )
    monkeypatch.setitem(
        app.DEFINITIONS,
        "invitations",
        dataclasses.replace(definition, bindings=[*definition.bindings, binding]),
    )


def _history(version: int) -> list[dict[str, Any]]:
    events = [cloud_event("crm.conference.requested.v1", "C-1", family_conference("C-1"))]
    for n, (person, v1, v2) in enumerate(ANSWERS):
        data = {"conference_id": "C-1", "person_id": person, **(v1 if version == 1 else v2)}
        kind = "crm.invitation.responded.v1" if version == 1 else V2
        events.append(cloud_event(kind, "C-1", data, time=f"2026-11-17T1{n}:00:00Z"))
    return events


async def _facts(settings: Settings, events: list[dict[str, Any]]) -> list[str]:
    async with listening(settings.amqp_url) as listener, running(["invitations"], settings):
        await publish_events(settings.amqp_url, events)
        await listener.wait_until(
            lambda seen: sum(e["type"] == "invitations.response.recorded.v1"
                             for e in seen.events) == len(ANSWERS)
        )  # fmt: skip
        await listener.settle(quiet=2.0)  # timers too (they fire once the council is quiet)
    return sorted(
        json.dumps([e["type"], e["subject"], e["data"]], sort_keys=True)
        for e in listener.events
        if e["source"] == "invitations"
    )


async def test_a_v2_beside_the_v1_is_accepted_and_gives_the_same_facts(
    settings: Settings, fresh_settings: Any, v2_beside_v1: None
) -> None:
    by_v1 = await _facts(settings, _history(1))
    by_v2 = await _facts(fresh_settings(), _history(2))
    assert not [f for f in by_v1 + by_v2 if ".input.rejected." in f]
    assert by_v1 == by_v2
    interpreter = [f for f in by_v2 if "invitations.response.recorded.v1" in f and "Polish" in f]
    assert len(interpreter) == 1
