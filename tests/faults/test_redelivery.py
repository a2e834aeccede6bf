"""A redelivered or duplicated event changes nothing."""

import sqlalchemy as sa

from services.app import running
from shared.runtime.settings import Settings
from shared.store.tables import inbox, outbox
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.listener import listening


async def test_the_same_event_delivered_twice_is_applied_once(
    settings: Settings, amqp_url: str, database: str
) -> None:
    event = cloud_event("crm.conference.requested.v1", "CONF-DUP", family_conference("CONF-DUP"))
    async with (
        listening(amqp_url) as listener,
        running(["invitations", "reports"], settings) as app,
    ):
        await publish_event(amqp_url, event)
        await publish_event(amqp_url, event)  # the CRM's retry, or a broker redelivery
        await listener.wait_until(
            lambda seen: (
                len(seen.of_type("invitations.invitation.issued.v1")) >= 5
                and len(seen.of_type("reports.report.requested.v1")) >= 3
            )
        )
        await listener.settle()
        engine = app.runtime("invitations").engine
        async with engine.connect() as connection:
            processed = (
                await connection.execute(
                    sa.select(inbox.c.outcome).where(inbox.c.event_id == event["id"])
                )
            ).all()
            # what the event caused (the quorum check a working day before is a timer's,
            # and fires once the clock has passed it)
            queued = await connection.execute(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.routing_key != "invitations.quorum.assessed.v1")
            )
            queued_count = queued.scalar_one()
    assert [row.outcome for row in processed] == ["applied"]
    assert queued_count == 6  # five invitations and one timescale breach, once
    assert len(listener.of_type("invitations.invitation.issued.v1")) == 5
    assert len(listener.of_type("reports.report.requested.v1")) == 3
    assert not listener.of_type("invitations.input.rejected.v1")
