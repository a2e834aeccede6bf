"""Two replicas of a service on one queue give the same result as one."""

from contextlib import AsyncExitStack

from services.app import running
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.listener import listening

PROFESSIONALS = [(f"P{n}", "gp", f"Agency {n}") for n in range(12)]


async def test_two_replicas_process_each_event_once(
    settings: Settings, amqp_url: str, database: str
) -> None:
    conferences = [f"CONF-RACE-{n}" for n in range(4)]
    async with listening(amqp_url) as listener, AsyncExitStack() as replicas:
        for _ in range(2):  # two replicas: two connections, two engines, one database
            await replicas.enter_async_context(running(["invitations"], settings))
        for conference in conferences:
            data = family_conference(conference)
            data["participants"] += [
                {"person_id": p, "name": p, "role": r, "agency": a} for p, r, a in PROFESSIONALS
            ]
            await publish_event(
                amqp_url, cloud_event("crm.conference.requested.v1", conference, data)
            )
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.invitation.issued.v1")) == 4 * 17
        )
        for conference in conferences:
            for person, _role, _agency in PROFESSIONALS:
                await publish_event(
                    amqp_url,
                    cloud_event(
                        "crm.invitation.responded.v1",
                        conference,
                        {"conference_id": conference, "person_id": person, "response": "attending"},
                    ),
                )
        # Each response re-assesses quorum; so may the check a working day before, by timer
        # (no cause), at any moment: only the assessments the responses caused are counted.
        await listener.wait_until(
            lambda seen: (
                len(
                    [
                        e
                        for e in seen.of_type("invitations.quorum.assessed.v1")
                        if e["causationid"] is not None
                    ]
                )
                >= 4 * 12
            )
        )
        await listener.settle()
    issued = [
        (e["subject"], e["data"]["person_id"])
        for e in listener.of_type("invitations.invitation.issued.v1")
    ]
    assert len(issued) == len(set(issued)) == 4 * 17
    assert len(listener.of_type("invitations.response.recorded.v1")) == 4 * 12
    for conference in conferences:
        attending = sorted(
            len(e["data"]["agencies_attending"])
            for e in listener.of_type("invitations.quorum.assessed.v1", conference)
            if e["causationid"] is not None  # not the check a working day before, by timer
        )
        # each response re-assessed once, each seeing one more agency than the last
        assert attending == list(range(1, 13))
