"""RabbitMQ definitions for a secured deployment, generated from the services' own bindings.

Each producer connects as its own broker user that may write only its own
exchange (and, for a service, its dead letter exchange) and read only its own
queues; no service may configure anything, so the topology is provisioned here
and the services declare it passively (`CONVENE_DECLARE_TOPOLOGY=false`).
RabbitMQ checks each message's `user_id` against the connection's user.

Passwords are secrets, never committed: `broker secrets DIR` generates one file per
broker user (kept if it is already there), and `broker definitions --passwords DIR`
puts their salted hashes in the definitions. Without passwords the users have none, so
nobody can log in as them until an operator sets one (`rabbitmqctl change_password`).
"""

import base64
import hashlib
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from contracts.registry import PRODUCERS
from services.app import DEFINITIONS
from shared.broker.topology import (
    CRM_DEAD_LETTER_QUEUE,
    CRM_DEAD_LETTERS,
    CRM_QUEUE,
    crm_queue_arguments,
    dead_letter_exchange,
    dead_letter_queue_name,
    incoming_queue_arguments,
    incoming_queue_name,
    retry_queue_arguments,
    retry_queue_name,
)
from shared.runtime.settings import Settings, read_secret

VHOST = "convene"


MIN_PASSWORD_LENGTH = 16


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's salted SHA-256 password hash (`rabbit_password_hashing_sha256`)."""
    salt = os.urandom(4) if salt is None else salt
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def check_password(user: str, password: str, where: str) -> str:
    """A broker password fit for use: long, and not the user's name."""
    if password.lower() == user.lower() or user.lower() in password.lower():
        raise ValueError(f"{where}: the password of broker user {user!r} contains its name")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(
            f"{where}: the password of broker user {user!r} is shorter than "
            f"{MIN_PASSWORD_LENGTH} characters"
        )
    return password


def new_password(user: str) -> str:
    """A random password `check_password` accepts: one that happens to contain the user's
    name (about one in a thousand for `crm`) is drawn again."""
    while True:
        password = secrets.token_urlsafe(32)
        if user.lower() not in password.lower():
            return password


def generate_passwords(folder: Path, also: tuple[str, ...] = ()) -> dict[str, bool]:
    """One password file per broker user (and per name in `also`) in `folder` (mode 0600);
    an existing file is kept.

    Returns each name with whether its password was generated now.
    """
    folder.mkdir(parents=True, exist_ok=True)
    made = {}
    for user in (*PRODUCERS, *also):
        path = folder / user
        made[user] = not path.exists()
        if made[user]:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                file.write(new_password(user) + "\n")
    read_passwords(folder)
    return made


def read_passwords(folder: Path) -> dict[str, str]:
    """Each broker user's password from `folder/<user>` (a Docker or Kubernetes secret)."""
    passwords = {}
    for user in PRODUCERS:
        path = folder / user
        password = read_secret(path, f"the password of {user!r}")
        passwords[user] = check_password(user, password, str(path))
    return passwords


def _exact(*names: str) -> str:
    return "^(" + "|".join(re.escape(name) for name in names) + ")$"


def _permissions(user: str) -> dict[str, str]:
    if user == "crm":
        write, read = _exact("crm.events"), _exact(CRM_QUEUE, CRM_DEAD_LETTER_QUEUE)
    else:
        write = _exact(f"{user}.events", dead_letter_exchange(user).name)
        read = _exact(incoming_queue_name(user), dead_letter_queue_name(user))
    return {"user": user, "vhost": VHOST, "configure": "^$", "write": write, "read": read}


def _exchange(name: str, kind: str) -> dict[str, Any]:
    return {
        "name": name,
        "vhost": VHOST,
        "type": kind,
        "durable": True,
        "auto_delete": False,
        "internal": False,
        "arguments": {},
    }


def _queue(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "vhost": VHOST,
        "durable": True,
        "auto_delete": False,
        "arguments": {"x-queue-type": "quorum", **arguments},
    }


def _binding(source: str, queue: str, key: str) -> dict[str, Any]:
    return {
        "source": source,
        "vhost": VHOST,
        "destination": queue,
        "destination_type": "queue",
        "routing_key": key,
        "arguments": {},
    }


def broker_definitions(
    passwords: Mapping[str, str] | None = None, retry_delays: list[float] | None = None
) -> dict[str, Any]:
    """The definitions document (`rabbitmqctl import_definitions`, or `load_definitions`).

    With `passwords` (user to password) each user gets its password's salted hash; without,
    the users have no password and cannot log in until one is set.
    """
    exchanges = [_exchange(f"{p}.events", "topic") for p in PRODUCERS]
    exchanges += [_exchange(dead_letter_exchange(s).name, "direct") for s in DEFINITIONS]
    exchanges.append(_exchange(CRM_DEAD_LETTERS, "direct"))
    delays = (
        retry_delays
        if retry_delays is not None
        else Settings.model_fields["retry_delays"].default.split(",")
    )
    queues = [_queue(CRM_QUEUE, crm_queue_arguments()), _queue(CRM_DEAD_LETTER_QUEUE, {})]
    bindings = [_binding(f"{s}.events", CRM_QUEUE, "#") for s in DEFINITIONS]
    bindings.append(_binding(CRM_DEAD_LETTERS, CRM_DEAD_LETTER_QUEUE, CRM_DEAD_LETTER_QUEUE))
    for service, definition in DEFINITIONS.items():
        incoming, dlq = incoming_queue_name(service), dead_letter_queue_name(service)
        queues += [_queue(incoming, incoming_queue_arguments(service)), _queue(dlq, {})]
        dlx = dead_letter_exchange(service).name
        bindings += [_binding(dlx, dlq, dlq), _binding(dlx, incoming, incoming)]
        for delay in (float(d) for d in delays):
            retry = retry_queue_name(service, delay)
            queues.append(_queue(retry, retry_queue_arguments(service, delay)))
            bindings.append(_binding(dlx, retry, retry))
        bindings += [
            _binding(f"{b.event_type.split('.', 1)[0]}.events", incoming, b.event_type)
            for b in definition.bindings
        ]
    users = [
        {
            "name": user,
            "password_hash": (
                password_hash(check_password(user, passwords[user], "passwords"))
                if passwords is not None
                else ""
            ),
            "hashing_algorithm": "rabbit_password_hashing_sha256",
            "tags": [],
        }
        for user in PRODUCERS
    ]
    return {
        "vhosts": [{"name": VHOST}],
        "users": users,
        "permissions": [_permissions(user) for user in PRODUCERS],
        "exchanges": exchanges,
        "queues": queues,
        "bindings": bindings,
    }
