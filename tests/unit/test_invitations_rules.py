"""The invitations rules: advice, supporters, quorum, exclusions."""

from datetime import date

import pytest

from rules.policy import Policy
from services.invitations import domain

policy = Policy()
ON = date(2026, 11, 25)


def person(
    pid: str, role: str, children: tuple[str, ...] = (), pr: bool = False, invited: bool = True
) -> domain.ListedPerson:
    return domain.ListedPerson(pid, role, children, pr, invited)


COMPLETE = [
    person("MUM", "parent", ("C1",), pr=True),
    person("SW", "social_worker"),
    person("POL", "police"),
]


def codes(
    children: list[domain.ChildFacts], people: list[domain.ListedPerson], rules: Policy = policy
) -> list[tuple[str, str | None]]:
    return [(a.code, a.child_id) for a in domain.attendance_advice(children, people, ON, rules)]


@pytest.mark.parametrize(
    ("born", "extra", "expected"),
    [
        (date(2016, 11, 25), [], [("child_views_needed", "C1")]),  # ten today
        (date(2016, 11, 26), [], []),  # ten tomorrow
        (date(2014, 1, 1), [person("C1", "child", ("C1",))], []),  # invited
        (date(2022, 1, 1), [], [("health_visitor_expected", "C1")]),  # under 5
        (date(2022, 1, 1), [person("HV", "health_visitor")], []),
        (None, [], [("health_visitor_expected", "C1")]),  # unborn
        (None, [person("MW", "midwife", ("C1",))], []),
        (date(2021, 11, 25), [], []),  # five today
    ],
)
def test_advice_about_children(
    born: date | None, extra: list[domain.ListedPerson], expected: list[tuple[str, str]]
) -> None:
    assert codes([domain.ChildFacts("C1", born)], COMPLETE + extra) == expected


def test_child_age_comes_from_the_policy() -> None:
    twelve = [domain.ChildFacts("C1", date(2014, 6, 1))]
    assert codes(twelve, COMPLETE, Policy(child_invited_from_age=13)) == []
    assert codes(twelve, COMPLETE) == [("child_views_needed", "C1")]


def test_advice_about_the_list() -> None:
    child = [domain.ChildFacts("C1", date(2018, 1, 1)), domain.ChildFacts("C2", date(2018, 1, 1))]
    people = [
        person("MUM", "parent", ("C1",), pr=True),
        person("DAD", "parent", ("C1", "C2"), pr=True, invited=False),
    ]
    assert codes(child, people) == [
        ("parental_responsibility_not_invited", "C2"),
        ("parental_responsibility_not_invited", None),
        ("police_expected", None),
        ("social_care_expected", None),
    ]


@pytest.mark.parametrize(
    ("named_on", "expected"),
    [(date(2026, 11, 20), False), (date(2026, 11, 23), False), (date(2026, 11, 24), True)],
)
def test_supporter_notice_two_working_days_before(named_on: date, expected: bool) -> None:
    by = date(2026, 11, 23)  # two working days before Wednesday 25 November
    assert domain.supporter_notice_late(named_on, by) is expected


@pytest.mark.parametrize(
    ("attending", "quorate", "missing"),
    [
        ([("social_worker", "CSC"), ("police", "Police"), ("gp", "Surgery")], True, ""),
        ([("team_manager", "CSC"), ("police", "Police"), ("school", "School")], True, ""),
        (
            [("social_worker", "CSC"), ("police", "Police")],
            False,
            "1 more agency besides children's social care needed",
        ),
        (
            [("police", "Police"), ("gp", "Surgery"), ("school", "School")],
            False,
            "children's social care is not attending",
        ),
        (
            [("social_worker", "CSC"), ("police", "Police"), ("police", " police ")],
            False,
            "1 more agency besides children's social care needed",
        ),
        (
            [],
            False,
            "children's social care is not attending; 2 more agencies besides "
            "children's social care needed",
        ),
    ],
)
def test_quorum(attending: list[tuple[str, str]], quorate: bool, missing: str) -> None:
    result = domain.assess_quorum([domain.Attendee(r, a) for r, a in attending], policy)
    assert (result.quorate, result.missing) == (quorate, missing)


def test_quorum_threshold_is_a_policy() -> None:
    two = [domain.Attendee("social_worker", "CSC"), domain.Attendee("police", "Police")]
    assert domain.assess_quorum(two, Policy(quorum_other_agencies=1)).quorate


def exclusion(**changes: object) -> domain.ExclusionRequest:
    values: dict[str, object] = {
        "person_id": "DAD",
        "decided_by": "CHAIR",
        "scope": "whole",
        "part_description": None,
        "grounds": ("risk_of_violence",),
        "reason": "Threats made.",
    }
    values.update(changes)
    return domain.ExclusionRequest(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("request_", "role", "reasons"),
    [
        (exclusion(), "parent", []),
        (exclusion(decided_by="SW"), "parent", ["only this conference's chair can decide"]),
        (exclusion(grounds=()), "parent", ["at least one ground"]),
        (exclusion(reason="  "), "parent", ["written reason"]),
        (exclusion(scope="part"), "parent", ["describe which part"]),
        (
            exclusion(scope="part", part_description="The discussion of police information"),
            "parent",
            [],
        ),
        (exclusion(), None, ["is not invited"]),
        (exclusion(), "police", ["only a family member"]),
    ],
)
def test_exclusion_rules(
    request_: domain.ExclusionRequest, role: str | None, reasons: list[str]
) -> None:
    found = domain.exclusion_violations(request_, "CHAIR", role)
    assert len(found) == len(reasons)
    for fragment, reason in zip(reasons, found, strict=True):
        assert fragment in reason


@pytest.mark.parametrize(
    ("role", "agency", "response", "deputy", "expected"),
    [
        ("police", "Police", "attending", None, domain.Attendee("police", "Police")),
        ("police", "Police", "apologies", None, None),
        ("police", "Police", None, None, None),
        (
            "gp",
            "Surgery",
            "deputy",
            {"role": "gp", "agency": "Surgery"},
            domain.Attendee("gp", "Surgery"),
        ),
        ("parent", None, "attending", None, None),  # family members do not make quorum
    ],
)
def test_who_an_answer_puts_in_the_room(
    role: str,
    agency: str | None,
    response: str | None,
    deputy: dict[str, str] | None,
    expected: domain.Attendee | None,
) -> None:
    assert domain.attendee(role, agency, response, deputy) == expected
