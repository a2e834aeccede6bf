"""The decisions rules: validation, dissent, census categories, plans across conferences."""

import pytest

from services.decisions import domain
from services.decisions.domain import (
    ChildDecision,
    ContinuePlan,
    EndPlan,
    OpenPlan,
    StartPlan,
    plan_effects,
)

CPP = OpenPlan("P1", "child_protection", "NEG")
CIN = OpenPlan("P2", "child_in_need", None)


@pytest.mark.parametrize(
    ("categories", "code"),
    [
        ((), None),
        (("neglect",), "NEG"),
        (("physical",), "PHY"),
        (("emotional",), "EMO"),
        (("sexual",), "SAB"),
        (("neglect", "sexual"), "MUL"),
        (("neglect", "neglect"), "NEG"),
    ],
)
def test_census_category(categories: tuple[str, ...], code: str | None) -> None:
    assert domain.census_category(categories) == code


def test_rule_violations() -> None:
    decisions = [
        ChildDecision("C1", "child_protection_plan", ()),
        ChildDecision("X9", "no_further_action", ()),
        ChildDecision("C1", "no_further_action", ()),
    ]
    assert domain.rule_violations(decisions, {"C1"}, "SW", "CHAIR") == [
        "the outcome must be decided by this conference's chair",
        "the plan for child C1 needs at least one category",
        "child X9 is not a child this conference concerned",
        "child C1 has more than one decision",
    ]


def test_dissent_is_every_recommendation_the_decision_differs_from() -> None:
    decisions = [ChildDecision("C1", "child_protection_plan", ("neglect",))]
    recommendations = [
        domain.Recommendation("POL", "C1", "child_in_need_plan"),
        domain.Recommendation("SW", "C1", "child_protection_plan"),
        domain.Recommendation("GP", "C2", "no_further_action"),
    ]
    assert domain.dissent(decisions, recommendations) == [
        domain.Dissent("POL", "C1", "child_in_need_plan")
    ]


@pytest.mark.parametrize(
    ("kind", "decision", "categories", "unborn", "open_plans", "effects"),
    [
        (
            "initial",
            "child_protection_plan",
            ("neglect",),
            False,
            [],
            [StartPlan("C", "child_protection", "NEG", ("neglect",))],
        ),
        (
            "transfer_in",
            "child_protection_plan",
            ("sexual",),
            False,
            [],
            [StartPlan("C", "child_protection", "SAB", ("sexual",))],
        ),
        (
            "initial",
            "child_protection_plan",
            ("neglect",),
            True,
            [],
            [StartPlan("C", "unborn_child_protection", "NEG", ("neglect",))],
        ),
        (
            "initial",
            "child_protection_plan",
            ("physical",),
            False,
            [CIN],  # stepping up
            [
                EndPlan("C", "P2", "child_in_need", "review_decision"),
                StartPlan("C", "child_protection", "PHY", ("physical",)),
            ],
        ),
        (
            "initial",
            "child_in_need_plan",
            (),
            False,
            [],
            [StartPlan("C", "child_in_need", None, ())],
        ),
        ("initial", "no_further_action", (), False, [], []),
        (
            "review",
            "child_protection_plan",
            ("emotional",),
            False,
            [CPP],
            [ContinuePlan("C", "P1", "NEG", "EMO", ("emotional",))],
        ),
        (
            "review",
            "child_in_need_plan",
            (),
            False,
            [CPP],  # stepping down
            [
                EndPlan("C", "P1", "child_protection", "review_decision"),
                StartPlan("C", "child_in_need", None, ()),
            ],
        ),
        (
            "review",
            "no_further_action",
            (),
            False,
            [CPP],
            [EndPlan("C", "P1", "child_protection", "review_decision")],
        ),
        (
            "review",
            "no_further_action",
            (),
            False,
            [CIN],
            [EndPlan("C", "P2", "child_in_need", "review_decision")],
        ),
    ],
)
def test_plan_effects(
    kind: str,
    decision: str,
    categories: tuple[str, ...],
    unborn: bool,
    open_plans: list[OpenPlan],
    effects: list[domain.PlanEffect],
) -> None:
    found, problems = plan_effects(
        kind, ChildDecision("C", decision, categories), unborn, open_plans
    )
    assert (found, problems) == (effects, [])


@pytest.mark.parametrize(
    ("kind", "open_plans", "problem"),
    [
        ("initial", [CPP], "already has a child protection plan"),
        ("transfer_in", [CPP], "already has a child protection plan"),
        ("review", [], "has no child protection plan to review"),
    ],
)
def test_plans_never_overlap_and_reviews_need_a_plan(
    kind: str, open_plans: list[OpenPlan], problem: str
) -> None:
    found, problems = plan_effects(
        kind, ChildDecision("C", "child_protection_plan", ("neglect",)), False, open_plans
    )
    assert found == [] and problem in problems[0]


@pytest.mark.parametrize(
    ("assessed", "reason", "expected"),
    [
        (None, None, (True, [])),
        (True, None, (True, [])),
        (False, "Police absent", (False, [])),
        (True, "Chair judged it inquorate", (False, [])),
    ],
)
def test_quorate(
    assessed: bool | None, reason: str | None, expected: tuple[bool, list[str]]
) -> None:
    assert domain.quorate(assessed, reason) == expected


def test_an_inquorate_decision_needs_the_chairs_reason() -> None:
    quorate, problems = domain.quorate(False, None)
    assert quorate is False and "inquorate_reason" in problems[0]


def test_events_about_different_children_do_not_wait_for_each_other() -> None:
    """A child's plans span conferences, so the events that can change them are applied in
    order per child; two families' conferences in one council run side by side."""
    from contracts.crm_v1 import ConferenceRequested, PlanEnded
    from contracts.envelope import CloudEvent
    from services.decisions.router import ordering_keys
    from tests.support.crm import cloud_event, family_conference

    def keys(type_name: str, subject: str, data: dict[str, object], model: type) -> set[str]:
        envelope = CloudEvent.model_validate(cloud_event(type_name, subject, data))
        return set(ordering_keys(envelope, model.model_validate(data)))

    first = keys("crm.conference.requested.v1", "A", family_conference("A"), ConferenceRequested)
    other = family_conference("B")
    for child in other["children"]:  # type: ignore[attr-defined]
        child["child_id"] = f"B-{child['child_id']}"
    second = keys("crm.conference.requested.v1", "B", other, ConferenceRequested)
    assert not first & second
    ended = {"child_id": "C1", "ended_on": "2027-01-01", "reason": "other", "recorded_by": "SW"}
    assert keys("crm.plan.ended.v1", "C1", ended, PlanEnded) & first == {"plans|C1"}
