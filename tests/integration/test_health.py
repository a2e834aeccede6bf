"""The health endpoint container probes use."""

import asyncio
import json
import os

import pytest

import services.app as app_module
from services.app import running
from shared.runtime.settings import Settings
from shared.version import VERSION


async def _get(port: int, path: str) -> tuple[str, dict[str, object] | None]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b"\r\n")[0].decode()
    return status, json.loads(body) if body else None


async def _ready_changes(port: int, expected: str) -> tuple[str, dict[str, object] | None]:
    """`/ready` answers from the checks run in the background (every second): the answer
    once they have seen the change."""
    async with asyncio.timeout(10):
        while True:
            status, body = await _get(port, "/ready")
            if status == expected:
                return status, body
            await asyncio.sleep(0.1)  # the background checks run every second


async def test_health_reports_broker_and_database(settings: Settings, database: str) -> None:
    with_health = settings.model_copy(update={"health_port": 0})
    async with running(["reports"], with_health) as app:
        port = app.health.port if app.health else 0
        for path in ("/health", "/ready"):
            status, body = await _get(port, path)
            assert status == "HTTP/1.1 200 OK"
            assert body == {
                "healthy": True,
                "checks": {
                    "broker": True,
                    "consumers": True,
                    "reports_database": True,
                    "reports_migrated": True,
                },
                "pid": os.getpid(),
                "version": VERSION,
            }
        status, body = await _get(port, "/live")
        assert status == "HTTP/1.1 200 OK" and body is not None and body["healthy"]
        assert body["version"] == VERSION != "unknown"  # the release, for whoever looks
        status, _ = await _get(port, "/elsewhere")
        assert status == "HTTP/1.1 404 Not Found"


async def test_a_failing_check_answers_503() -> None:
    from shared.runtime.health import HealthServer

    async def database_gone() -> bool:
        raise ConnectionRefusedError("database down")

    async def fine() -> bool:
        return True

    server = HealthServer({"broker": fine, "database": database_gone}, "127.0.0.1", 0)
    await server.start()
    try:
        status, body = await _get(server.port, "/health")
    finally:
        await server.stop()
    assert status == "HTTP/1.1 503 Service Unavailable"
    assert body == {
        "healthy": False,
        "checks": {"broker": True, "database": False},
        "pid": os.getpid(),
        "version": VERSION,
    }


async def test_ready_says_not_ready_once_the_broker_connection_is_closed(
    settings: Settings,
) -> None:
    with_health = settings.model_copy(update={"health_port": 0})
    async with running(["reports"], with_health) as app:
        port = app.health.port if app.health else 0
        connection = app.broker._connection
        assert connection is not None
        await connection.close()
        status, body = await _ready_changes(port, "HTTP/1.1 503 Service Unavailable")
        assert body is not None and body["checks"]["broker"] is False
        status, _ = await _get(port, "/live")  # the process is alive: no restart for this
        assert status == "HTTP/1.1 200 OK"


async def test_a_consumer_channel_lost_for_good_is_not_ready_and_ends_the_process(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a broker restart the client library can fail to restore a consumer's channel
    while the connection itself comes back: /ready says so, and the watchdog stops the
    service (to be started again by its platform) once that has lasted long enough."""
    monkeypatch.setattr(app_module, "CONSUMER_CHECK_SECONDS", 0.05)
    with_health = settings.model_copy(update={"health_port": 0, "consumers_lost_seconds": 0.2})
    async with running(["reports"], with_health) as app:
        port = app.health.port if app.health else 0
        stop, lost = asyncio.Event(), []
        watch = asyncio.create_task(
            app_module._watch_consumers(app.broker, stop, lost, with_health.consumers_lost_seconds)
        )
        assert app_module.consuming(app.broker) and not stop.is_set()
        subscriber = next(iter(app.broker.subscribers))
        await subscriber._queue_obj.channel.close()  # type: ignore[attr-defined]
        _, body = await _ready_changes(port, "HTTP/1.1 503 Service Unavailable")
        assert body is not None and body["checks"]["consumers"] is False
        assert body["checks"]["broker"] is True  # the connection is fine
        await asyncio.wait_for(watch, 10)
    assert stop.is_set() and lost == [True]


async def test_a_probe_is_answered_from_kept_state_while_a_check_hangs() -> None:
    """A broker that does not answer makes its check wait (up to 5 s): the probe does not,
    it gets what the checks last found. (The time is printed, not asserted: what is checked
    is that the answer does not wait for the hanging check.)"""
    from shared.runtime.health import HealthServer

    answer, hanging = asyncio.Event(), asyncio.Event()

    async def hangs_after_the_first() -> bool:
        if answer.is_set():
            hanging.set()
            await asyncio.Event().wait()  # a broker that never answers
        answer.set()
        return True

    server = HealthServer({"broker": hangs_after_the_first}, "127.0.0.1", 0, refresh_seconds=0.05)
    await server.start()
    try:
        await asyncio.wait_for(hanging.wait(), 10)  # the background check now hangs
        loop = asyncio.get_running_loop()
        asked = loop.time()
        status, body = await asyncio.wait_for(_get(server.port, "/ready"), 2)
        print(f"/ready answered in {1000 * (loop.time() - asked):.1f} ms while a check hung")
    finally:
        await server.stop()
    assert status == "HTTP/1.1 200 OK" and body is not None and body["checks"] == {"broker": True}
