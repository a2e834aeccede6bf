"""A running service's process: what `convene run` does to its heap once it has started."""

import gc
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


def test_what_starting_built_is_left_out_of_collections(heap: None) -> None:
    built = [[n] for n in range(1000)]  # containers made while starting
    app._settle_heap()
    assert gc.get_freeze_count() >= len(built)
    assert gc.get_threshold()[0] == app.GC_FIRST_THRESHOLD
    before = gc.get_count()[0]
    later = [[n] for n in range(100)]  # made while serving: collected as ever
    assert gc.get_count()[0] >= before + len(later) - 1
