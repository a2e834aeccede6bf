"""The secured deployment: each producer its own broker user, topology provisioned from
deploy/rabbitmq/definitions.json, services unable to configure, events checked by user_id."""

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aio_pika
import aiormq
import pytest
from pydantic import SecretStr

from contracts.export import render
from services.app import running
from services.provision import (
    CRM_QUEUE,
    VHOST,
    broker_definitions,
    generate_passwords,
    read_passwords,
)
from shared.broker.deadletters import list_dead_letters, replay_dead_letters
from shared.runtime.settings import Settings
from tests.support.crm import cloud_event, family_conference
from tests.support.infrastructure import private_rabbitmq

DEFINITIONS_FILE = Path(__file__).parents[2] / "deploy/rabbitmq/definitions.json"


def test_committed_definitions_match_the_services_bindings() -> None:
    committed = json.loads(DEFINITIONS_FILE.read_text(encoding="utf-8"))
    assert DEFINITIONS_FILE.read_text(encoding="utf-8") == render(broker_definitions())
    # no password is committed: nobody logs in as a producer until its secret is provisioned
    assert {u["name"]: u["password_hash"] for u in committed["users"]} == {
        "crm": "",
        "invitations": "",
        "reports": "",
        "decisions": "",
    }


def _url(amqp_url: str, user: str, password: str) -> str:
    parts = urlsplit(amqp_url)
    return f"amqp://{user}:{password}@{parts.hostname}:{parts.port or 5672}/{VHOST}"


LOCAL_BROKER = pytest.mark.skipif(
    shutil.which("rabbitmq-server") is None,
    reason="a private RabbitMQ node needs rabbitmq-server on this machine (true on CI here)",
)


@pytest.fixture(scope="module")
def secrets_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Each broker user's password, generated as `convene broker secrets` does."""
    folder = tmp_path_factory.mktemp("broker") / "secrets"
    generate_passwords(folder)
    return folder


def service_settings(settings: Settings, url: str, service: str, secrets_dir: Path) -> Settings:
    """A service as deployed: its own broker user, the password read from its secret file."""
    values = settings.model_dump()
    values.update(
        AMQP_URL=_url(url, service, "").replace(":@", "@"),
        amqp_password_file=secrets_dir / service,
        declare_topology=False,
        verify_producers=True,
        handback_key=SecretStr(f"{service}-handback-secret"),
    )
    values.pop("amqp_url")
    values["DATABASE_URL"] = values.pop("database_url")
    for name in ("invitations", "reports", "decisions"):
        values[f"{name.upper()}_DATABASE_URL"] = values.pop(f"{name}_database_url")
    return Settings(**values)


@pytest.fixture(scope="module")
def provisioned(secrets_dir: Path) -> Iterator[str]:
    """A private RabbitMQ node of this test's own, provisioned from definitions generated
    with the users' secrets (users and permissions are node-wide: never on the shared
    broker). One node for the module: each test runs its own conferences."""
    definitions = render(broker_definitions(read_passwords(secrets_dir)))
    with private_rabbitmq() as (url, ctl):
        subprocess.run(  # on standard input: the CLI may not be able to read our checkout
            [*ctl, "import_definitions"],
            input=definitions.encode(),
            check=True,
            capture_output=True,
        )
        subprocess.run(
            [*ctl, "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"],
            check=True,
            capture_output=True,
        )
        yield url


@asynccontextmanager
async def crm_client(
    url: str,
) -> AsyncIterator[tuple[aio_pika.abc.AbstractExchange, list[dict[str, Any]]]]:
    """The CRM: publishes to crm.events and reads its own queue, as user `crm`."""
    facts: list[dict[str, Any]] = []
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.declare_exchange("crm.events", passive=True)
        queue = await channel.declare_queue(CRM_QUEUE, passive=True)

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            async with message.process():
                facts.append({**json.loads(message.body), "_user_id": message.user_id})

        await queue.consume(take)
        yield exchange, facts


async def _purge(url: str) -> None:
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        for name in (
            CRM_QUEUE,
            *(
                f"{s}.incoming{d}"
                for s in ("invitations", "reports", "decisions")
                for d in ("", ".dlq")
            ),
        ):
            queue = await channel.declare_queue(name, passive=True)
            await queue.purge()


async def _wait_for_messages(queue: aio_pika.abc.AbstractQueue, count: int) -> None:
    async with asyncio.timeout(20):
        while True:
            declared = await queue.channel.declare_queue(queue.name, passive=True)
            if declared.declaration_result.message_count == count:
                return
            await asyncio.sleep(0.05)  # poll for the condition


async def _wait(condition: Any, within: float = 20.0) -> None:
    async with asyncio.timeout(within):
        while not condition():
            await asyncio.sleep(0.05)  # poll for the condition


@LOCAL_BROKER
async def test_services_run_with_least_privilege_and_refuse_the_wrong_producer(
    provisioned: str, settings: Settings, secrets_dir: Path
) -> None:
    passwords = read_passwords(secrets_dir)
    for user in passwords:  # no producer logs in with its name as its password
        with pytest.raises(aiormq.exceptions.ProbableAuthenticationError):
            await aio_pika.connect(_url(provisioned, user, user))
    guest = _url(provisioned, "guest", "guest")
    await _purge(guest)
    good = cloud_event("crm.conference.requested.v1", "CONF-SEC", family_conference("CONF-SEC"))
    forged = cloud_event(
        "crm.conference.requested.v1", "CONF-FORGED", family_conference("CONF-FORGED")
    )
    handed_back = cloud_event(
        "crm.conference.requested.v1", "CONF-HANDBACK", family_conference("CONF-HANDBACK")
    )
    async with AsyncExitStack() as stack:
        for service in ("invitations", "reports", "decisions"):
            own = service_settings(settings, provisioned, service, secrets_dir)
            await stack.enter_async_context(running([service], own))
        exchange, facts = await stack.enter_async_context(
            crm_client(_url(provisioned, "crm", passwords["crm"]))
        )

        await exchange.publish(
            aio_pika.Message(
                json.dumps(good).encode(),
                message_id=good["id"],
                user_id="crm",
                content_type="application/cloudevents+json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=good["type"],
        )
        guest_connection = await aio_pika.connect(guest)
        async with guest_connection:  # someone other than the CRM writes a CRM fact
            channel = await guest_connection.channel(publisher_confirms=True)
            crm_events = await channel.declare_exchange("crm.events", passive=True)
            await crm_events.publish(
                aio_pika.Message(
                    json.dumps(forged).encode(), message_id=forged["id"], user_id="guest"
                ),
                routing_key=forged["type"],
            )
            dlq = await channel.declare_queue("invitations.incoming.dlq", passive=True)
            await _wait(lambda: sum(f["type"] == "reports.report.requested.v1" for f in facts) == 3)
            await _wait(lambda: any(f["type"] == "invitations.input.rejected.v1" for f in facts))
            letter = await dlq.get(timeout=5, no_ack=True)
            own = _url(provisioned, "reports", passwords["reports"])
            # The operator replays with the service's own user: the forgery is still judged
            # by who first sent it, and is dead-lettered again.
            assert await replay_dead_letters(own, "reports") == 1
            reports_dlq = await channel.declare_queue("reports.incoming.dlq", passive=True)
            await _wait_for_messages(reports_dlq, 1)
            again = await list_dead_letters(own, "reports")

        invitations = await aio_pika.connect(
            _url(provisioned, "invitations", passwords["invitations"])
        )
        async with invitations:  # a service cannot speak for the CRM
            channel = await invitations.channel(publisher_confirms=True)
            # ... nor pass a CRM fact off as a retry or replay through its own dead letter
            # exchange: the header naming the CRM as sender carries no valid signature.
            dlx = await channel.declare_exchange("invitations.dlx", passive=True)
            await dlx.publish(
                aio_pika.Message(
                    json.dumps(handed_back).encode(),
                    message_id=handed_back["id"],
                    user_id="invitations",
                    headers={
                        "x-convene-original-user-id": "crm",
                        "x-convene-signature": "0" * 64,
                        "x-convene-replayed-at": "2026-11-20T09:00:00+00:00",
                    },
                ),
                routing_key="invitations.incoming",
            )
            await _wait(
                lambda: any(
                    f["type"] == "invitations.input.rejected.v1"
                    and f["data"]["event_id"] == handed_back["id"]
                    for f in facts
                )
            )
            with pytest.raises(aiormq.exceptions.ChannelAccessRefused):
                crm_exchange = await channel.declare_exchange("crm.events", passive=True)
                await crm_exchange.publish(
                    aio_pika.Message(b"{}"), routing_key="crm.conference.requested.v1"
                )

    issued = [f for f in facts if f["type"] == "invitations.invitation.issued.v1"]
    assert {f["subject"] for f in issued} == {"CONF-SEC"}
    assert {f["_user_id"] for f in facts} <= {"invitations", "reports", "decisions"}
    assert {f["_user_id"] for f in issued} == {"invitations"}
    assert letter.message_id == forged["id"]
    assert "must be published by broker user 'crm'" in str(letter.headers["x-convene-error"])
    assert letter.headers["x-convene-original-user-id"] == "guest"
    assert [d.message_id for d in again] == [forged["id"]]
    refusal = next(
        f["data"]
        for f in facts
        if f["type"] == "invitations.input.rejected.v1"
        and f["data"]["event_id"] == handed_back["id"]
    )
    assert "without a valid signature" in refusal["reasons"][0]
    assert "not 'guest'" in again[0].error


NODE = shutil.which("node")
CLIENT = Path(__file__).parents[2] / "tools/node/crm-client.js"


@LOCAL_BROKER
@pytest.mark.skipif(NODE is None, reason="the CRM client is Node.js (the test command installs it)")
async def test_a_crm_written_in_node_from_the_contract_alone_runs_a_whole_conference(
    provisioned: str, settings: Settings, secrets_dir: Path
) -> None:
    """tools/node/crm-client.js reads only contracts/ (the AsyncAPI document for the
    exchange, queue, user id and delivery mode; the JSON Schemas for every event) and
    logs in as `crm` with its secret, against the services each on its own user."""
    passwords = read_passwords(secrets_dir)
    async with AsyncExitStack() as stack:
        for service in ("invitations", "reports", "decisions"):
            own = service_settings(settings, provisioned, service, secrets_dir)
            await stack.enter_async_context(running([service], own))
        client = await asyncio.create_subprocess_exec(
            str(NODE), str(CLIENT), "--url", _url(provisioned, "crm", passwords["crm"]),
            "--conference", "CONF-NODE", "--tenant", "886", "--timeout", "60",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await client.communicate()
    assert client.returncode == 0, (out.decode(), err.decode()[-2000:])
    said = json.loads(out.decode().strip().splitlines()[-1])
    assert said["ok"] and said["invalid"] == [] and said["rejected"] == []
    assert said["published"] == 13
    assert said["seen"]["invitations.invitation.issued.v1"] == 7  # and the chair
    assert said["seen"]["reports.report.received.v1"] == 4
    assert said["seen"]["decisions.plan.started.v1"] == 2
    assert said["facts"] >= sum(said["seen"].values())
