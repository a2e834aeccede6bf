"""The timeline as a person reads it: each fact in plain words, in London time, in the
order it happened, with ids and roles and never a name."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo


@dataclass
class Timeline:
    """Every event seen, in order of arrival."""

    started: float = field(default_factory=time.monotonic)
    rows: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, event: dict[str, Any]) -> None:
        """Record an event."""
        self.rows.append((time.monotonic() - self.started, event))
        self.changed.set()

    def count(self, type_name: str) -> int:
        """How many events of a type were seen."""
        return sum(1 for _, e in self.rows if e.get("type") == type_name)

    async def wait_for(self, type_name: str, count: int = 1, within: float = 20.0) -> None:
        """Wait until `count` events of a type have arrived."""
        try:
            async with asyncio.timeout(within):
                while self.count(type_name) < count:
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            raise TimeoutError(f"waited {within}s for {count} x {type_name}") from None


COUNCILS = {
    "878": "Devon",
    "886": "Kent",
    "317": "Redbridge",
    "807": "Redcar and Cleveland",
    "937": "Warwickshire",
}
"""The councils of the shipped policy presets, by DfE LA code."""


WORDS = {
    "initial": "initial",
    "review": "review",
    "transfer_in": "transfer-in",
    "child_protection_plan": "child protection plan",
    "child_in_need_plan": "child in need plan",
    "no_further_action": "no further action",
    "child_protection": "child protection plan",
    "child_in_need": "child in need plan",
    "MUL": "multiple categories",
    "NEG": "neglect",
    "PHY": "physical abuse",
    "EMO": "emotional abuse",
    "SAB": "sexual abuse",
    "whole": "the whole conference",
    "part": "part of the conference",
    "apologies": "sends apologies",
    "not_shareable_before_conference": "not to be shared before the conference",
    "parental_responsibility_not_invited": "someone with parental responsibility is not invited",
    "interpreter_needed": "an interpreter is needed and none is invited",
    "excluded": "excluded by the chair",
    "chair_ordered": "the chair ordered it withheld",
    "lead_social_worker": "lead social worker",
    "core_group": "core group",
}
"""Plain words for the contract's codes; any other code is shown with spaces."""


def word(code: object) -> str:
    """A code as a person reads it."""
    text = str(code)
    return WORDS.get(text, text.replace("_", " "))


def words(codes: list[Any]) -> str:
    """Codes as a list a person reads ("-" for none)."""
    return ", ".join(word(code) for code in codes) or "-"


def yes(value: object) -> str:
    """A yes/no answer."""
    return "yes" if value else "no"


LONDON = ZoneInfo("Europe/London")


def when(value: str) -> str:
    """A date or a moment, in one format, in London time: `Wed 25 Nov 2026 10:00`."""
    if "T" not in value:
        return date.fromisoformat(value).strftime("%a %d %b %Y")
    moment = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(LONDON)
    return moment.strftime("%a %d %b %Y %H:%M")


FACTS: dict[str, Callable[[dict[str, Any]], str]] = {
    "crm.conference.requested.v1": lambda d: (
        f"{word(d['kind'])} conference for {len(d['children'])} children, "
        f"{len(d['participants'])} people invited, on {when(d['scheduled_start'])}"
    ),
    "crm.report.submitted.v1": lambda d: f"{d['agency']} sends report {d['report_id']}",
    "crm.invitation.responded.v1": lambda d: f"{d['person_id']}: {word(d['response'])}",
    "crm.exclusion.decided.v1": lambda d: (
        f"the chair excludes {d['person_id']} from {word(d['scope'])}"
    ),
    "reports.report.shared.v1": lambda d: (
        f"{d['report_id']} sent to {d['recipient_person_id']} ({word(d['recipient_role'])})"
        f"{', restricted part included' if d['includes_restricted'] else ''}"
        f"{'' if d['on_time'] else ', later than the policy asks'}"
    ),
    "reports.report.withheld.v1": lambda d: (
        f"{d['report_id']} not sent to {d['recipient_person_id']}: {word(d['reason'])}"
    ),
    "reports.reminder.sent.v1": lambda d: (
        f"{d['author_person_id']} reminded: report due to the chair {when(d['due_to_chair'])}"
        + (
            f", and the family's copy before that, by {when(d['share_with_family_by'])}"
            if d.get("share_with_family_by") and d["share_with_family_by"] < d["due_to_chair"]
            else ""
        )
    ),
    "reports.report.overdue.v1": lambda d: (
        f"{d['agency']} report not in by the {d.get('deadline', 'chair')}'s deadline "
        f"({when(d.get('due_by') or d['due_to_chair'])}); told {', '.join(d['notify'])}"
    ),
    "reports.readiness.assessed.v1": lambda d: (
        f"reports received: {', '.join(d['received']) or 'none'}; "
        f"missing: {', '.join(d['missing']) or 'none'}; "
        f"family had them on time: {yes(d['family_shared_on_time'])}"
    ),
    "crm.conference.held.v1": lambda d: f"conference held on {when(d['held_on'])}",
    "crm.outcome.decided.v1": lambda d: "; ".join(
        f"{c['child_id']}: {word(c['decision'])}" for c in d["children"]
    ),
    "invitations.invitation.issued.v1": lambda d: (
        f"{d['person_id']} ({word(d['role'])}) invited, version {d['revision']}, "
        f"reply by {when(d['respond_by'])}"
        + (f", needs an interpreter ({d['language']})" if d.get("needs_interpreter") else "")
    ),
    "invitations.response.recorded.v1": lambda d: (
        f"{d['person_id']}: {word(d['response'])}"
        + (
            f", bringing a supporter{' (told us late)' if d['supporter_notice_late'] else ''}"
            if d.get("supporter")
            else ""
        )
    ),
    "invitations.quorum.assessed.v1": lambda d: (
        ("quorate" if d["quorate"] else "not quorate yet")
        + f": attending {', '.join(d['agencies_attending']) or 'nobody yet'}"
        + (f" ({d['missing']})" if d["missing"] else "")
    ),
    "invitations.exclusion.recorded.v1": lambda d: (
        f"{d['person_id']} excluded from {word(d['scope'])} by {d['decided_by']}, because of "
        f"{words(d['grounds'])}"
    ),
    "invitations.invitation.withdrawn.v1": lambda d: (
        f"invitation to {d['person_id']} withdrawn: {word(d['reason'])}"
    ),
    "invitations.attendance.advised.v1": lambda d: (
        "; ".join(word(a["code"]) for a in d["advice"]) or "nobody missing"
    ),
    "invitations.timescale.breached.v1": lambda d: (
        f"should be held by {when(d['target_date'])}, booked for "
        f"{when(d['scheduled_date'])}: {d['working_days_late']} working days late"
    ),
    "reports.report.requested.v1": lambda d: (
        f"{d['agency']} asked for a report: to the chair by {when(d['due_to_chair'])}, "
        f"to the family by {when(d['share_with_family_by'])}"
        + (" (short notice)" if d["short_notice"] else "")
    ),
    "reports.report.received.v1": lambda d: (
        f"{d['agency']} report received "
        f"{'on time' if d['on_time'] else 'late'}"
        + (f", without: {words(d['missing_sections'])}" if d["missing_sections"] else "")
    ),
    "decisions.outcome.recorded.v1": lambda d: (
        "; ".join(
            f"{c['child_id']}: {word(c['decision'])}"
            + (f" ({word(c['census_category'])})" if c["census_category"] else "")
            for c in d["children"]
        )
        + f"; {len(d['dissent'])} disagreed; quorate: {yes(d['quorate'])}"
    ),
    "decisions.plan.started.v1": lambda d: (
        f"{d['child_id']}: {word(d['plan_type'])} ({word(d['category'])}) "
        f"from {when(d['start_date'])}"
    ),
    "decisions.review.due.v1": lambda d: (
        f"{d['child_id']}: review conference by {when(d['due_by'])}"
    ),
    "decisions.core_group.due.v1": lambda d: (
        f"core group of {len(d['members'])} to meet by {when(d['due_by'])}"
        + (
            f" (after meeting on {when(d['after_meeting_on'])})"
            if d.get("after_meeting_on")
            else ""
        )
    ),
    "decisions.decision_notice.due.v1": lambda d: (
        f"decision to be sent to {d['recipient_person_id']} ({word(d['recipient'])}) by "
        f"{when(d['send_by'])}"
        + (", with how to complain" if d["how_to_complain"] else "")
        + (f", correcting {len(d['changes'])} thing(s)" if d["changes"] else "")
    ),
    "decisions.decision_notice.withheld.v1": lambda d: (
        f"decision not sent to {d['recipient_person_id']}: {word(d['reason'])}"
    ),
    "crm.core_group.held.v1": lambda d: (
        f"core group met on {when(d['held_on'])}, {len(d['attended'])} there"
    ),
    "decisions.core_group.recorded.v1": lambda d: (
        f"core group meeting {'on time' if d['on_time'] else 'late'}"
        + (f"; done: {', '.join(d['actions_done'])}" if d["actions_done"] else "")
    ),
    "decisions.core_group.overdue.v1": lambda d: (
        f"core group did not meet by {when(d['due_by'])}; told {', '.join(d['notify'])}"
    ),
    "decisions.plan_action.overdue.v1": lambda d: (
        f"plan action {d['action_id']} ({d['who']}) not done by {when(d['due_by'])}; told "
        f"{', '.join(d['notify'])}"
    ),
    "crm.plan.agreed.v1": lambda d: f"detailed plan agreed: {len(d['actions'])} actions",
    "crm.minutes.submitted.v1": lambda d: f"minutes, version {d['version']}",
    "reports.minutes.shared.v1": lambda d: (
        f"minutes v{d['version']} to {d['recipient_person_id']} ({word(d['recipient_role'])})"
        + (", restricted part included" if d["includes_restricted"] else "")
        + (f", corrections by {when(d['corrections_by'])}" if d["corrections_by"] else "")
        + ("" if d["on_time"] else ", later than the policy asks")
    ),
    "reports.minutes.withheld.v1": lambda d: (
        f"minutes v{d['version']} not sent to {d['recipient_person_id']}: {word(d['reason'])}"
    ),
    "crm.minutes.correction_requested.v1": lambda d: f"{d['person_id']} asks for a correction",
    "reports.minutes.correction_requested.v1": lambda d: (
        f"chair to answer {d['person_id']}'s correction by {when(d['answer_by'])}"
    ),
    "crm.minutes.correction_answered.v1": lambda d: (
        f"chair {'accepts' if d['accepted'] else 'declines'} the correction"
    ),
    "reports.minutes.reminder_sent.v1": lambda d: (
        f"chair reminded: {word(d['about'])} due by {when(d['due_by'])}"
    ),
    "reports.minutes.overdue.v1": lambda d: (
        f"{word(d['about'])} not in by {when(d['due_by'])}; told {', '.join(d['notify'])}"
    ),
}


PRODUCER_ORDER = {"crm": 0, "invitations": 1, "reports": 2, "decisions": 3}


def council(tenant: str) -> str:
    """A council's code with its name beside it, where known."""
    name = COUNCILS.get(tenant)
    return f"{tenant} ({name})" if name else tenant


def render(timeline: Timeline) -> str:
    """The timeline as a council user reads it: in time order (the CRM's facts first at the
    same moment, then each service's), one date format, London time, plain words."""
    rows = []
    for _elapsed, event in timeline.rows:
        describe = FACTS.get(event["type"])
        facts = describe(event["data"]) if describe else ""
        name = event["type"].split(".", 1)[1].removesuffix(".v1")
        moment = datetime.fromisoformat(event["time"].replace("Z", "+00:00")).astimezone(UTC)
        rank = PRODUCER_ORDER.get(event["source"], 9)
        rows.append((moment, rank, name, facts, event["source"]))
    lines = [f"{'when (London)':<21}  {'from':<12} {'event':<22} what happened", "-" * 110]
    for moment, _rank, name, facts, source in sorted(rows):
        lines.append(f"{when(moment.isoformat()):<21}  {source:<12} {name:<22} {facts}")
    return "\n".join(lines)
