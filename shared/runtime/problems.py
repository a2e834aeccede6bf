"""Problems a person can fix, said in one line (or one JSON line) instead of a traceback.

A setting that does not parse, a broker or database that does not answer at start,
a command-line value that is not what it should be: each becomes a `Problem` naming
the environment variable or option to change.
"""

import json
import sys
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError


class Problem(Exception):
    """Something the operator can put right; the message names what to change."""


def settings_problem(error: ValidationError, fields: dict[str, Any]) -> Problem:
    """The settings that did not parse, by the environment variable that sets each."""
    said = []
    for item in error.errors(include_url=False, include_input=False):
        field = str(item["loc"][0]) if item["loc"] else ""
        info = fields.get(field)
        alias = getattr(info, "validation_alias", None)
        variable = alias if isinstance(alias, str) else f"CONVENE_{field.upper()}"
        said.append(f"{variable if field else 'settings'}: {item['msg']}")
    return Problem("invalid setting " + "; ".join(said))


def where(url: str) -> str:
    """host:port of a URL, without its password."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or ''}".rstrip(":")


def broker_problem(url: str, error: BaseException) -> Problem:
    """The broker did not answer, or refused the user or the vhost."""
    if "Connection.Close" in str(error):  # refused while opening the vhost
        vhost = urlsplit(url).path.lstrip("/") or "/"
        return Problem(
            f"the broker at {where(url)} refused vhost {vhost!r} (AMQP_URL): it does not exist, "
            "or the user may not use it"
        )
    if "ACCESS_REFUSED" in str(error) or type(error).__name__ == "ProbableAuthenticationError":
        return Problem(f"the broker at {where(url)} refused the user and password (AMQP_URL)")
    return Problem(f"cannot reach the broker at {where(url)} (AMQP_URL): {type(error).__name__}")


def say(problem: BaseException, *, as_json: bool) -> None:
    """Write the problem to standard error: one line, or one JSON line."""
    text = str(problem)
    line = (
        json.dumps({"level": "error", "event": "problem", "problem": text})
        if as_json
        else (f"convene: {text}")
    )
    print(line, file=sys.stderr)
