"""Who is who at a conference: one definition of the family, the agencies and the roles that
are neither, for every service.

The contract says which roles need no agency (`contracts.common_v1.NON_AGENCY_ROLES`: the
family, those it brings, the interpreter); the rules build on it.
"""

from contracts.common_v1 import FAMILY_ROLES, NON_AGENCY_ROLES, Role

FAMILY: frozenset[str] = frozenset(FAMILY_ROLES)
"""Not professionals: the family and those it brings (supporters, advocates)."""

NOT_AN_AGENCY: frozenset[str] = frozenset(NON_AGENCY_ROLES | {Role.MINUTE_TAKER, "chair"})
"""In the room but not an agency with direct involvement: they neither count for quorum nor
write an agency's report (the family, interpreters, the minute taker, the chair)."""

SOCIAL_CARE: frozenset[str] = frozenset({Role.SOCIAL_WORKER, Role.TEAM_MANAGER})
"""Children's social care, which every quorum needs."""

PARENTS_AND_CARERS: frozenset[str] = frozenset({Role.PARENT, Role.CARER})
"""The family that receives reports, minutes and the decision by right [003: "parents and
carers"]."""

FAMILY_RECIPIENTS: frozenset[str] = frozenset(PARENTS_AND_CARERS | {Role.FAMILY_MEMBER})
"""Family members who may receive reports before the conference: parents and carers, and
another family member only where the chair says so (a child's access goes through their
advocate or worker; supporters and interpreters receive nothing)."""

ALLOCATED_SOCIAL_WORKER: str = Role.SOCIAL_WORKER
"""The professional who receives every agency's report beside the chair [002]."""

FAMILY_AUTHORS: frozenset[str] = frozenset(FAMILY_RECIPIENTS | {Role.CHILD})
"""Family members whose own written views the chair receives."""


def is_family(role: str) -> bool:
    """True for the family and those it brings."""
    return role in FAMILY


def is_agency(role: str) -> bool:
    """True for a professional who stands for an agency."""
    return role not in NOT_AN_AGENCY


def agency_key(agency: str) -> str:
    """Agencies are matched without regard to case or surrounding spaces."""
    return " ".join(agency.split()).casefold()
