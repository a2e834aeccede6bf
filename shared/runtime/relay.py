"""The outbox relay: publishes the facts handlers queued, in order, from one replica at a
time (a PostgreSQL advisory lock, a file lock for SQLite, or a lease row)."""

import asyncio
import contextlib
import functools
import os
import socket
import uuid
from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.clock import Clock
from shared.messages import Message
from shared.observability import telemetry
from shared.observability.logging import get_logger
from shared.store.db import single_statements
from shared.store.dialect import Dialect, dialect_of
from shared.store.locks import process_lock
from shared.store.outbox import UNSENT, Publisher
from shared.store.tables import outbox

log = get_logger(__name__)


@functools.cache
def _mark_sent(dialect: Dialect) -> sa.Update:
    """Built once a dialect (bound: positions, at)."""
    return (
        outbox.update()
        .where(dialect.among([outbox.c.position], "positions"))
        .values(published_at=sa.bindparam("at"))
    )


class OutboxRelay:
    """Publishes committed outbox rows in order; woken after each commit, polls as well.

    One replica's relay publishes at a time, so facts leave in the order they were
    queued. Leading is holding a lock the operating system or the database releases the
    moment its holder dies: on PostgreSQL a session advisory lock on the relay's own
    connection, on SQLite an exclusive `flock` on a file beside the database (an
    in-memory SQLite database has one process: its relay leads), as the dialect holds a
    lock (`shared.store.locks`). A replica killed mid-batch is thus replaced at the next
    round of another, not after a lease runs out. A round reads a batch of unsent rows,
    publishes them pipelined on one channel (the channel keeps their order; the broker
    confirms each), then marks the confirmed ones sent in one statement: no transaction
    is held open across the network.

    On PostgreSQL the leading relay also LISTENs on that connection: a replica that is
    not leading queues facts with a NOTIFY in the same transaction, which wakes it at
    that commit.
    """

    CHECK_SECONDS = 5.0
    """How often a leading relay makes sure its PostgreSQL lock's connection still works."""
    RENEW_AFTER_REFUSALS = 3
    """Rounds in a row refused by the broker before the relay publishes on a new channel."""

    def __init__(
        self,
        engine: AsyncEngine,
        publisher: Publisher,
        clock: Clock,
        poll_seconds: float = 1.0,
        batch_size: int = 200,
        channel: str | None = None,
    ) -> None:
        self._engine = engine
        self._statements = single_statements(engine)
        self._publisher = publisher
        self._clock = clock
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._holder = f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._dialect = dialect_of(engine)
        self.channel = channel if self._dialect.notifies else None
        """The NOTIFY channel that wakes the leading relay (where commits can wake one)."""
        self.lock = process_lock(
            engine,
            f"convene-relay:{channel or 'outbox'}",
            "relay",
            check_seconds=self.CHECK_SECONDS,
            listen=(self.channel, self.wake) if self.channel else None,
        )
        """The lock whose holder leads."""

    @property
    def leading(self) -> bool:
        """True while this relay holds the lock."""
        return self.lock.held

    def wake(self) -> None:
        """Ask the relay to look for new rows now."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish every unsent row (if this relay leads); returns how many were published."""
        total = 0
        if not await self._lead():
            return 0
        while published := await self._publish_batch():
            total += published
            if published < self._batch_size:
                break
        return total

    async def _lead(self) -> bool:
        """Take the lock if it is free; True while this relay holds it."""
        was = self.leading
        leads = await self.lock.hold()
        if leads and not was:
            log.info("outbox_relay_leading")
        return leads

    async def _publish_batch(self) -> int:
        async with self._statements.connect() as connection:
            rows = (await connection.execute(UNSENT, {"limit": self._batch_size})).all()
        if not rows:
            return 0
        await self._publisher.prepare(dict.fromkeys(row.exchange for row in rows))
        # One write, in order on one channel; the broker confirms each.
        results = await self._publisher.publish_all(
            [
                Message(row.exchange, row.routing_key, row.body.encode(), row.event_id)
                for row in rows
            ]
        )
        confirmed = [
            row.position for row, result in zip(rows, results, strict=True) if result is None
        ]
        if confirmed:
            async with self._statements.begin() as connection:
                await connection.execute(
                    _mark_sent(self._dialect),
                    {
                        **self._dialect.among_values("positions", confirmed),
                        "at": self._clock.now(),
                    },
                )
            for exchange, count in Counter(
                row.exchange for row, result in zip(rows, results, strict=True) if result is None
            ).items():
                telemetry.FACTS_PUBLISHED.labels(exchange).inc(count)
        failed = next((r for r in results if r is not None), None)
        if failed is not None:  # what was not confirmed goes again next round
            raise failed
        return len(rows)

    async def run(self) -> None:
        """Relay until stopped (the first round at once); a failed publish is retried on the
        next round."""
        self._wake.set()
        refused = 0  # rounds in a row the broker refused (negative confirms)
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
            self._wake.clear()
            try:
                await self.publish_pending()
                refused = 0
            except Exception as error:
                refusal = _refusal(error)
                log.warning("outbox_publish_failed", error_type=type(error).__name__, **refusal)
                refused = refused + 1 if refusal.get("broker_frame") == "Nack" else 0
                if refused >= self.RENEW_AFTER_REFUSALS:
                    await self._renew_channel()
                    refused = 0
                await asyncio.sleep(self._poll_seconds)

    async def _renew_channel(self) -> None:
        """A channel whose publishes are all refused long after the queues have recovered:
        RabbitMQ's per-channel state for a quorum queue whose leader died mid-publish can
        stay broken (every publish refused for minutes while other channels publish), so
        the relay goes on with a new channel."""
        try:
            await self._publisher.renew()
            log.warning("outbox_channel_renewed")
        except Exception as error:
            log.warning("outbox_channel_renew_failed", error_type=type(error).__name__)

    def start(self) -> None:
        """Run the relay in the background."""
        self._task = asyncio.create_task(self.run(), name="outbox-relay")

    async def stop(self) -> None:
        """Finish the batch in flight, publish what is pending, then hand the lead on.

        Never cancelled mid-batch: a batch cut short would be published again.
        """
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.publish_pending()
        with contextlib.suppress(Exception):
            await self.lock.close()


def _refusal(error: BaseException) -> dict[str, Any]:
    """How the broker refused a publish (a negative confirm, or the message returned as
    unroutable, with the broker's reply), for the log; nothing of the message itself."""
    frame = getattr(error, "frame", None)
    if frame is None:
        return {}
    found: dict[str, Any] = {"broker_frame": type(frame).__name__}
    for name in ("reply_code", "reply_text", "exchange", "routing_key"):
        value = getattr(frame, name, None)
        if value is not None:
            found[f"broker_{name}"] = value
    return found
