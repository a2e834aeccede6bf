"""An interpreter need given in a response is part of `response.recorded`, and advice is
raised when someone invited needs an interpreter and none for their language is."""

from datetime import UTC, date, datetime

import pytest

from contracts.crm_v1 import ConferenceRequested, InvitationResponded
from rules.calendar import WorkingDayCalendar
from rules.effects import Env
from rules.policy import Policy
from services.invitations import domain as invitations
from tests.support.crm import family_conference

CALENDAR = WorkingDayCalendar()
ON = date(2026, 11, 25)


def person(
    person_id: str, role: str, needs: bool = False, language: str | None = None
) -> invitations.ListedPerson:
    return invitations.ListedPerson(person_id, role, needs_interpreter=needs, language=language)


def codes(people: list[invitations.ListedPerson]) -> list[tuple[str, str]]:
    advice = invitations.attendance_advice([], people, ON, Policy())
    return [(a.code, a.message) for a in advice if a.code == "interpreter_needed"]


@pytest.mark.parametrize(
    ("interpreter", "advised"),
    [
        (None, True),  # none invited
        (("ar",), False),  # one for the language
        (("AR",), False),  # languages matched without regard to case
        (("pl",), True),  # one for another language only
        ((None,), False),  # one whose language is not given counts for any
    ],
)
def test_someone_needing_an_interpreter_with_none_for_their_language_is_advised(
    interpreter: tuple[str | None] | None, advised: bool
) -> None:
    people = [person("MUM", "parent", True, "ar"), person("SW", "social_worker")]
    if interpreter is not None:
        people.append(person("INT", "interpreter", language=interpreter[0]))
    found = codes(people)
    assert bool(found) is advised
    if advised:
        assert found == [("interpreter_needed", "MUM needs an interpreter (ar): none is invited.")]


def test_a_response_carries_its_interpreter_need_and_raises_the_advice() -> None:
    at = Env(datetime(2026, 11, 17, 9, tzinfo=UTC), Policy(), CALENDAR)
    request = ConferenceRequested.model_validate(family_conference("C"))
    conference, _ = invitations.Conference.request(request, None, None, at)
    answer = InvitationResponded.model_validate(
        {"conference_id": "C", "person_id": "MUM", "response": "attending",
         "needs_interpreter": True, "language": "pl"}
    )  # fmt: skip
    facts = {f.type_name: f.data for f in conference.respond(answer, at).facts}
    recorded = facts["invitations.response.recorded.v1"]
    assert (recorded.needs_interpreter, recorded.language) == (True, "pl")
    advice = facts["invitations.attendance.advised.v1"].advice
    assert [(a.code, a.message) for a in advice if a.code == "interpreter_needed"] == [
        ("interpreter_needed", "MUM needs an interpreter (pl): none is invited.")
    ]
    # An answer that says nothing of an interpreter says nothing of one, and advises
    # nothing new.
    again = InvitationResponded.model_validate(
        {"conference_id": "C", "person_id": "MUM", "response": "attending"}
    )
    facts = {f.type_name: f.data for f in conference.respond(again, at).facts}
    recorded = facts["invitations.response.recorded.v1"]
    assert (recorded.needs_interpreter, recorded.language) == (None, None)
    assert "invitations.attendance.advised.v1" not in facts
