"""A minimal HTTP health endpoint for container probes (`CONVENE_HEALTH_PORT`).

`GET /ready` (and `/health`) answers 200 when every check passes and 503 otherwise,
`GET /metrics` serves the Prometheus metrics,
with a JSON body naming each check (and the process id, so a probe can tell it reached
this process): not ready while the database is away (deliveries
are paused then). `GET /live` answers 200 while the process runs. Each answer says the
release (`version`). No personal data
is ever in it.
"""

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable, Mapping

from shared.version import VERSION

Check = Callable[[], Awaitable[bool]]


class HealthServer:
    """Answers `GET /ready` (and `/health`) from a set of named checks, run in the background
    every `refresh_seconds` so that a probe is answered at once from what they last found."""

    def __init__(
        self,
        checks: Mapping[str, Check],
        host: str = "0.0.0.0",  # noqa: S104  # probes come from outside the container
        port: int = 8080,
        metrics: Callable[[], tuple[bytes, str]] | None = None,
        refresh_seconds: float = 1.0,
    ):
        self._checks = checks
        self._metrics = metrics
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._refresh_seconds = refresh_seconds
        self._latest: dict[str, bool] = {name: False for name in checks}
        self._refreshing: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        """The port actually listened on (useful when asked for port 0)."""
        assert self._server is not None, "start() first"
        return int(self._server.sockets[0].getsockname()[1])

    async def status(self) -> dict[str, bool]:
        """Run every check; a check that raises has failed."""
        results = {}
        for name, check in self._checks.items():
            # A slow check is answered as failed but left to finish, never cancelled: one cut
            # off inside a database call could keep its connection from the pool.
            running = asyncio.ensure_future(check())
            done, _ = await asyncio.wait({running}, timeout=5)
            try:
                results[name] = bool(running.result()) if done else False
            except Exception:
                results[name] = False
            if not done:
                running.add_done_callback(lambda task: task.cancelled() or task.exception())
        return results

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            request = await asyncio.wait_for(reader.readline(), 5)
            path = request.split(b" ")[1:2]
            if path == [b"/metrics"] and self._metrics is not None:
                body, content_type = self._metrics()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: "
                    + content_type.encode()
                    + f"\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
                await writer.drain()
                writer.close()
                return
            if path == [b"/live"]:
                results = {"process": True}
            elif path in ([b"/health"], [b"/ready"]):
                # from the state kept by the checks running in the background: a probe is
                # answered at once, even while a check waits on a broker that does not answer
                results = dict(self._latest)
            else:
                results = None
            if results is None:
                writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            else:
                body = json.dumps(
                    {
                        "healthy": all(results.values()),
                        "checks": results,
                        "pid": os.getpid(),
                        "version": VERSION,
                    }
                ).encode()
                line = b"200 OK" if all(results.values()) else b"503 Service Unavailable"
                writer.write(
                    b"HTTP/1.1 "
                    + line
                    + b"\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                    + body
                )
            await writer.drain()
        writer.close()

    async def start(self) -> None:
        """Run the checks once, keep running them in the background, and start listening."""
        self._latest = await self.status()
        self._refreshing = asyncio.create_task(self._refresh())
        self._server = await asyncio.start_server(self._answer, self._host, self._port)

    async def _refresh(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_seconds)
            with contextlib.suppress(Exception):  # a check's failure is its result
                self._latest = await self.status()

    async def stop(self) -> None:
        """Stop listening and checking."""
        if self._refreshing is not None:
            self._refreshing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refreshing
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
