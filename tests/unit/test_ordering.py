"""Delivery order and per-key sequencing, in memory: the guarantees the consumer rests on."""

import asyncio
from datetime import UTC, datetime, timedelta

from shared.application.ordering import DeliveryOrder, Progress, Sequencer

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


async def test_deliveries_are_released_in_tag_order_whatever_order_they_arrive_in() -> None:
    released: list[int] = []
    order: DeliveryOrder[int] = DeliveryOrder(released.append)
    channel = object()
    for tag in (2, 3, 1, 5, 4):
        order.arrive(channel, tag, tag)
    assert released == [1, 2, 3, 4, 5]


async def test_a_gap_that_never_fills_is_skipped_after_a_while() -> None:
    released: list[int] = []
    order: DeliveryOrder[int] = DeliveryOrder(released.append, patience=0.05)
    channel = object()
    order.arrive(channel, 1, 1)
    order.arrive(channel, 3, 3)  # 2 never comes
    assert released == [1]
    async with asyncio.timeout(2):
        while released != [1, 3]:
            await asyncio.sleep(0.01)  # poll for the condition


async def test_one_keys_work_runs_in_order_and_other_keys_concurrently() -> None:
    sequencer = Sequencer()
    log: list[str] = []
    gate = asyncio.Event()

    def work(name: str, wait: bool = False):  # type: ignore[no-untyped-def]
        async def run() -> None:
            if wait:
                await gate.wait()
            log.append(name)

        return run

    sequencer.submit(["201|A"], work("A1", wait=True))  # A's first event is slow
    sequencer.submit(["201|A"], work("A2"))
    sequencer.submit(["201|B"], work("B1"))
    sequencer.submit(["201|A", "201|plans"], work("A3"))
    async with asyncio.timeout(2):
        while "B1" not in log:
            await asyncio.sleep(0.01)  # poll for the condition
    assert log == ["B1"]  # B did not wait for A
    gate.set()
    await sequencer.drain()
    assert log == ["B1", "A1", "A2", "A3"]


def test_progress_is_the_time_up_to_which_every_delivery_was_applied() -> None:
    progress = Progress()
    assert progress.through("201") is None
    progress.started("201", T0)
    progress.started("201", T0 + timedelta(hours=2))
    progress.finished("201", T0 + timedelta(hours=2))
    assert progress.through("201") == T0 - timedelta(microseconds=1)  # T0 still in flight
    progress.finished("201", T0)
    assert progress.through("201") == T0 + timedelta(hours=2)
    assert progress.through("807") is None and not progress.busy("201")


def test_a_delivery_left_for_redelivery_holds_progress_before_it_until_it_is_applied() -> None:
    # A replica stopping mid-burst leaves an earlier delivery unapplied behind a later one
    # it applied: the progress it hands on must not pass the one left, or the next
    # replica's timers would fire before that event is applied.
    progress = Progress()
    progress.started("201", T0)
    progress.started("201", T0 + timedelta(hours=2))
    progress.finished("201", T0 + timedelta(hours=2))
    progress.finished("201", T0, done=False)  # abandoned: it goes back to the queue
    assert progress.through("201") == T0 - timedelta(microseconds=1)
    assert not progress.busy("201")
    progress.started("201", T0)  # redelivered here, and applied this time
    progress.finished("201", T0)
    assert progress.through("201") == T0 + timedelta(hours=2)
