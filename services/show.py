"""`convene show CONFERENCE --tenant LA`: what each service holds about one conference, for
support and for a council answering "why did this parent not get that report".

Read from each service's own database (never written, never created): its record of the
conference (and, in decisions, the children's plans), the timers pending with their dates,
the events waiting for one they depend on; and from the broker, the dead letters about it.
Names, dates of birth, addresses and other personal data are shown only when asked for
(`--personal`); ids, roles, dates and reasons always."""

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from services.app import DEFINITIONS
from shared.runtime.settings import Settings
from shared.store.db import create_engine
from shared.store.parking import KEY_SEPARATOR
from shared.store.tables import aggregates, parked, timers

PERSONAL = frozenset(
    {
        "name", "given_name", "family_name", "date_of_birth", "expected_date_of_delivery",
        "nhs_number", "address", "join_url", "accessibility_needs", "relationship", "reason",
        "correction_reason", "inquorate_reason",
        "part_description", "alternative_arrangements", "supporter",
    }
)  # fmt: skip
"""Keys whose values may say who someone is or what happened to them."""

HIDDEN = "(personal: --personal shows it)"


def redacted(value: Any) -> Any:
    """A document with every personal value replaced by a note saying how to see it (a
    reason that is a code, such as `chair_ordered`, is not personal: it is kept)."""
    if isinstance(value, dict):
        return {
            k: (HIDDEN if k in PERSONAL and v and not _code(v) else redacted(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


async def _held_by(
    settings: Settings, service: str, tenant: str, conference: str, personal: bool
) -> dict[str, Any]:
    url = settings.database_url_for(service)
    if not database_exists(settings, service):
        return {"database": "none here"}
    engine = create_engine(url, settings.schema_for(service))
    try:
        async with engine.connect() as connection:
            documents = {
                (row.kind, row.key): json.loads(row.state)
                for row in await connection.execute(
                    sa.select(aggregates.c.kind, aggregates.c.key, aggregates.c.state).where(
                        aggregates.c.tenant == tenant
                    )
                )
                if (row.kind == "conference" and row.key == conference) or row.kind == "child"
            }
            record = documents.get(("conference", conference))
            children = [
                c["child_id"] for c in (record or {}).get("children", []) if "child_id" in c
            ]
            pending = await connection.execute(
                sa.select(timers.c.kind, timers.c.due_at, timers.c.payload)
                .where(
                    timers.c.tenant == tenant,
                    timers.c.subject.in_([conference, *children]),
                    timers.c.fired_at.is_(None),
                    timers.c.cancelled_at.is_(None),
                )
                .order_by(timers.c.due_at)
            )
            waiting = await connection.execute(
                sa.select(parked.c.event_type, parked.c.event_id, parked.c.reason,
                          parked.c.event_time, parked.c.ordering_keys)
                .where(parked.c.tenant == tenant)
                .order_by(parked.c.position)
            )  # fmt: skip
            held: dict[str, Any] = {
                "conference": _shown(record, personal),
                "timers_pending": [
                    {"kind": t.kind, "due_at": t.due_at.isoformat(), "payload": t.payload}
                    for t in pending
                ],
                "waiting": [
                    {"event_type": w.event_type, "event_id": w.event_id, "reason": w.reason,
                     "event_time": w.event_time.isoformat()}
                    for w in waiting
                    if conference in w.ordering_keys.split(KEY_SEPARATOR)
                ],
            }  # fmt: skip
            if service == "decisions":
                held["children"] = {
                    child: _shown(documents.get(("child", child)), personal) for child in children
                }
            return held
    except (OSError, sa.exc.DBAPIError) as error:
        return {"database": f"not readable: {type(error).__name__}"}
    finally:
        await engine.dispose()


def _code(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"[a-z_]+", value) is not None


def database_exists(settings: Settings, service: str) -> bool:
    """A PostgreSQL database is taken to be there; a SQLite one must be a file already."""
    url = settings.database_url_for(service)
    return not url.startswith("sqlite") or Path(url.split("///", 1)[-1]).is_file()


def _shown(document: dict[str, Any] | None, personal: bool) -> dict[str, Any] | None:
    if document is None:
        return None
    document = {k: v for k, v in document.items() if k != "__v"}
    return document if personal else redacted(document)


async def story(
    settings: Settings, tenant: str, conference: str, *, personal: bool
) -> dict[str, Any]:
    """What every service holds about one conference, and its dead letters."""
    from shared.broker.deadletters import list_dead_letters

    told: dict[str, Any] = {"conference_id": conference, "tenant": tenant}
    for service in DEFINITIONS:
        told[service] = await _held_by(settings, service, tenant, conference, personal)
        try:
            letters = await list_dead_letters(settings.amqp_url, service, 1000, tenant)
        except Exception as error:  # the broker away: the databases still tell the story
            told[service]["dead_letters"] = f"not read: {type(error).__name__}"
        else:
            told[service]["dead_letters"] = [
                asdict(letter) for letter in letters if letter.subject == conference
            ]
    return told


def as_text(told: dict[str, Any]) -> str:
    """The story in lines a support engineer reads."""
    lines = [f"conference {told['conference_id']} of council {told['tenant']}"]
    invitations = (told.get("invitations") or {}).get("conference") or {}
    if invitations:
        state = f"{invitations.get('status')}, revision {invitations.get('revision')}"
        lines.append(f"  invitations: {invitations.get('kind')} conference, {state}")
        for invitee in invitations.get("invitees", []):
            answer = invitee.get("response") or "no answer"
            lines.append(f"    {invitee['person_id']:<12} {invitee['role']:<22} "
                         f"{invitee.get('status')}, {answer}")  # fmt: skip
        for exclusion in invitations.get("exclusions", []):
            lines.append(
                f"    excluded: {exclusion['person_id']} ({', '.join(exclusion['grounds'])})"
            )
    reports = (told.get("reports") or {}).get("conference") or {}
    if reports:
        arrived = {r["agency"] for r in reports.get("reports", [])}
        missing = [r["agency"] for r in reports.get("requests", []) if r["agency"] not in arrived]
        lines.append(f"  reports: in {', '.join(sorted(arrived)) or 'none'}; "
                     f"missing {', '.join(missing) or 'none'}")  # fmt: skip
        for share in reports.get("shares", []):
            why = f" ({share['reason']})" if share.get("reason") else ""
            lines.append(f"    {share['report_id']} {share['outcome']} "
                         f"{share['person_id']} ({share['role']}){why}")  # fmt: skip
        for share in reports.get("minutes_shares", []):
            lines.append(f"    minutes v{share['version']} {share['outcome']} "
                         f"{share['person_id']} ({share['role']})")  # fmt: skip
    decisions = (told.get("decisions") or {}).get("conference") or {}
    for record in decisions.get("records", []):
        said = "; ".join(f"{c['child_id']}: {c['decision']}" for c in record["children"])
        lines.append(f"  decision {record['record_id']}: {said}")
    for child, plans in ((told.get("decisions") or {}).get("children") or {}).items():
        for plan in (plans or {}).get("plans", []):
            ended = f", ended {plan['end_date']}" if plan.get("end_date") else ""
            lines.append(f"    {child}: {plan['plan_type']} from {plan['start_date']}{ended}")
    for service in DEFINITIONS:
        held = told.get(service) or {}
        for timer in held.get("timers_pending", []):
            lines.append(f"  {service} timer {timer['kind']} due {timer['due_at']}")
        for event in held.get("waiting", []):
            lines.append(f"  {service} waiting: {event['event_type']} ({event['reason']})")
        letters = held.get("dead_letters")
        if isinstance(letters, list):
            for letter in letters:
                lines.append(f"  {service} dead letter: {letter['event_type']} "
                             f"{letter['error_type']}: {letter['error']}")  # fmt: skip
        elif letters:
            lines.append(f"  {service} dead letters {letters}")
        if held.get("database"):
            lines.append(f"  {service} database: {held['database']}")
    return "\n".join(lines)
