"""Children's data encrypted in transit: a private RabbitMQ node that speaks AMQP over TLS
only and a private PostgreSQL cluster that refuses unencrypted connections, with
certificates the test makes. The services work through them with the server's certificate
checked (and a client certificate where the broker asks for one); a certificate from
another authority, a plain connection, or a URL that is not encrypted when TLS is
required, is refused."""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aio_pika
import pytest
import trustme

from services.app import running
from shared.runtime.settings import Settings
from shared.store.db import create_engine, migrate
from tests.support.crm import cloud_event, family_conference, publish_event
from tests.support.listener import listening
from tests.support.servers import PrivatePostgres, PrivateRabbit, ServerTls

pytestmark = pytest.mark.skipif(
    shutil.which("rabbitmq-server") is None, reason="needs the RabbitMQ server to start a node"
)


class Certificates:
    """An authority, a certificate for `localhost` it signed, one for a client, and an
    authority the servers never heard of; as PEM files any server user can read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        authority, stranger = trustme.CA(), trustme.CA()
        server = authority.issue_cert("localhost", "127.0.0.1")
        client = authority.issue_cert("convene-client")
        self.authority = self._write("ca.pem", authority.cert_pem.bytes())
        self.stranger = self._write("stranger.pem", stranger.cert_pem.bytes())
        self.server = ServerTls(
            self._write("server.pem", b"".join(c.bytes() for c in server.cert_chain_pems)),
            self._write("server.key", server.private_key_pem.bytes()),
            self.authority,
        )
        self.client_certificate = self._write(
            "client.pem", b"".join(c.bytes() for c in client.cert_chain_pems)
        )
        self.client_key = self._write("client.key", client.private_key_pem.bytes())

    def _write(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        path.chmod(0o644)  # a test's own throwaway key: the server users must read it
        return path


@pytest.fixture(scope="module")
def certificates() -> Iterator[Certificates]:
    folder = Path(tempfile.mkdtemp(prefix="convene-tls-"))
    folder.chmod(0o755)
    yield Certificates(folder)
    shutil.rmtree(folder, ignore_errors=True)


def settings_for(tmp_path: Path, amqp_url: str, database_url: str | None = None) -> Settings:
    return Settings(  # type: ignore[call-arg]
        AMQP_URL=amqp_url,
        DATABASE_URL=database_url,
        INVITATIONS_DATABASE_URL=None,
        REPORTS_DATABASE_URL=None,
        DECISIONS_DATABASE_URL=None,
        data_dir=tmp_path / "var",
        require_tls=True,
        outbox_poll_seconds=0.2,
        timer_poll_seconds=0.1,
        log_format="console",
    )


async def _a_conference_through(settings: Settings, url: str) -> None:
    """The invitations service takes a conference request over the encrypted connections
    and its invitations come back over them."""
    conference = "CONF-TLS"
    async with listening(url) as listener, running(["invitations"], settings):
        await publish_event(
            url,
            cloud_event("crm.conference.requested.v1", conference, family_conference(conference)),
        )
        await listener.wait_until(
            lambda seen: len(seen.of_type("invitations.invitation.issued.v1", conference)) == 5
        )


async def test_amqp_over_tls_with_the_brokers_certificate_checked(
    certificates: Certificates, tmp_path: Path
) -> None:
    with PrivateRabbit(tls=certificates.server) as rabbit:
        node = rabbit.nodes[0]
        url = f"{node.url}?cafile={certificates.authority}"
        await _a_conference_through(settings_for(tmp_path, url), url)
        # a certificate no authority the client trusts signed: refused
        with pytest.raises(Exception, match="CERTIFICATE_VERIFY_FAILED"):
            await aio_pika.connect(f"{node.url}?cafile={certificates.stranger}", timeout=10)
        # the node takes no plain AMQP at all
        with pytest.raises(Exception):  # noqa: B017 - refused, however the client says it
            await aio_pika.connect(node.url.replace("amqps://", "amqp://"), timeout=5)


async def test_a_broker_that_asks_for_a_client_certificate(
    certificates: Certificates, tmp_path: Path
) -> None:
    required = ServerTls(
        certificates.server.certificate,
        certificates.server.key,
        certificates.authority,
        client_certificate_required=True,
    )
    with PrivateRabbit(tls=required) as rabbit:
        node = rabbit.nodes[0]
        without = f"{node.url}?cafile={certificates.authority}"
        with pytest.raises(Exception):  # noqa: B017 - the handshake fails
            connection = await aio_pika.connect(without, timeout=10)
            await connection.close()
        url = (
            f"{without}&certfile={certificates.client_certificate}"
            f"&keyfile={certificates.client_key}"
        )
        await _a_conference_through(settings_for(tmp_path, url), url)


async def test_postgresql_with_verify_full_and_nothing_in_the_clear(
    certificates: Certificates, tmp_path: Path, amqp_url: str
) -> None:
    with PrivatePostgres(tls=certificates.server) as postgres:
        verified = f"{postgres.url}?sslmode=verify-full&sslrootcert={certificates.authority}"
        engine = create_engine(verified, "convene_tls")
        try:
            await migrate(engine, "convene_tls", Path("services/invitations/migrations"))
            async with engine.connect() as connection:
                from sqlalchemy import text

                assert (await connection.execute(text("SHOW ssl"))).scalar() == "on"
                used = await connection.execute(
                    text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                )
                assert used.scalar() is True
        finally:
            await engine.dispose()
        for refused in (
            f"{postgres.url}?sslmode=disable",  # the server refuses it in the clear
            f"{postgres.url}?sslmode=verify-full&sslrootcert={certificates.stranger}",
        ):
            engine = create_engine(refused, "convene_tls")
            try:
                with pytest.raises(Exception):  # noqa: B017 - refused either way
                    async with asyncio.timeout(30), engine.connect():
                        pass
            finally:
                await engine.dispose()


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("AMQP_URL", "amqp://guest:guest@localhost:5672/", "AMQP_URL must be amqps://"),
        (
            "AMQP_URL",
            "amqps://guest:guest@localhost:5671/?no_verify_ssl=1",
            "AMQP_URL must be amqps:// with the broker's certificate verified",
        ),
        (
            "DATABASE_URL",
            "postgresql://convene@db/convene?sslmode=require",
            "DATABASE_URL must say sslmode=verify-full",
        ),
    ],
)
def test_a_service_told_to_require_tls_refuses_a_plain_url_in_one_line(
    variable: str, value: str, said: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "AMQP_URL": "amqps://guest:guest@localhost:5671/",
        "CONVENE_REQUIRE_TLS": "true",
        "CONVENE_DATA_DIR": str(tmp_path),
        "CONVENE_LOG_FORMAT": "console",
        variable: value,
    }
    if variable != "DATABASE_URL":
        env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [str(Path(sys.executable).parent / "convene"), "run", "invitations"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and said in lines[0] and "CONVENE_REQUIRE_TLS" in lines[0], lines
