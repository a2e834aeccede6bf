"""Private servers a fault test starts on ports of its own and stops at the end: RabbitMQ
nodes (alone or as a three-node cluster) and a PostgreSQL cluster. The shared broker on
5672 and the shared database on 5432 are never touched: other runs use them meanwhile."""

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from tests.support.infrastructure import free_port


def _wait_for_port(port: int, process: "subprocess.Popen[bytes]", within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode})")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)  # poll for the port
    raise TimeoutError(f"{what} did not listen on {port} within {within}s")


@dataclass(frozen=True)
class ServerTls:
    """A server's certificate and key, the authority that clients are checked against, and
    whether a client must present a certificate of its own."""

    certificate: Path
    key: Path
    authority: Path
    client_certificate_required: bool = False


class RabbitNode:
    """One RabbitMQ node of the test's own: its own name, ports, data and logs; with `tls`,
    it listens for AMQP over TLS only."""

    def __init__(self, folder: Path, name: str, tls: ServerTls | None = None) -> None:
        self.folder = folder / name
        self.folder.mkdir(parents=True)
        self.folder.chmod(0o777)  # the server runs as the rabbitmq user, who must reach it
        self.port, self.dist_port = free_port(), free_port()
        self.node = f"convene-{uuid.uuid4().hex[:8]}-{name}@localhost"
        self.tls = tls
        config = f"listeners.tcp.1 = 127.0.0.1:{self.port}\nloopback_users = none\n"
        if tls is not None:
            required = "true" if tls.client_certificate_required else "false"
            config = (
                "listeners.tcp = none\n"
                f"listeners.ssl.1 = 127.0.0.1:{self.port}\n"
                "loopback_users = none\n"
                f"ssl_options.cacertfile = {tls.authority}\n"
                f"ssl_options.certfile = {tls.certificate}\n"
                f"ssl_options.keyfile = {tls.key}\n"
                "ssl_options.verify = verify_peer\n"
                f"ssl_options.fail_if_no_peer_cert = {required}\n"
            )
        (self.folder / "rabbitmq.conf").write_text(config, encoding="utf-8")
        (self.folder / "enabled_plugins").write_text("[].\n", encoding="utf-8")
        self.ctl = ["rabbitmqctl", "-n", self.node, "--quiet"]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Its AMQP URL (guest, default vhost); over TLS, the host name its certificate
        names, with no authority to check it against yet."""
        if self.tls is not None:
            return f"amqps://guest:guest@localhost:{self.port}/"
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> dict[str, str]:
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(self.folder / "pid"),
        }

    def start(self) -> None:
        """Start (or restart, with the data it had) and wait until it takes connections."""
        server = shutil.which("rabbitmq-server")
        assert server is not None, "rabbitmq-server is not installed"
        output = (self.folder / "server.out").open("ab")
        self.process = subprocess.Popen(  # a fixed local command
            [server], env=self._env(), stdout=output, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        output.close()
        _wait_for_port(self.port, self.process, 90, f"RabbitMQ node {self.node}")
        self.run("await_startup", "--timeout", "60")

    def run(self, *command: str) -> None:
        """A `rabbitmqctl` command against this node."""
        subprocess.run([*self.ctl, *command], check=True, timeout=120, capture_output=True)

    def queues(self) -> dict[str, tuple[str, list[str]]]:
        """Each quorum queue's leader and members, as this node sees them."""
        listed = subprocess.run(
            [*self.ctl, "list_queues", "name", "leader", "members", "--formatter", "json"],
            check=True, timeout=60, capture_output=True, text=True,
        )  # fmt: skip
        return {q["name"]: (q["leader"], q["members"]) for q in json.loads(listed.stdout)}

    def kill(self) -> None:
        """kill -9 of the node's Erlang VM: no goodbye to clients or to the cluster."""
        pid = int((self.folder / "pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        assert self.process is not None
        self.process.wait(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)  # poll until the port is free

    def stop(self) -> None:
        """Stop the node for good."""
        subprocess.run([*self.ctl, "stop"], check=False, timeout=60, capture_output=True)
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()


class PrivateRabbit:
    """A private RabbitMQ node, or a cluster of them (quorum queues replicated on all)."""

    def __init__(self, nodes: int = 1, tls: ServerTls | None = None) -> None:
        # Not under pytest's tmp_path: the server runs as the rabbitmq user, who must reach it.
        self.folder = Path(tempfile.mkdtemp(prefix="convene-rabbitmq-"))
        self.folder.chmod(0o777)  # a throwaway folder of the test's own
        self.nodes = [RabbitNode(self.folder, f"n{i + 1}", tls) for i in range(nodes)]

    def __enter__(self) -> "PrivateRabbit":
        try:
            first, *others = self.nodes
            first.start()
            for node in others:
                node.start()
                node.run("stop_app")
                node.run("join_cluster", first.node)
                node.run("start_app")
                node.run("await_startup", "--timeout", "60")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *_: object) -> None:
        for node in reversed(self.nodes):
            node.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary folder, its own port,
    run as the postgres user), which a test may stop and start again; with `tls`, it takes
    encrypted connections only."""

    def __init__(self, tls: ServerTls | None = None) -> None:
        self.tls = tls
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
        assert found, "PostgreSQL server binaries are not installed"
        self.bin = found[-1].parent
        self.folder = Path(tempfile.mkdtemp(prefix="convene-postgres-"))
        self.folder.chmod(0o777)  # a throwaway folder of the test's own
        self.data = self.folder / "data"
        self.port = free_port()

    @property
    def url(self) -> str:
        """Its URL (trust authentication on loopback; over TLS, the host name its
        certificate names)."""
        host = "localhost" if self.tls is not None else "127.0.0.1"
        return f"postgresql+asyncpg://postgres@{host}:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> None:
        subprocess.run(  # fixed local commands, as the postgres user
            ["runuser", "-u", "postgres", "--", *command],
            check=True, timeout=120, capture_output=True,
        )  # fmt: skip

    def __enter__(self) -> "PrivatePostgres":
        self._as_postgres(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--no-sync",
        )  # fmt: skip
        if self.tls is not None:
            self._encrypted_only(self.tls)
        self.start()
        return self

    def _encrypted_only(self, tls: ServerTls) -> None:
        """Serve TLS with the given certificate, and refuse every connection without it."""
        owner = pwd.getpwnam("postgres")
        for name, source in (("server.crt", tls.certificate), ("server.key", tls.key),
                             ("root.crt", tls.authority)):  # fmt: skip
            target = self.data / name
            shutil.copyfile(source, target)
            os.chown(target, owner.pw_uid, owner.pw_gid)
            target.chmod(0o600)
        with (self.data / "postgresql.conf").open("a", encoding="utf-8") as conf:
            conf.write("ssl = on\nssl_cert_file = 'server.crt'\nssl_key_file = 'server.key'\n")
            conf.write("ssl_ca_file = 'root.crt'\n")
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostnossl all all 0.0.0.0/0 reject\n"
            "hostnossl all all ::/0 reject\n"
            "hostssl all all 0.0.0.0/0 trust\n"
            "hostssl all all ::/0 trust\n",
            encoding="utf-8",
        )

    def start(self) -> None:
        """Start (or start again) and wait until it takes connections."""
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "server.log"), "-w", "start",
        )  # fmt: skip

    def stop(self) -> None:
        """Stop at once, cutting every connection (as a crash or a failover would)."""
        self._as_postgres(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")

    def __exit__(self, *_: object) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
