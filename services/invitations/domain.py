"""The invitation rules, as plain Python."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from shared.calendar import WorkingDayCalendar
from shared.policy import Policy

FAMILY_ROLES = frozenset({"parent", "carer", "child", "family_member", "supporter", "advocate"})


@dataclass(frozen=True)
class Invitee:
    """Someone to invite: a participant the CRM listed, or the chair."""

    person_id: str
    role: str
    needs_interpreter: bool = False
    language: str | None = None

    @property
    def is_family(self) -> bool:
        """Family members get the pre-meeting and the supporter notice date."""
        return self.role in FAMILY_ROLES


@dataclass(frozen=True)
class Invitation:
    """What one invitation says beyond the conference's own details."""

    invitee: Invitee
    revision: int
    respond_by: date
    pre_meeting_start: datetime | None
    supporter_notice_by: date | None


@dataclass(frozen=True)
class TimescaleBreach:
    """A conference scheduled after its statutory date."""

    rule: str
    target_date: date
    scheduled_date: date
    working_days_late: int


def invitees(chair_person_id: str, participants: list[Invitee]) -> list[Invitee]:
    """Everyone to invite, once each: the chair first, then the list in its order."""
    seen = {chair_person_id}
    result = [Invitee(chair_person_id, "chair")]
    for participant in participants:
        if participant.person_id not in seen:
            seen.add(participant.person_id)
            result.append(participant)
    return result


def invitation_for(
    invitee: Invitee,
    scheduled_start: datetime,
    conference_date: date,
    revision: int,
    policy: Policy,
    calendar: WorkingDayCalendar,
) -> Invitation:
    """The dates one invitation carries."""
    family = invitee.is_family
    return Invitation(
        invitee=invitee,
        revision=revision,
        respond_by=calendar.subtract_working_days(conference_date, policy.respond_by_before),
        pre_meeting_start=(
            scheduled_start - timedelta(minutes=policy.pre_meeting_minutes) if family else None
        ),
        supporter_notice_by=(
            calendar.subtract_working_days(conference_date, policy.supporter_notice_before)
            if family
            else None
        ),
    )


def timescale_breach(
    kind: str,
    scheduled_date: date,
    strategy_discussion_date: date | None,
    transfer_notice_date: date | None,
    policy: Policy,
    calendar: WorkingDayCalendar,
) -> TimescaleBreach | None:
    """The statutory timescale an initial or transfer-in conference misses, if any."""
    if kind == "initial" and strategy_discussion_date is not None:
        rule, start, within = (
            "initial_within_15_working_days",
            strategy_discussion_date,
            policy.initial_within_working_days,
        )
    elif kind == "transfer_in" and transfer_notice_date is not None:
        rule, start, within = (
            "transfer_in_within_15_working_days",
            transfer_notice_date,
            policy.transfer_in_within_working_days,
        )
    else:
        return None
    target = calendar.add_working_days(start, within)
    if scheduled_date <= target:
        return None
    late = max(1, calendar.working_days_between(target, scheduled_date))
    return TimescaleBreach(rule, target, scheduled_date, late)


# --- Advice on the invitation list --------------------------------------------------

PROFESSIONAL_SOCIAL_CARE = frozenset({"social_worker", "team_manager"})
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
        age = None if child.date_of_birth is None else age_on(child.date_of_birth, conference_date)
        if (
            age is not None
            and age >= policy.child_invited_from_age
            and not any(p.role == "child" and child.child_id in p.child_ids for p in invited)
        ):
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
            if p.role not in PROFESSIONAL_SOCIAL_CARE
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
    for person in people:
        if person.has_parental_responsibility and not person.invited:
            advice.append(
                AdviceItem(
                    "parental_responsibility_not_invited",
                    f"{person.person_id} has parental responsibility and is not invited: make sure "
                    "their views are heard.",
                )
            )
    if not any(p.role == "police" for p in invited):
        advice.append(AdviceItem("police_expected", "Police are expected at every conference."))
    if not any(p.role in PROFESSIONAL_SOCIAL_CARE for p in invited):
        advice.append(
            AdviceItem(
                "social_care_expected", "Children's social care is expected at every conference."
            )
        )
    return advice


# --- Responses and quorum -----------------------------------------------------------


def supporter_notice_late(named_on: date, supporter_notice_by: date | None) -> bool:
    """A supporter named after the notice date is flagged for the chair."""
    return supporter_notice_by is not None and named_on > supporter_notice_by


@dataclass(frozen=True)
class Attendee:
    """A professional expected to attend (themselves or by deputy)."""

    role: str
    agency: str


@dataclass(frozen=True)
class Quorum:
    """Whether the conference can go ahead."""

    quorate: bool
    agencies_attending: list[str]
    missing: str


def attendee(
    role: str, agency: str | None, response: str | None, deputy: dict[str, Any] | None
) -> Attendee | None:
    """Who an answer puts in the room for quorum: the professional, their deputy, or
    nobody (apologies, no answer yet, or a family member)."""
    if response == "attending" and agency:
        return Attendee(role, agency)
    if response == "deputy" and deputy and deputy.get("agency"):
        return Attendee(str(deputy["role"]), str(deputy["agency"]))
    return None


def _agency_key(agency: str) -> str:
    return " ".join(agency.split()).casefold()


def assess_quorum(attendees: list[Attendee], policy: Policy) -> Quorum:
    """Children's social care plus at least `quorum_other_agencies` other agencies."""
    agencies: dict[str, str] = {}
    social_care_keys = set()
    for attendee in attendees:
        key = _agency_key(attendee.agency)
        agencies.setdefault(key, attendee.agency.strip())
        if attendee.role in PROFESSIONAL_SOCIAL_CARE:
            social_care_keys.add(key)
    others = len([k for k in agencies if k not in social_care_keys])
    needed = max(0, policy.quorum_other_agencies - others)
    missing = []
    if not social_care_keys:
        missing.append("children's social care is not attending")
    if needed:
        missing.append(
            f"{needed} more agenc{'y' if needed == 1 else 'ies'} besides "
            "children's social care needed"
        )
    return Quorum(not missing, sorted(agencies.values()), "; ".join(missing))


# --- Exclusions -------------------------------------------------------------------------


@dataclass(frozen=True)
class ExclusionRequest:
    """A chair's decision to exclude someone, as the domain sees it."""

    person_id: str
    decided_by: str
    scope: str
    part_description: str | None
    grounds: tuple[str, ...]
    reason: str


def exclusion_violations(
    request: ExclusionRequest, chair_person_id: str, invitee_role: str | None
) -> list[str]:
    """Why an exclusion cannot be recorded, in words a CRM user understands."""
    reasons = []
    if request.decided_by != chair_person_id:
        reasons.append("only this conference's chair can decide an exclusion")
    if not request.grounds:
        reasons.append("an exclusion needs at least one ground")
    if not request.reason.strip():
        reasons.append("an exclusion needs the chair's written reason")
    if request.scope == "part" and not (request.part_description or "").strip():
        reasons.append("a partial exclusion must describe which part")
    if invitee_role is None:
        reasons.append(f"{request.person_id} is not invited to this conference")
    elif invitee_role not in FAMILY_ROLES:
        reasons.append("only a family member can be excluded")
    return reasons
