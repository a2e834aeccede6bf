"""Generate the JSON Schema of every event type and the AsyncAPI 3 document."""

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.registry import EVENT_TYPES, PRODUCERS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_FOLDER = "schemas"
ASYNCAPI_FILE = "asyncapi.json"
EXAMPLES_FILE = "examples.json"
"""One real event of each type (written by `python -m tests.support.examples`)."""


TEXT_PATTERN = r"^[^\u0000\ud800-\udfff]*$"
"""Text is text: no NUL character, no lone UTF-16 surrogate (a database cannot hold either).
Written with escapes, read the same by ECMA-262 (in Unicode mode) and Python regexes."""

_YEAR = r"^(19[0-9]{2}|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}"
DATE_PATTERNS = {
    "date": _YEAR + "$",
    "date-time": _YEAR
    + r"[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?([Zz]|[+-][0-9]{2}:?[0-9]{2})$",
}
"""Every date and time falls between 1900 and 2100, and a time has its offset: said here as
well as by `format`, which a validator may not check."""


def state_rules(node: Any) -> Any:
    """A schema with the rules every event is held to written into it: each free-text string
    (one without a pattern, an enum or a constant of its own) and each property name is
    text, and each date or date-time falls between 1900 and 2100. The services refuse what
    breaks them; the schemas say so, so a CRM validating with them is never surprised."""
    if isinstance(node, list):
        return [state_rules(item) for item in node]
    if not isinstance(node, dict):
        return node
    stated = {key: _keep(key, value) for key, value in node.items()}
    fixed = "enum" in node or "const" in node or "pattern" in node
    if node.get("type") == "string" and not fixed:
        stated["pattern"] = DATE_PATTERNS.get(node.get("format", ""), TEXT_PATTERN)
    if node.get("type") == "object" and "propertyNames" not in node:
        stated["propertyNames"] = {"pattern": TEXT_PATTERN}
    return stated


def _keep(key: str, value: Any) -> Any:
    """Examples and descriptions are left as they are; schemas beneath are stated too."""
    return value if key in ("examples", "description", "title", "default") else state_rules(value)


def _data_schema(name: str) -> dict[str, Any]:
    schema = EVENT_TYPES[name].model.model_json_schema(by_alias=True, mode="serialization")
    return {"$schema": SCHEMA_DIALECT, "$id": f"urn:convene:contract:{name}", **schema}


def event_schema(name: str) -> dict[str, Any]:
    """The JSON Schema of one whole message of this type: envelope plus typed `data`."""
    envelope = CloudEvent.model_json_schema()
    data = _data_schema(name)
    defs = {**envelope.pop("$defs", {}), **data.pop("$defs", {})}
    data.pop("$schema")
    data.pop("$id")
    envelope["properties"]["type"] = {"const": name, "description": "The event type."}
    envelope["properties"]["source"] = {
        "const": EVENT_TYPES[name].producer,
        "description": "The producer of the event: always this one for this type.",
    }
    envelope["properties"]["data"] = data
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "$id": f"urn:convene:contract:{name}",
        **envelope,
        "title": name,
        "description": EVENT_TYPES[name].summary,
    }
    if defs:
        schema["$defs"] = defs
    schema = state_rules(schema)
    example = examples().get(name)
    if example is not None:
        schema["examples"] = [example]
    return schema


def examples() -> dict[str, dict[str, Any]]:
    """The committed example event of each type (empty before any was written)."""
    path = Path(__file__).parent / EXAMPLES_FILE
    if not path.is_file():
        return {}
    loaded: dict[str, dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


AMQP_BINDING = "0.3.0"


def _exchange_channel(producer: str, keys: list[str]) -> dict[str, Any]:
    exchange = f"{producer}.events"
    return {
        "address": exchange,
        "title": f"{producer}'s facts",
        "description": f"Durable topic exchange: the facts {producer} publishes; the routing "
        "key is the event type. Bind a queue to it with the types (or `#`) you consume.",
        "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys},
        "bindings": {
            "amqp": {
                "is": "routingKey",
                "exchange": {
                    "name": exchange,
                    "type": "topic",
                    "durable": True,
                    "autoDelete": False,
                    "vhost": "{vhost}",
                },
                "bindingVersion": AMQP_BINDING,
            }
        },
    }


def _queue_channel(queue: str, description: str, keys: list[str]) -> dict[str, Any]:
    return {
        "address": queue,
        "title": queue,
        "description": description,
        "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys},
        "bindings": {
            "amqp": {
                "is": "queue",
                "queue": {
                    "name": queue,
                    "durable": True,
                    "exclusive": False,
                    "autoDelete": False,
                    "vhost": "{vhost}",
                },
                "bindingVersion": AMQP_BINDING,
            }
        },
    }


def _operation(
    action: str, channel: str, keys: list[str], summary: str, user: str | None = None
) -> dict[str, Any]:
    binding: dict[str, Any] = {"bindingVersion": AMQP_BINDING}
    if action == "send":
        binding["deliveryMode"] = 2
        if user is not None:
            binding["userId"] = user
    else:
        binding["ack"] = True
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{key}"} for key in keys],
        "bindings": {"amqp": binding},
    }


def asyncapi_document(consumers: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The AsyncAPI 3.0 document, from the contract's types and what each service consumes
    (`consumers`: service name -> event types its queue is bound to).

    Channels: each producer's exchange, each service's queue and the CRM's `crm.facts`.
    Operations: what each producer sends (persistent, with `user_id` set to its broker
    user: the secured deployment refuses anything else) and what each queue's consumer
    receives (manual acknowledgement)."""
    messages: dict[str, Any] = {}
    for name, entry in EVENT_TYPES.items():
        messages[_key(name)] = {
            "name": name,
            "title": name,
            "summary": entry.summary,
            "contentType": CONTENT_TYPE,
            "payload": {
                "schemaFormat": "application/schema+json;version=draft-07",
                "schema": {"$ref": f"{SCHEMAS_FOLDER}/{name}.json"},
            },
            "bindings": {"amqp": {"messageType": name, "bindingVersion": AMQP_BINDING}},
        }
        example = examples().get(name)
        if example is not None:
            messages[_key(name)]["examples"] = [
                {"name": f"{_key(name)}_example", "summary": entry.summary, "payload": example}
            ]
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for producer in PRODUCERS:
        keys = [_key(n) for n, t in EVENT_TYPES.items() if t.producer == producer]
        channels[f"{producer}.events"] = _exchange_channel(producer, keys)
        who = "The CRM" if producer == "crm" else f"The {producer} service"
        operations[f"{producer}.send"] = _operation(
            "send",
            f"{producer}.events",
            keys,
            f"{who} publishes its facts: persistent, with publisher confirms, AMQP "
            f"`type` = the event type, `message_id` = the event id, `user_id` = its broker "
            f"user ({producer} in the secured deployment).",
            user=producer,
        )
    for service, types in consumers.items():
        queue = f"{service}.incoming"
        keys = [_key(t) for t in types if t in EVENT_TYPES]
        channels[queue] = _queue_channel(
            queue,
            f"The {service} service's quorum queue (single active consumer, dead letters to "
            f"{service}.dlq), bound to each type it consumes on its producer's exchange.",
            keys,
        )
        operations[f"{service}.receive"] = _operation(
            "receive", queue, keys, f"The {service} service applies what it consumes, in order."
        )
    facts = [_key(n) for n, t in EVENT_TYPES.items() if t.producer != "crm"]
    channels["crm.facts"] = _queue_channel(
        "crm.facts",
        "The CRM's own quorum queue, bound with `#` to every service's exchange (declared by "
        "`convene broker setup` or the broker definitions; dead letters to crm.facts.dlq).",
        facts,
    )
    operations["crm.receive"] = _operation(
        "receive", "crm.facts", facts, "The CRM takes every fact the services publish."
    )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Convene: child protection conference events",
            "version": "1",
            "description": "The message contract between the council's CRM and the Convene "
            "services. CloudEvents 1.0, structured JSON mode. See contracts/README.md.",
        },
        "defaultContentType": CONTENT_TYPE,
        "servers": {
            "broker": {
                "host": "{host}:{port}",
                "protocol": "amqp",
                "protocolVersion": "0-9-1",
                "pathname": "/{vhost}",
                "title": "The council's RabbitMQ",
                "description": "Every exchange and queue below lives in one vhost.",
                "variables": {
                    "host": {"default": "rabbitmq"},
                    "port": {"default": "5672"},
                    "vhost": {"default": "convene", "description": "The deployment's vhost."},
                },
                "security": [{"$ref": "#/components/securitySchemes/broker_user"}],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "securitySchemes": {
                "broker_user": {
                    "type": "userPassword",
                    "description": "One broker user a producer (crm, invitations, reports, "
                    "decisions); it must also be the message's AMQP user_id.",
                }
            },
        },
    }


def _key(name: str) -> str:
    return name.replace(".", "_")


def render(value: dict[str, Any]) -> str:
    """Stable JSON text for a generated document."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated_files(consumers: Mapping[str, Sequence[str]]) -> dict[str, str]:
    """Every generated file, by its path relative to the contracts folder."""
    files = {f"{SCHEMAS_FOLDER}/{name}.json": render(event_schema(name)) for name in EVENT_TYPES}
    files[ASYNCAPI_FILE] = render(asyncapi_document(consumers))
    return files


def export(folder: Path, consumers: Mapping[str, Sequence[str]]) -> list[Path]:
    """Write every generated file under `folder`; returns the paths written."""
    written = []
    for relative, text in generated_files(consumers).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def committed_folder() -> Path:
    """Where the generated files are committed (this package's folder)."""
    return Path(__file__).parent
