"""Advice on the invitation list: who is missing for each child (a parent with parental
responsibility, health for a young child, the child's own voice)."""

from dataclasses import dataclass
from datetime import date

from rules.policy import Policy
from rules.roles import SOCIAL_CARE

HEALTH_FOR_YOUNG_CHILDREN = frozenset({"health_visitor", "midwife"})


@dataclass(frozen=True)
class ChildFacts:
    """What advice needs to know about a child."""

    child_id: str
    date_of_birth: date | None  # None: unborn


@dataclass(frozen=True)
class ListedPerson:
    """What advice needs to know about someone on the invitation list."""

    person_id: str
    role: str
    child_ids: tuple[str, ...] = ()
    has_parental_responsibility: bool = False
    invited: bool = True
    needs_interpreter: bool = False
    language: str | None = None


@dataclass(frozen=True)
class AdviceItem:
    """One gap in the invitation list."""

    code: str
    message: str
    child_id: str | None = None


def age_on(born: date, on: date) -> int:
    """Age in whole years on a date."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _relates(person: ListedPerson, child_id: str) -> bool:
    return not person.child_ids or child_id in person.child_ids


def attendance_advice(
    children: list[ChildFacts], people: list[ListedPerson], conference_date: date, policy: Policy
) -> list[AdviceItem]:
    """Gaps in the invitation list: advice for the social worker, never a block."""
    invited = [p for p in people if p.invited]
    advice: list[AdviceItem] = []
    for child in children:
        advice += _for_child(child, invited, conference_date, policy)
    advice += [
        AdviceItem(
            "parental_responsibility_not_invited",
            f"{person.person_id} has parental responsibility and is not invited: make sure "
            "their views are heard.",
        )
        for person in people
        if person.has_parental_responsibility and not person.invited
    ]
    advice += _interpreters(invited)
    if not any(p.role == "police" for p in invited):
        advice.append(AdviceItem("police_expected", "Police are expected at every conference."))
    if not any(p.role in SOCIAL_CARE for p in invited):
        advice.append(
            AdviceItem(
                "social_care_expected", "Children's social care is expected at every conference."
            )
        )
    return advice


def _for_child(
    child: ChildFacts, invited: list[ListedPerson], conference_date: date, policy: Policy
) -> list[AdviceItem]:
    """One child's gaps: their own voice, health for a young or unborn child, and someone
    with parental responsibility."""
    advice: list[AdviceItem] = []
    age = None if child.date_of_birth is None else age_on(child.date_of_birth, conference_date)
    voiced = any(p.role in ("child", "advocate") and child.child_id in p.child_ids for p in invited)
    if age is not None and age >= policy.child_invited_from_age and not voiced:
        advice.append(
            AdviceItem(
                "child_views_needed",
                f"Child {child.child_id} is {age}: invite them or gather their views another "
                "way (advocate, app or worker).",
                child.child_id,
            )
        )
    if (age is None or age < 5) and not any(
        p.role in HEALTH_FOR_YOUNG_CHILDREN and _relates(p, child.child_id) for p in invited
    ):
        needed = "midwife" if age is None else "health visitor"
        advice.append(
            AdviceItem(
                "health_visitor_expected",
                f"Child {child.child_id} is {'unborn' if age is None else 'under 5'}: a "
                f"{needed} is expected.",
                child.child_id,
            )
        )
    if not any(
        p.has_parental_responsibility and _relates(p, child.child_id)
        for p in invited
        if p.role not in SOCIAL_CARE
    ):
        advice.append(
            AdviceItem(
                "parental_responsibility_not_invited",
                f"No one with parental responsibility for child {child.child_id} is invited: "
                "invite every parent or carer with parental responsibility, including one "
                "who does not live with the child.",
                child.child_id,
            )
        )
    return advice


def _interpreters(invited: list[ListedPerson]) -> list[AdviceItem]:
    """Someone invited needs an interpreter and no interpreter for their language is
    invited (an interpreter whose language is not given counts for any)."""
    languages = [p.language for p in invited if p.role == "interpreter"]
    return [
        AdviceItem(
            "interpreter_needed",
            f"{person.person_id} needs an interpreter"
            + (f" ({person.language})" if person.language else "")
            + ": none is invited.",
        )
        for person in invited
        if person.needs_interpreter
        and person.role != "interpreter"
        and not any(
            language is None
            or person.language is None
            or language.casefold() == person.language.casefold()
            for language in languages
        )
    ]
