"""Structured JSON logs that cannot carry personal data.

Log calls name facts with keyword arguments; only keys on the allowlist below
reach the output. Anything else (a name, a date of birth, a report's text) is
dropped and only its key is noted, so a careless log call cannot leak what a
council holds about a child or family.
"""

import contextlib
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

SAFE_KEYS = frozenset(
    {
        "event", "level", "timestamp", "logger", "service", "event_id", "event_type",
        "correlationid", "causationid", "conference_id", "tenant", "queue", "routing_key",
        "exchange", "attempt", "attempts", "error_type", "error_fields", "count", "timer_id",
        "timer_kind", "outcome", "delay_seconds", "mode", "database", "revision", "request_id",
        "plan_id", "record_id", "report_id", "dead_letter_queue", "reason_code", "version",
        "broker_frame", "broker_reply_code", "broker_reply_text", "broker_exchange",
        "broker_routing_key", "unknown_settings",
    }
)  # fmt: skip


def drop_unsafe_keys(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: keep allowlisted keys, note the names of the rest."""
    # Keys starting with "_" are structlog's own bookkeeping, never data.
    dropped = sorted(k for k in event_dict if k not in SAFE_KEYS and not k.startswith("_"))
    for key in dropped:
        del event_dict[key]
    if dropped:
        event_dict["redacted_keys"] = dropped
    return event_dict


class _StandardError:
    """Where Convene's own lines go: standard error as it is when the line is written (a test
    may swap it). A line that cannot be written is dropped, as the standard library's
    handlers drop it: logging never fails the work it describes."""

    def __init__(self, *_names: object) -> None:
        pass

    def msg(self, line: str) -> None:
        with contextlib.suppress(Exception):  # a closed or broken stream loses the line only
            sys.stderr.write(line + "\n")

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


def configure_logging(level: str = "INFO", fmt: str = "json") -> None:
    """Configure structlog and the standard library (FastStream, SQLAlchemy) alike."""
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        drop_unsafe_keys,
    ]
    # Convene's own lines go straight to standard error (structlog's own logger: half the
    # cost of a line through the standard library's, which is a per-event cost); other
    # libraries' lines go through the standard library, rendered the same way below.
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=_StandardError,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # FastStream's per-message lines repeat what our own logs say; keep its warnings.
    logging.getLogger("faststream").setLevel(max(logging.WARNING, root.level))


def get_logger(name: str) -> Any:
    """A structlog logger; call it with an event name and allowlisted keywords only."""
    return structlog.get_logger(name)
