"""The DfE's Children in Need census validation rules for the modules Convene returns
(Section 47, child protection plans and their reviews, child in need plan dates), checked
on the XML itself so a council sees problems before the DfE does.

Each rule carries the DfE's code; a code ending in Q is a query (warning) in the DfE's
own tool.
"""

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

CATEGORIES = {"NEG", "PHY", "EMO", "SAB", "MUL"}


@dataclass(frozen=True)
class Violation:
    """One broken rule."""

    code: str
    child: str
    message: str


@dataclass(frozen=True)
class Span:
    """A plan's dates; an open plan runs past the reference date."""

    start: date
    end: date | None

    def overlaps(self, other: "Span") -> bool:
        """True when the two share a day in which both are open (touching ends do not)."""
        far = date.max
        return self.start < (other.end or far) and other.start < (self.end or far)


def _date(element: ET.Element | None, tag: str) -> date | None:
    found = None if element is None else element.findtext(tag)
    return date.fromisoformat(found) if found else None


def check(document: bytes) -> list[Violation]:
    """Every rule the return breaks (an empty list: it passes)."""
    message = ET.fromstring(document)  # noqa: S314  # our own output, not untrusted input
    reference = _date(message.find("Header/CollectionDetails"), "ReferenceDate")
    violations: list[Violation] = []
    details = message.find("Header/CollectionDetails")
    if details is None or details.findtext("Collection") != "CIN" or reference is None:
        return [Violation("header", "-", "Header must name the CIN collection and reference date")]
    period = (date(reference.year - 1, 4, 1), reference)
    starts, conferences = 0, 0
    for child in message.iterfind("Children/Child"):
        child_id = child.findtext("ChildIdentifiers/LAchildID") or "?"
        for code, text in _child_rules(child, period):
            violations.append(Violation(code, child_id, text))
        for cin in child.iterfind("CINdetails"):
            starts += sum(
                1
                for p in cin.iterfind("ChildProtectionPlans")
                if _within(_date(p, "CPPstartDate"), period)
            )
            conferences += sum(
                1
                for d in [
                    _date(cin, "DateOfInitialCPC"),
                    *(_date(s, "DateOfInitialCPC") for s in cin.iterfind("Section47")),
                ]
                if _within(d, period)
            )
    if starts > conferences:
        violations.append(
            Violation(
                "2883",
                "-",
                "There are more child protection plans "
                "starting than initial conferences taking place",
            )
        )
    return violations


def _within(day: date | None, period: tuple[date, date]) -> bool:
    return day is not None and period[0] <= day <= period[1]


def _child_rules(child: ET.Element, period: tuple[date, date]) -> Iterator[tuple[str, str]]:
    identifiers = child.find("ChildIdentifiers")
    if (_date(identifiers, "PersonBirthDate") is None) == (
        _date(identifiers, "ExpectedPersonBirthDate") is None
    ):
        yield "8525", "Either Date of Birth or Expected Date of Birth must be provided (not both)"
    for cin in child.iterfind("CINdetails"):
        yield from _section47_rules(cin, period)
        yield from _plan_rules(cin, period)


def _section47_rules(cin: ET.Element, period: tuple[date, date]) -> Iterator[tuple[str, str]]:
    at_cin_level = _date(cin, "DateOfInitialCPC")
    for section47 in cin.iterfind("Section47"):
        started, held = _date(section47, "S47ActualStartDate"), _date(section47, "DateOfInitialCPC")
        target = _date(section47, "InitialCPCtarget")
        if started is None or (held is not None and started > held):
            yield (
                "8615",
                (
                    "Section 47 Enquiry Start Date must be present and cannot be later "
                    "than the date of the initial Child Protection Conference"
                ),
            )
        if held is not None and not _within(held, period):
            yield (
                "8715",
                "Date of Initial Child Protection Conference must fall within the census year",
            )
        if held is not None and held.weekday() >= 5:
            yield (
                "8869Q",
                "The Date of the Initial Child Protection Conference should not be a weekend",
            )
        if target is not None and target.weekday() >= 5:
            yield (
                "8870Q",
                ("The Target Date for Initial Child Protection Conference should not be a weekend"),
            )
        if held is not None and at_cin_level is not None:
            yield (
                "2884",
                (
                    "An initial child protection conference is recorded at both the S47 "
                    "and CIN Details level and it should only be recorded in one"
                ),
            )
    referral = _date(cin, "CINreferralDate")
    initial_dates = {
        at_cin_level,
        *(_date(s, "DateOfInitialCPC") for s in cin.iterfind("Section47")),
    }
    for plan in cin.iterfind("ChildProtectionPlans"):
        start = _date(plan, "CPPstartDate")
        if _within(start, period) and start not in initial_dates:
            yield (
                "2885",
                (
                    "Child protection plan shown as starting a different day to the "
                    "initial child protection conference"
                ),
            )
        if referral is not None and start is not None and start < referral:
            yield "1105", "The child protection plan start date cannot be before the referral date"


def _plan_rules(cin: ET.Element, period: tuple[date, date]) -> Iterator[tuple[str, str]]:
    protection: list[Span] = []
    for plan in cin.iterfind("ChildProtectionPlans"):
        start, end = _date(plan, "CPPstartDate"), _date(plan, "CPPendDate")
        if start is None or start > period[1]:
            yield (
                "8720",
                "Child Protection Plan Start Date missing or out of data collection period",
            )
            continue
        if (plan.findtext("NumberOfPreviousCPP") or "").strip() == "":
            yield "8730", "Total Number of previous Child Protection Plans missing"
        if plan.findtext("InitialCategoryOfAbuse") not in CATEGORIES:
            yield "8905", "Initial Category of Abuse code missing or invalid"
        if plan.findtext("LatestCategoryOfAbuse") not in CATEGORIES:
            yield "8910", "Latest Category of Abuse code missing or invalid"
        if end is not None and end < start:
            yield "8925", "Child Protection Plan End Date earlier than Start Date"
        if end is not None and end == start:
            yield "8840", "Child Protection Plan cannot start and end on the same day"
        if end is not None and not _within(end, period):
            yield "8930", "Child Protection Plan End Date must fall within the census year"
        for review in plan.iterfind("Reviews/CPPreviewDate"):
            if review.text is None or date.fromisoformat(review.text) <= start:
                yield (
                    "8841",
                    (
                        "The review date cannot be on the same day or before the Child "
                        "protection Plan start date."
                    ),
                )
        protection.append(Span(start, end))
    if any(a.overlaps(b) for i, a in enumerate(protection) for b in protection[i + 1 :]):
        yield "8940", "Child Protection Plan data contains overlapping dates"
    yield from _cin_plan_rules(cin, period, protection)


def _cin_plan_rules(
    cin: ET.Element, period: tuple[date, date], protection: list[Span]
) -> Iterator[tuple[str, str]]:
    referral = _date(cin, "CINreferralDate")
    in_need: list[Span] = []
    for dates in cin.iterfind("CINPlanDates"):
        start, end = _date(dates, "CINPlanStartDate"), _date(dates, "CINPlanEndDate")
        if start is None or start > period[1]:
            yield "4010", "CIN Plan start date is missing or out of data collection period"
            continue
        if end is not None and end < start:
            yield "4011", "CIN Plan End Date earlier than Start Date"
        if referral is not None and start < referral:
            yield "4015", "The CIN Plan start date cannot be before the referral date"
        in_need.append(Span(start, end))
    if any(a.overlaps(b) for i, a in enumerate(in_need) for b in in_need[i + 1 :]):
        yield "4014", "CIN Plan data contains overlapping dates"
    if sum(1 for span in in_need if span.end is None) > 1:
        yield "4004", "This child is showing more than one open CIN Plan, i.e. with no End Date"
    if any(a.overlaps(b) for a in in_need for b in protection):
        yield (
            "4016",
            "A CIN Plan has been reported as open at the same time as a Child Protection Plan.",
        )
    reviews = [
        date.fromisoformat(r.text)
        for r in cin.iterfind("ChildProtectionPlans/Reviews/CPPreviewDate")
        if r.text
    ]
    if any(span.start < day < (span.end or date.max) for day in reviews for span in in_need):
        yield (
            "4003",
            "A CPP review date is shown as being held at the same time as an open CIN Plan.",
        )
