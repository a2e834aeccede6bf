"""The Children in Need census return: the Section 47, child protection plan and child in
need plan modules, built from the decisions service's own records.

The census year runs from 1 April to 31 March; `year` names the year it ends in
(`--year 2027` is 1 April 2026 to 31 March 2027, reference date 31 March 2027).
"""

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from rules.calendar import WorkingDayCalendar
from rules.policy import Policy
from services.decisions import repository

GENDER = {"male": "1", "female": "2", "unknown": "0"}


@dataclass(frozen=True)
class CensusPeriod:
    """1 April to 31 March."""

    year: int

    @property
    def start(self) -> date:
        """The first day of the census year."""
        return date(self.year - 1, 4, 1)

    @property
    def end(self) -> date:
        """The reference date."""
        return date(self.year, 3, 31)

    def overlaps(self, start: date, end: date | None) -> bool:
        """True when a span touches the census year."""
        return start <= self.end and (end is None or end >= self.start)

    def holds(self, day: date | None) -> bool:
        """True when a date falls within the census year."""
        return day is not None and self.start <= day <= self.end


def _day(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _add(parent: ET.Element, tag: str, value: object | None) -> None:
    if value is not None:
        ET.SubElement(parent, tag).text = (
            value.isoformat() if isinstance(value, date) else str(value)
        )


def build(
    *,
    tenant: str,
    period: CensusPeriod,
    children: list[dict[str, Any]],
    conferences: list[Any],
    plans: list[Any],
    reviews: list[Any],
    policy: Policy,
    calendar: WorkingDayCalendar,
    generated_at: datetime,
) -> ET.Element:
    """The census `Message` for one council and year."""
    message = ET.Element("Message")
    header = ET.SubElement(message, "Header")
    details = ET.SubElement(header, "CollectionDetails")
    _add(details, "Collection", "CIN")
    _add(details, "Year", period.year)
    _add(details, "ReferenceDate", period.end)
    source = ET.SubElement(header, "Source")
    _add(source, "SourceLevel", "L")
    _add(source, "LEA", tenant)
    _add(source, "SoftwareCode", "Convene")
    _add(source, "Release", "1")
    _add(source, "SerialNo", "1")
    _add(
        source,
        "DateTime",
        generated_at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds"),
    )
    listed = ET.SubElement(message, "Children")
    live_plans = [p for p in plans if not p.voided]
    for child in sorted(children, key=lambda c: str(c["child_id"])):
        element = _child(child, period, conferences, live_plans, reviews, policy, calendar)
        if element is not None:
            listed.append(element)
    return message


def _child(
    child: dict[str, Any],
    period: CensusPeriod,
    conferences: list[Any],
    plans: list[Any],
    reviews: list[Any],
    policy: Policy,
    calendar: WorkingDayCalendar,
) -> ET.Element | None:
    child_id = child["child_id"]
    own_plans = sorted((p for p in plans if p.child_id == child_id), key=lambda p: p.start_date)
    in_year = [p for p in own_plans if period.overlaps(p.start_date, p.end_date)]
    initials = [
        c
        for c in conferences
        if c.kind in ("initial", "transfer_in")
        and child_id in {x.child_id for x in c.children}
        and period.holds(c.held_on or c.scheduled_date)
    ]
    if not in_year and not initials:
        return None
    element = ET.Element("Child")
    identifiers = ET.SubElement(element, "ChildIdentifiers")
    _add(identifiers, "LAchildID", child_id)
    _add(identifiers, "PersonBirthDate", _day(child.get("date_of_birth")))
    _add(identifiers, "ExpectedPersonBirthDate", _day(child.get("expected_date_of_delivery")))
    _add(identifiers, "GenderCurrent", GENDER.get(str(child.get("sex")), "0"))
    cin = ET.SubElement(element, "CINdetails")
    _add(cin, "CINreferralDate", _day(child.get("cin_referral_date")))
    transfer = next((c for c in initials if c.kind == "transfer_in"), None)
    if transfer is not None:  # an initial conference is recorded at one level only (2884)
        _add(cin, "DateOfInitialCPC", transfer.held_on or transfer.scheduled_date)
    for plan in (p for p in in_year if p.plan_type == "child_in_need"):
        dates = ET.SubElement(cin, "CINPlanDates")
        _add(dates, "CINPlanStartDate", plan.start_date)
        _add(dates, "CINPlanEndDate", plan.end_date if period.holds(plan.end_date) else None)
    for conference in (c for c in initials if c.kind == "initial"):
        strategy = _day(conference.details.get("strategy_discussion_date"))
        section47 = ET.SubElement(cin, "Section47")
        _add(
            section47,
            "S47ActualStartDate",
            _day(conference.details.get("section47_start_date")) or strategy,
        )
        if strategy is not None:
            _add(
                section47,
                "InitialCPCtarget",
                calendar.add_working_days(strategy, policy.initial_within_working_days),
            )
        _add(section47, "DateOfInitialCPC", conference.held_on or conference.scheduled_date)
        _add(section47, "ICPCnotRequired", "false")
    protection = [p for p in own_plans if p.plan_type != "child_in_need"]
    for plan in (p for p in in_year if p.plan_type != "child_in_need"):
        element_plan = ET.SubElement(cin, "ChildProtectionPlans")
        _add(element_plan, "CPPstartDate", plan.start_date)
        _add(element_plan, "CPPendDate", plan.end_date if period.holds(plan.end_date) else None)
        _add(element_plan, "InitialCategoryOfAbuse", plan.initial_category or plan.category)
        _add(element_plan, "LatestCategoryOfAbuse", plan.category)
        _add(
            element_plan,
            "NumberOfPreviousCPP",
            sum(1 for p in protection if p.start_date < plan.start_date),
        )
        held = sorted(
            r.review_date
            for r in reviews
            if r.plan_id == plan.plan_id and period.holds(r.review_date)
        )
        if held:
            reviews_element = ET.SubElement(element_plan, "Reviews")
            for day in held:
                _add(reviews_element, "CPPreviewDate", day)
    return element


def render(message: ET.Element) -> bytes:
    """The XML document, indented, UTF-8."""
    ET.indent(message)
    return bytes(ET.tostring(message, encoding="utf-8", xml_declaration=True))


async def export(
    engine: AsyncEngine,
    tenant: str,
    year: int,
    policy: Policy,
    calendar: WorkingDayCalendar,
    generated_at: datetime,
) -> bytes:
    """Read the council's records and render its census return for the year."""
    async with engine.connect() as connection:
        records = await repository.council_records(connection, tenant)
    return render(
        build(
            tenant=tenant,
            period=CensusPeriod(year),
            children=records.children,
            conferences=records.conferences,
            plans=records.plans,
            reviews=records.reviews,
            policy=policy,
            calendar=calendar,
            generated_at=generated_at,
        )
    )
