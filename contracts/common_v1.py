"""Shapes shared by several version-1 events."""

from datetime import date
from enum import StrEnum
from typing import Literal, Self

from pydantic import ConfigDict, Field, model_validator

from contracts.base import ContractModel, HappenedOn, Identifier


class Role(StrEnum):
    """A participant's role at a conference."""

    PARENT = "parent"
    CARER = "carer"
    CHILD = "child"
    FAMILY_MEMBER = "family_member"
    SUPPORTER = "supporter"
    ADVOCATE = "advocate"
    INTERPRETER = "interpreter"
    SOCIAL_WORKER = "social_worker"
    TEAM_MANAGER = "team_manager"
    POLICE = "police"
    GP = "gp"
    HEALTH_VISITOR = "health_visitor"
    SCHOOL_NURSE = "school_nurse"
    MIDWIFE = "midwife"
    PAEDIATRICIAN = "paediatrician"
    SCHOOL = "school"
    EARLY_YEARS = "early_years"
    EDUCATION_WELFARE = "education_welfare"
    PROBATION = "probation"
    HOUSING = "housing"
    MENTAL_HEALTH = "mental_health"
    SUBSTANCE_MISUSE = "substance_misuse"
    DOMESTIC_ABUSE_SERVICE = "domestic_abuse_service"
    VOLUNTARY_SECTOR = "voluntary_sector"
    MINUTE_TAKER = "minute_taker"
    OTHER_PROFESSIONAL = "other_professional"


FAMILY_ROLES = frozenset(
    {Role.PARENT, Role.CARER, Role.CHILD, Role.FAMILY_MEMBER, Role.SUPPORTER, Role.ADVOCATE}
)
"""Roles that are not professionals (the family and those it brings)."""

NON_AGENCY_ROLES = FAMILY_ROLES | {Role.INTERPRETER}
"""Roles that need no agency."""


class ConferenceKind(StrEnum):
    """The kind of child protection conference."""

    INITIAL = "initial"
    REVIEW = "review"
    TRANSFER_IN = "transfer_in"


class Decision(StrEnum):
    """The outcome for one child."""

    CHILD_PROTECTION_PLAN = "child_protection_plan"
    CHILD_IN_NEED_PLAN = "child_in_need_plan"
    NO_FURTHER_ACTION = "no_further_action"


class AbuseCategory(StrEnum):
    """A category of abuse recorded with a child protection plan."""

    NEGLECT = "neglect"
    PHYSICAL = "physical"
    EMOTIONAL = "emotional"
    SEXUAL = "sexual"


class Person(ContractModel):
    """Someone known to the CRM."""

    person_id: Identifier = Field(description="The CRM's id for the person.")
    name: str = Field(min_length=1, description="Full name as the CRM holds it.")
    email: str | None = Field(default=None, description="Email address, if known.")
    phone: str | None = Field(default=None, description="Telephone number, if known.")
    postal_address: str | None = Field(default=None, description="Postal address, if known.")


class Child(ContractModel):
    """A child (or unborn child) the conference concerns."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "A child (or unborn child) the conference concerns: exactly one of "
            "`date_of_birth` and `expected_date_of_delivery`.",
            "oneOf": [
                {"required": [field], "properties": {field: {"type": "string"}}}
                for field in ("date_of_birth", "expected_date_of_delivery")
            ],
        }
    )

    child_id: Identifier = Field(description="The council's LAchildID.")
    given_name: str = Field(description="Given name (may be blank for an unborn child).")
    family_name: str = Field(description="Family name.")
    date_of_birth: HappenedOn | None = Field(
        default=None,
        description="Date of birth; exactly one of this or the expected date. Past-only.",
    )
    expected_date_of_delivery: date | None = Field(
        default=None, description="Expected date of delivery, for an unborn child."
    )
    nhs_number: str | None = Field(
        default=None, pattern=r"^[0-9]{10}$", description="Ten-digit NHS number, if known."
    )
    sex: Literal["male", "female", "unknown"] | None = Field(
        default=None, description="Sex as recorded by the council."
    )
    cin_referral_date: HappenedOn | None = Field(
        default=None,
        description="Date of the referral that opened the child in need episode. Past-only.",
    )

    @model_validator(mode="after")
    def _one_birth_date(self) -> Self:
        if (self.date_of_birth is None) == (self.expected_date_of_delivery is None):
            raise ValueError(
                "a child has exactly one of date_of_birth or expected_date_of_delivery"
            )
        return self

    @property
    def unborn(self) -> bool:
        """True when the child is not yet born (only an expected date is known)."""
        return self.date_of_birth is None


class Participant(Person):
    """Someone invited to a conference, with their role."""

    model_config = ConfigDict(
        json_schema_extra={
            "if": {
                "required": ["role"],
                "properties": {
                    "role": {"not": {"enum": [str(r) for r in sorted(NON_AGENCY_ROLES)]}}
                },
            },
            "then": {
                "required": ["agency"],
                "properties": {"agency": {"type": "string", "minLength": 1}},
            },
        }
    )

    role: Role = Field(description="The participant's role at the conference.")
    agency: str | None = Field(
        default=None, min_length=1, description="The agency; required for professionals."
    )
    child_ids: list[Identifier] = Field(
        default_factory=list,
        max_length=50,
        description="The children they relate to (a child names itself).",
    )
    has_parental_responsibility: bool = Field(
        default=False, description="Family members: holds parental responsibility."
    )
    lives_with_child: bool | None = Field(
        default=None, description="Family members: lives with the child."
    )
    language: str | None = Field(default=None, description="Preferred language.")
    needs_interpreter: bool = Field(default=False, description="Needs an interpreter.")
    accessibility_needs: str | None = Field(
        default=None, description="Arrangements needed to take part."
    )

    @model_validator(mode="after")
    def _professionals_name_agency(self) -> Self:
        if self.role not in NON_AGENCY_ROLES and not self.agency:
            raise ValueError(f"a participant with role {self.role} must name their agency")
        return self

    @property
    def is_family(self) -> bool:
        """True for the family and the people it brings."""
        return Role(self.role) in FAMILY_ROLES

    @property
    def is_professional(self) -> bool:
        """True for everyone who attends for an agency."""
        return Role(self.role) not in NON_AGENCY_ROLES


class Venue(ContractModel):
    """Where the conference is held."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {
                    "if": {"required": ["mode"], "properties": {"mode": {"enum": list(modes)}}},
                    "then": {
                        "required": [needed],
                        "properties": {needed: {"type": "string", "minLength": 1}},
                    },
                }
                for modes, needed in (
                    (("in_person", "hybrid"), "address"),
                    (("virtual", "hybrid"), "join_url"),
                )
            ]
        }
    )

    mode: Literal["in_person", "virtual", "hybrid"] = Field(description="How people attend.")
    address: str | None = Field(default=None, description="Address, for in person or hybrid.")
    join_url: str | None = Field(default=None, description="Joining link, for virtual or hybrid.")

    @model_validator(mode="after")
    def _reachable(self) -> Self:
        if self.mode != "virtual" and not self.address:
            raise ValueError(f"a {self.mode} venue needs an address")
        if self.mode != "in_person" and not self.join_url:
            raise ValueError(f"a {self.mode} venue needs a join_url")
        return self


class DocumentRef(ContractModel):
    """A document held by the CRM's document store."""

    uri: str = Field(min_length=1, description="Where the document is held.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="SHA-256 of the document.")
    media_type: str = Field(min_length=1, description="IANA media type, e.g. application/pdf.")


class InputRejected(ContractModel):
    """`<service>.input.rejected.v1`: a well-formed event broke a rule and changed nothing."""

    event_id: str = Field(description="The `id` of the rejected event.")
    event_type: str = Field(description="The `type` of the rejected event.")
    reasons: list[str] = Field(min_length=1, description="Why, in words a CRM user understands.")
