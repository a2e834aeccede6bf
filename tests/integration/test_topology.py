"""Topology before traffic: a CRM can bind and publish before any service has run, and an
idle service has already declared everything it publishes to."""

import asyncio
import json

import aio_pika
from typer.testing import CliRunner

from services.app import running
from services.cli import app as cli
from shared.broker import topology
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference


async def test_broker_setup_lets_a_crm_publish_before_any_service_has_run(
    settings: Settings, amqp_url: str
) -> None:
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["broker", "setup"], env={"AMQP_URL": amqp_url}
    )
    assert result.exit_code == 0, result.output
    requested = cloud_event(
        "crm.conference.requested.v1", "CONF-EARLY-BIRD", family_conference("CONF-EARLY-BIRD")
    )
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        facts = await channel.declare_queue("crm.facts", passive=True)  # the CRM's own queue
        crm_events = await channel.declare_exchange("crm.events", passive=True)
        # mandatory: the broker would return it if no queue took it
        await crm_events.publish(
            aio_pika.Message(json.dumps(requested).encode(), message_id=requested["id"]),
            routing_key=requested["type"],
            mandatory=True,
        )
        for service in ("invitations", "reports", "decisions"):
            queue = await channel.declare_queue(f"{service}.incoming", passive=True)
            assert queue.declaration_result.message_count == 1
        async with running(["invitations", "reports", "decisions"], settings):
            types: set[str] = set()
            async with asyncio.timeout(20):
                while "reports.report.requested.v1" not in types or (
                    "invitations.invitation.issued.v1" not in types
                ):
                    message = await facts.get(fail=False, no_ack=True)
                    if message is None:
                        await asyncio.sleep(0.05)  # poll the CRM's queue
                    else:
                        types.add(json.loads(message.body)["type"])


async def test_an_idle_service_has_declared_its_own_exchange(
    settings: Settings, amqp_url: str
) -> None:
    async with running(["reports"], settings):
        connection = await aio_pika.connect(amqp_url)
        async with connection:
            channel = await connection.channel()
            await channel.declare_exchange("reports.events", passive=True)  # 404 if not
            await channel.declare_exchange("reports.dlx", passive=True)
            queue = await channel.declare_queue("reports.incoming", passive=True)
            assert queue.declaration_result.consumer_count == 1


async def test_a_fact_the_crm_cannot_take_goes_to_its_dead_letter_queue(amqp_url: str) -> None:
    """`crm.facts` has a dead letter queue: a fact the CRM's consumer rejects is kept there
    (with why), not lost, and the queue pushes back when full rather than dropping."""
    result = await asyncio.to_thread(
        CliRunner().invoke, cli, ["broker", "setup"], env={"AMQP_URL": amqp_url}
    )
    assert result.exit_code == 0, result.output
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        facts = await channel.declare_queue("crm.facts", passive=True)
        await facts.purge()
        exchange = await channel.declare_exchange("reports.events", passive=True)
        await exchange.publish(
            aio_pika.Message(b'{"id": "poison"}', message_id="poison"),
            routing_key="reports.report.overdue.v1",
        )
        message = await facts.get(timeout=5)
        await message.reject(requeue=False)  # the CRM cannot process it
        dead = await channel.declare_queue("crm.facts.dlq", passive=True)
        for _ in range(100):
            kept = await dead.get(fail=False)
            if kept is not None:
                break
            await asyncio.sleep(0.05)  # poll for the dead letter
        assert kept is not None and kept.message_id == "poison"
        assert kept.headers["x-first-death-reason"] == "rejected"
        await kept.ack()
        arguments = topology.crm_queue_arguments()
        assert arguments["x-overflow"] == "reject-publish" and arguments["x-max-length"] > 0


async def test_a_service_run_alone_declares_the_crms_queue_too(settings: Settings) -> None:
    """A CRM following the contract page finds `crm.facts` once any service has run, without
    `convene broker setup`, and it takes that service's facts."""
    from tests.support.infrastructure import private_vhost

    with private_vhost(settings.amqp_url) as url:
        async with running(["invitations"], settings.model_copy(update={"amqp_url": url})):
            connection = await aio_pika.connect(url)
            async with connection:
                channel = await connection.channel()
                facts = await channel.declare_queue("crm.facts", passive=True)  # 404 if not
                crm_events = await channel.declare_exchange("crm.events", passive=True)
                requested = cloud_event(
                    "crm.conference.requested.v1", "CONF-ALONE", family_conference("CONF-ALONE")
                )
                await crm_events.publish(
                    aio_pika.Message(json.dumps(requested).encode(), message_id=requested["id"]),
                    routing_key=requested["type"],
                )
                async with asyncio.timeout(20):
                    while True:
                        message = await facts.get(fail=False, no_ack=True)
                        if message is not None:
                            assert json.loads(message.body)["source"] == "invitations"
                            break
                        await asyncio.sleep(0.05)  # poll the CRM's queue
