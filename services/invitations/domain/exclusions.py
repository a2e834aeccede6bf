"""The chair's decision to exclude a family member: what it must say, recorded and kept for
the next conference to decide again."""

from dataclasses import dataclass

from contracts.crm_v1 import (
    ExclusionDecided,
)
from contracts.invitations_v1 import (
    ExclusionRecorded,
)
from rules.calendar import local_date
from rules.effects import Effects, Env, RuleViolation
from rules.roles import FAMILY
from services.invitations.domain.state import (
    ConferenceState,
    ExclusionState,
)  # fmt: skip


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
    elif invitee_role not in FAMILY:
        reasons.append("only a family member can be excluded")
    return reasons


class Excluding(ConferenceState):
    """The chair's exclusions at this conference."""

    def decide_exclusion(self, data: ExclusionDecided, env: Env) -> Effects:
        """Validate and record the chair's exclusion; a whole exclusion withdraws the
        invitation. Exclusions are kept for the next conference to decide again."""
        self._open_for_change()
        invitee = self.invitee(data.person_id)
        reasons = exclusion_violations(
            ExclusionRequest(
                data.person_id,
                data.decided_by,
                data.scope,
                data.part_description,
                tuple(data.grounds),
                data.reason,
            ),
            self.chair_person_id,
            invitee.role if invitee is not None else None,
        )
        if reasons:
            raise RuleViolation(reasons)
        self.exclusions.append(ExclusionState(data.person_id, tuple(data.grounds)))
        request_by = env.policy.before(
            "exclusion_request_before", local_date(self.scheduled_start), env.calendar
        )
        effects = Effects()
        effects.emit(
            "invitations.exclusion.recorded.v1",
            ExclusionRecorded(
                **data.model_dump(),
                recorded_at=env.at,
                late_request=local_date(data.decided_at) > request_by,
            ),
            self.conference_id,
        )
        if data.scope == "whole" and invitee is not None and invitee.status == "live":
            effects.extend(self._withdraw(invitee, "excluded"))
            effects.extend(self._advise(env))
        return effects
