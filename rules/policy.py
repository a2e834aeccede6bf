"""Council policies: the default, the seed-council presets, or a council's own file.

Every timescale the process names is a setting here, never a constant in a
service. A preset or file states only where it differs from the default.
"""

import tomllib
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rules.calendar import WorkingDayCalendar

PRESETS_FOLDER = Path(__file__).parent / "policies"


class Policy(BaseModel):
    """One council's rules. Working days use the England and Wales calendar."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="default", description="Preset or file name.")
    la_code: str | None = Field(default=None, description="DfE LA code of the council.")
    source: str = Field(default="process.md section 2", description="Where the rules come from.")
    initial_within_working_days: int = Field(default=15, ge=1)
    transfer_in_within_working_days: int = Field(default=15, ge=1)
    reports_to_chair_before_initial: int = Field(default=3, ge=0)
    reports_to_chair_before_review: int = Field(default=5, ge=0)
    reports_to_family_before_initial: int = Field(default=2, ge=0)
    reports_to_family_before_review: int = Field(default=5, ge=0)
    reminder_before_deadline: int = Field(default=2, ge=0)
    supporter_notice_before: int = Field(default=2, ge=0)
    exclusion_request_before: int = Field(default=3, ge=0)
    respond_by_before: int = Field(
        default=3, ge=0, description="Invitees are asked to respond this many working days before."
    )
    core_group_within_working_days: int = Field(default=10, ge=1)
    first_review_within_months: int = Field(default=3, ge=1)
    later_review_within_months: int = Field(default=6, ge=1)
    pre_meeting_minutes: int = Field(default=15, ge=0)
    family_reports_shared_with_members: bool = Field(
        default=False,
        description="A parent's own report goes to the chair and, where true, to the conference "
        "members (the invited professionals) as well.",
    )
    chair_contacts_family_before: int | None = Field(
        default=None,
        ge=0,
        description="Where the chair meets or phones the family before the day instead of "
        "the pre-meeting: by this many working days before the conference (None: pre-meeting).",
    )
    crm_sends_held: bool = Field(
        default=True,
        description="The council's CRM sends crm.conference.held.v1 for every conference "
        "that takes place: an outcome waits for its conference's held (quorum is judged on "
        "who attended), and a review's request for its previous conference's. False: outcomes "
        "are judged on the invitation responses and nothing waits for held.",
    )
    decision_notice_within_working_days: int = Field(
        default=1,
        ge=0,
        description="The decision is sent to the family and the professionals within this "
        "many working days of the outcome (Sussex procedures: the decision letter with the "
        "outline plan within one working day).",
    )
    how_to_complain: str = Field(
        default="Write to the chair of the conference (the social worker can help); the "
        "chair consults the council's customer care team on how best to resolve it.",
        min_length=1,
        description="What the family's decision notice says about complaining (seed 001).",
    )
    minutes_within_working_days: int = Field(
        default=15,
        ge=1,
        description="The minutes are shared within this many working days of the conference "
        "(several English procedures: records within 15 working days).",
    )
    minutes_corrections_within_working_days: int = Field(
        default=10,
        ge=1,
        description="A family member may ask the chair to correct the minutes within this "
        "many working days of receiving them (Wales procedures: 10 working days).",
    )
    minutes_correction_answer_within_working_days: int = Field(
        default=10,
        ge=1,
        description="The chair answers a request to correct the minutes within this many "
        "working days of it (Convene's default: the same as the family's time to ask).",
    )
    core_group_interval_working_days: int = Field(
        default=20,
        ge=1,
        description="After its first meeting the core group meets at least every this many "
        "working days until the plan ends (seed 002: monthly meetings).",
    )
    complaint_acknowledge_within_working_days: int = Field(
        default=3,
        ge=0,
        description="A complaint about a conference is acknowledged within this many working "
        "days (Getting the Best from Complaints, DfES 2006: acknowledged within 3 working days).",
    )
    complaint_answer_within_working_days: int = Field(
        default=10,
        ge=1,
        description="The chair answers a complaint within this many working days of it (the "
        "Children Act 1989 Representations Procedure (England) Regulations 2006: stage 1 "
        "within 10 working days).",
    )
    child_invited_from_age: int = Field(default=10, ge=0)
    quorum_other_agencies: int = Field(default=2, ge=0)
    core_group_interval_months: int | None = Field(
        default=None,
        ge=1,
        description="Where a council says the core group meets monthly: every this many "
        "calendar months after its last meeting instead of the working-day interval.",
    )
    counts_days: list[str] = Field(
        default_factory=list,
        description="The deadlines (keys of this policy) that count calendar days, where a "
        'council\'s leaflet says "days"; every other deadline counts working days. A '
        "deadline in calendar days that falls on a weekend or bank holiday is the working day "
        "before it.",
    )
    notify_at: time = Field(
        default=time(9, 0),
        description="Time of day (London) at which reminders, chases, summaries and checks "
        "reach people, on a working day.",
    )

    @field_validator("counts_days")
    @classmethod
    def _deadlines_only(cls, keys: list[str]) -> list[str]:
        unknown = sorted(set(keys) - DEADLINES)
        if unknown:
            raise ValueError(
                f"counts_days names {', '.join(unknown)}: not a deadline "
                f"(deadlines: {', '.join(sorted(DEADLINES))})"
            )
        return keys

    def counts(self, key: str) -> str:
        """`days` where the council counts this deadline in calendar days, else
        `working days`."""
        return "days" if key in self.counts_days else "working days"

    def before(self, key: str, day: date, calendar: WorkingDayCalendar) -> date:
        """The deadline `key` before `day`, in the days the council counts it in."""
        count = getattr(self, key)
        if key in self.counts_days:
            return calendar.subtract_days(day, count)
        return calendar.subtract_working_days(day, count)

    def after(self, key: str, day: date, calendar: WorkingDayCalendar) -> date:
        """The deadline `key` after `day` ("within N of"), in the days the council counts
        it in."""
        count = getattr(self, key)
        if key in self.counts_days:
            return calendar.add_days(day, count)
        return calendar.add_working_days(day, count)

    def reports_to_chair_before(self, kind: str) -> int:
        """Working days before the conference that reports are due to the chair."""
        if kind == "review":
            return self.reports_to_chair_before_review
        return self.reports_to_chair_before_initial

    def chair_key(self, kind: str) -> str:
        """The deadline for reports to the chair before a conference of this kind."""
        return (
            "reports_to_chair_before_review"
            if kind == "review"
            else ("reports_to_chair_before_initial")
        )

    def family_key(self, kind: str) -> str:
        """The deadline for reports to the family before a conference of this kind."""
        return (
            "reports_to_family_before_review"
            if kind == "review"
            else ("reports_to_family_before_initial")
        )

    def reports_to_family_before(self, kind: str) -> int:
        """Working days before the conference that reports are shared with the family."""
        if kind == "review":
            return self.reports_to_family_before_review
        return self.reports_to_family_before_initial

    def differences_from_default(self) -> dict[str, tuple[object, object]]:
        """Each rule where this policy differs from the default: (default, this)."""
        default = Policy()
        identity = {"name", "la_code", "source"}
        return {
            key: (getattr(default, key), value)
            for key, value in self.model_dump().items()
            if key not in identity and getattr(default, key) != value
        }


DEADLINES = frozenset(
    {
        "reports_to_chair_before_initial",
        "reports_to_chair_before_review",
        "reports_to_family_before_initial",
        "reports_to_family_before_review",
        "reminder_before_deadline",
        "supporter_notice_before",
        "exclusion_request_before",
        "respond_by_before",
        "core_group_within_working_days",
        "decision_notice_within_working_days",
        "minutes_within_working_days",
        "minutes_corrections_within_working_days",
        "minutes_correction_answer_within_working_days",
        "core_group_interval_working_days",
        "complaint_acknowledge_within_working_days",
        "complaint_answer_within_working_days",
    }
)
"""The deadlines a council may count in calendar days (`counts_days`); the national
timescales for holding a conference are always working days."""


def preset_names() -> list[str]:
    """The shipped presets, `default` first."""
    return ["default", *sorted(p.stem for p in PRESETS_FOLDER.glob("*.toml"))]


def load_policy(name_or_path: str) -> Policy:
    """A preset by name, or a council's own TOML policy file by path."""
    if name_or_path == "default":
        return Policy()
    preset = PRESETS_FOLDER / f"{name_or_path}.toml"
    path = preset if preset.is_file() else Path(name_or_path)
    if not path.is_file():
        raise ValueError(
            f"no policy preset or file {name_or_path!r}; presets: {', '.join(preset_names())}"
        )
    with path.open("rb") as handle:
        values = tomllib.load(handle)
    values.setdefault("name", path.stem)
    return Policy.model_validate(values)


@dataclass
class PolicyBook:
    """Chooses the policy for each council (tenant) by its LA code.

    A council named in `tenant_policies` gets that policy; otherwise a shipped
    preset declaring the council's LA code; otherwise the deployment default.
    """

    default: Policy
    by_tenant: dict[str, Policy] = field(default_factory=dict)

    @classmethod
    def build(cls, default: str, tenant_policies: dict[str, str]) -> "PolicyBook":
        """Load the deployment default, every preset's own council, then explicit choices."""
        book = cls(default=load_policy(default))
        for name in preset_names()[1:]:
            preset = load_policy(name)
            if preset.la_code:
                book.by_tenant[preset.la_code] = preset
        for tenant, choice in tenant_policies.items():
            book.by_tenant[tenant] = load_policy(choice)
        return book

    def for_tenant(self, tenant: str) -> Policy:
        """The policy a council's events are processed under."""
        return self.by_tenant.get(tenant, self.default)
