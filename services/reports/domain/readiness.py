"""How ready the conference is after the chair's deadline: what arrived, what is missing,
whether the family got the reports on time."""

from dataclasses import dataclass

from rules.roles import agency_key


@dataclass(frozen=True)
class Readiness:
    """The chair's summary when reports are due."""

    received: list[str]
    missing: list[str]
    family_shared_on_time: bool


def readiness(
    requested_agencies: list[str], received_agencies: list[str], family_shares_on_time: list[bool]
) -> Readiness:
    """What arrived, what is missing, and whether the family got everything on time."""
    received_keys = {agency_key(a) for a in received_agencies}
    missing = [a for a in requested_agencies if agency_key(a) not in received_keys]
    return Readiness(
        sorted(set(received_agencies)), missing, not missing and all(family_shares_on_time)
    )
