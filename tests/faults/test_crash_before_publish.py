"""A service stopped after committing but before publishing publishes on restart."""

import sqlalchemy as sa

from services.app import running
from shared.runtime.settings import Settings
from shared.store.outbox import pending_count
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.listener import listening


class BrokerGone:
    """A publisher whose broker vanished between the commit and the publish."""

    async def prepare(self, *_: object) -> None:
        return None

    async def publish_all(self, *_: object) -> list[BaseException | None]:
        raise ConnectionError("broker connection lost")


async def test_events_committed_before_a_crash_are_published_on_restart(
    settings: Settings, amqp_url: str, database: str
) -> None:
    event = cloud_event(
        "crm.conference.requested.v1", "CONF-CRASH", family_conference("CONF-CRASH")
    )
    async with listening(amqp_url) as listener:
        async with running(["invitations"], settings) as app:
            relay = app.runtime("invitations").relay
            assert relay is not None
            relay._publisher = BrokerGone()  # the process dies before it can publish
            await publish_event(amqp_url, event)
            engine = app.runtime("invitations").engine
            await _wait_for_pending(engine, 6)
        await listener.settle(0.5)
        assert not listener.of_type("invitations.invitation.issued.v1")

        async with running(["invitations"], settings) as app:  # the restart
            await listener.wait_until(
                lambda seen: (
                    len(seen.of_type("invitations.invitation.issued.v1")) == 5
                    and len(seen.of_type("invitations.timescale.breached.v1")) == 1
                )
            )
            # the facts reach the broker's queues before the relay has marked them sent
            await _wait_for_pending(app.runtime("invitations").engine, 0)
        await listener.settle()
    assert len(listener.of_type("invitations.invitation.issued.v1")) == 5


async def _wait_for_pending(engine: sa.ext.asyncio.AsyncEngine, count: int) -> None:
    import asyncio

    for _ in range(200):
        if await pending_count(engine) == count:
            return
        await asyncio.sleep(0.05)  # poll for the condition
    raise AssertionError(f"expected {count} unpublished outbox rows")
