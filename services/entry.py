"""The `convene` console script: a stop asked for in the first instant is honoured too.

Importing the services takes a second or more; a SIGTERM in that time would end the
process at once. The handlers are installed before anything else, and a stop asked
for before the services run means they never start.
"""

import signal
import sys
from types import FrameType

_requested: list[int] = []


def _remember(signum: int, _frame: FrameType | None) -> None:
    _requested.append(signum)


def stop_requested() -> bool:
    """True once SIGTERM or SIGINT has arrived (before the event loop took them over)."""
    return bool(_requested)


def main() -> None:
    """Console script entry point."""
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _remember)
    from services.cli import main as cli

    cli(sys.argv[1:])
