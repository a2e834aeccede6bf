"""Who is invited and what their invitation says: the chair and everyone listed, once each;
when to answer and to name a supporter; whether the conference is held within its
statutory timescale."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rules.calendar import WorkingDayCalendar
from rules.policy import Policy
from rules.roles import FAMILY


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
        return self.role in FAMILY


@dataclass(frozen=True)
class Invitation:
    """What one invitation says beyond the conference's own details."""

    invitee: Invitee
    revision: int
    respond_by: date
    pre_meeting_start: datetime | None
    supporter_notice_by: date | None
    chair_contact_by: date | None = None


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
    """The dates one invitation carries; for the family, the pre-meeting, or where the
    council's chair is in touch before the day instead, the date they will have been."""
    family = invitee.is_family
    contact_before = policy.chair_contacts_family_before
    return Invitation(
        invitee=invitee,
        revision=revision,
        respond_by=policy.before("respond_by_before", conference_date, calendar),
        pre_meeting_start=(
            scheduled_start - timedelta(minutes=policy.pre_meeting_minutes)
            if family and contact_before is None
            else None
        ),
        chair_contact_by=(
            calendar.subtract_working_days(conference_date, contact_before)
            if family and contact_before is not None
            else None
        ),
        supporter_notice_by=(
            policy.before("supporter_notice_before", conference_date, calendar) if family else None
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
