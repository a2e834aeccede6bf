"""The quorum rule, one definition for the two services that must agree on it: the
invitations service tells the chair whether a conference will be quorate, and the
decisions service records whether it was.

Quorum is children's social care plus `quorum_other_agencies` other agencies or
professional groups with direct involvement with the child. Family-side roles
(family members, supporters, advocates, interpreters) and administrative roles
(the minute taker) never count; a deputy counts for the agency they stand in for.
"""

from dataclasses import dataclass
from typing import Any

from rules.policy import Policy
from rules.roles import SOCIAL_CARE, agency_key, is_agency


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
    """The agency an answer puts in the room for quorum: the professional's own, also when a
    deputy attends in their place; nobody for apologies, no answer yet, a family-side or an
    administrative role."""
    if not is_agency(role):
        return None
    if response == "attending" and agency:
        return Attendee(role, agency)
    if response == "deputy" and deputy:
        stands_in_for = agency or deputy.get("agency")
        return Attendee(role, str(stands_in_for)) if stands_in_for else None
    return None


def assess_quorum(attendees: list[Attendee], policy: Policy) -> Quorum:
    """Children's social care plus at least `quorum_other_agencies` other agencies."""
    agencies: dict[str, str] = {}
    social_care_keys = set()
    for attendee in attendees:
        key = agency_key(attendee.agency)
        agencies.setdefault(key, attendee.agency.strip())
        if attendee.role in SOCIAL_CARE:
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
