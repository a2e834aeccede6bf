"""A running service's process: what `convene run` does to its heap once it has started."""

import gc
import weakref
from collections.abc import Iterator

import pytest

from services import app


@pytest.fixture
def heap() -> Iterator[None]:
    """Put the garbage collector back as it was (the test process is shared)."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class _Node:
    """An object that can sit in a reference cycle and be watched by a weak reference."""

    def __init__(self) -> None:
        self.itself = self


def test_what_starting_built_is_left_out_of_collections(heap: None) -> None:
    built = [[n] for n in range(1000)]  # containers made while starting
    starting = _Node()  # a cycle still in use while starting, dropped later
    started = weakref.ref(starting)
    app._settle_heap()
    assert gc.get_freeze_count() >= len(built)
    assert gc.get_threshold()[0] == app.GC_FIRST_THRESHOLD
    serving = weakref.ref(_Node())  # a cycle made and dropped while serving
    del starting
    gc.collect()
    assert started() is not None  # frozen: no collection walks it
    assert serving() is None  # collected as ever
