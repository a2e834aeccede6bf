"""Playing a CRM's history through the services: `convene backfill history.jsonl`.

The file holds one CloudEvent per line, in the order the CRM published them (as the CRM
would send them live). They are published to `crm.events` persistently, `window` at a time
in one write on one channel (so they reach the services in file order), each confirmed by
the broker, as the broker user of `AMQP_URL` (its `user_id`: in the secured deployment that
must be the CRM's user); an event no service queue is bound for stops the command. Then
the command waits until the services' queues are empty and stay empty, and prints a
summary. A line that is not a JSON object with an `id` and a `type` is skipped and counted
(by line number; its content is never printed).
"""

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aio_pika
from aiormq.abc import DeliveredMessage
from pamqp import commands
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from contracts.envelope import CONTENT_TYPE
from services.app import DEFINITIONS
from shared.broker import wire
from shared.broker.topology import broker_user, incoming_queue_name
from shared.runtime.problems import Problem

CRM_EXCHANGE = "crm.events"


@dataclass
class Summary:
    """What a back-fill did."""

    lines: int = 0
    published: int = 0
    skipped: list[int] = field(default_factory=list)
    publish_seconds: float = 0.0
    total_seconds: float = 0.0

    def lines_of_text(self) -> list[str]:
        """The summary as a person reads it."""
        rate = self.published / self.total_seconds if self.total_seconds else 0.0
        text = [
            f"{self.published:,} events published in {self.publish_seconds:.1f} s; "
            f"all applied by the services after {self.total_seconds:.1f} s "
            f"({rate:,.0f} events per second)",
        ]
        if self.skipped:
            shown = ", ".join(str(n) for n in self.skipped[:10])
            more = "" if len(self.skipped) <= 10 else f" and {len(self.skipped) - 10} more"
            text.append(f"{len(self.skipped)} lines skipped (not a CloudEvent): {shown}{more}")
        return text


def _events(path: Path, summary: Summary) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            summary.lines += 1
            try:
                event = json.loads(line)
            except ValueError:
                summary.skipped.append(number)
                continue
            if not (
                isinstance(event, dict)
                and isinstance(event.get("id"), str)
                and isinstance(event.get("type"), str)
            ):
                summary.skipped.append(number)
                continue
            yield event


def _count_lines(path: Path) -> int:
    with path.open("rb") as data:
        return sum(1 for line in data if line.strip())


async def _waiting(channel: aio_pika.abc.AbstractChannel) -> int:
    """Messages waiting in the services' queues."""
    total = 0
    for service in DEFINITIONS:
        queue = await channel.declare_queue(incoming_queue_name(service), passive=True)
        total += int(queue.declaration_result.message_count or 0)
    return total


async def backfill(
    amqp_url: str,
    path: Path,
    *,
    window: int = 500,
    quiet_seconds: float = 3.0,
    console: Console | None = None,
) -> Summary:
    """Publish every event of the file in order, then wait for the services to take them."""
    console = console or Console(stderr=True)
    summary = Summary()
    total = _count_lines(path)
    user = broker_user(amqp_url)
    started = time.perf_counter()
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.get_exchange(CRM_EXCHANGE, ensure=True)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task("publishing", total=total)
            batch: list[dict[str, Any]] = []
            for event in _events(path, summary):
                batch.append(event)
                if len(batch) >= window:
                    await publish_in_order(channel, batch, user)
                    summary.published += len(batch)
                    bar.update(task, completed=summary.lines)
                    batch = []
            await publish_in_order(channel, batch, user)
            summary.published += len(batch)
            bar.update(task, completed=total)
            summary.publish_seconds = time.perf_counter() - started

            waiting = await _waiting(channel)
            draining = bar.add_task("applying", total=max(waiting, 1))
            quiet_since: float | None = None
            while True:
                waiting = await _waiting(channel)
                bar.update(draining, completed=max(bar.tasks[draining].total or 0, 1) - waiting)
                now = time.perf_counter()
                if waiting:
                    quiet_since = None
                elif quiet_since is None:
                    quiet_since = now
                elif now - quiet_since >= quiet_seconds:
                    break
                await asyncio.sleep(0.2)  # poll the queues until they stay empty
            bar.update(draining, completed=bar.tasks[draining].total)
    summary.total_seconds = (quiet_since or time.perf_counter()) - started
    return summary


async def publish_in_order(
    channel: aio_pika.abc.AbstractChannel, batch: list[dict[str, Any]], user: str | None
) -> None:
    """Publish a batch in order as one write on one channel, each confirmed by the broker;
    raises if the broker did not take one (refused, or no service queue bound for its
    type: the topology was not set up)."""
    if not batch:
        return
    answers = await wire.publish(
        await channel.get_underlay_channel(),
        [
            wire.Outgoing(
                CRM_EXCHANGE,
                event["type"],
                json.dumps(event).encode(),
                commands.Basic.Properties(
                    content_type=CONTENT_TYPE,
                    delivery_mode=2,  # persistent
                    message_id=event["id"],
                    message_type=event["type"],
                    user_id=user,
                ),
            )
            for event in batch
        ],
    )
    for event, answer in zip(batch, answers, strict=True):
        if isinstance(answer, BaseException):
            raise answer
        if isinstance(answer, DeliveredMessage):
            raise Problem(
                f"no queue is bound for {event['type']} on {CRM_EXCHANGE}: start the services "
                "or run `convene broker setup` first"
            )
