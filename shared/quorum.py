"""The quorum rule, one definition for the two services that must agree on it: the
invitations service tells the chair whether a conference will be quorate, and the
decisions service records whether it was.

Quorum is children's social care plus `quorum_other_agencies` other agencies with
direct involvement; a deputy counts for the agency they stand in for.
"""

from dataclasses import dataclass
from typing import Any

from shared.policy import Policy

PROFESSIONAL_SOCIAL_CARE = frozenset({"social_worker", "team_manager"})


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
