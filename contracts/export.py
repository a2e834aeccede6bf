"""Generate the JSON Schema of every event type and the AsyncAPI 3 document."""

import json
from pathlib import Path
from typing import Any

from contracts.envelope import CONTENT_TYPE, CloudEvent
from contracts.registry import EVENT_TYPES, PRODUCERS

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_FOLDER = "schemas"
ASYNCAPI_FILE = "asyncapi.json"


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
    return schema


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document: one channel per producer exchange, one message per type."""
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for producer in PRODUCERS:
        names = [n for n, t in EVENT_TYPES.items() if t.producer == producer]
        channel_messages = {}
        for name in names:
            key = name.replace(".", "_")
            messages[key] = {
                "name": name,
                "title": name,
                "summary": EVENT_TYPES[name].summary,
                "contentType": CONTENT_TYPE,
                "payload": {"$ref": f"{SCHEMAS_FOLDER}/{name}.json"},
                "bindings": {"amqp": {"messageType": name, "deliveryMode": 2}},
            }
            channel_messages[key] = {"$ref": f"#/components/messages/{key}"}
        exchange = f"{producer}.events"
        channels[exchange] = {
            "address": exchange,
            "description": f"Durable topic exchange: facts published by {producer}; the "
            "routing key is the event type.",
            "messages": channel_messages,
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {
                        "name": exchange,
                        "type": "topic",
                        "durable": True,
                        "autoDelete": False,
                        "vhost": "/",
                    },
                }
            },
        }
        operations[f"publish_{producer}"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{exchange}"},
            "summary": f"{producer} publishes its facts, persistent, with publisher confirms.",
            "messages": list(channel_messages.values()),
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Convene: child protection conference events",
            "version": "1",
            "description": "The message contract between the council's CRM and the Convene "
            "services. CloudEvents 1.0, structured JSON mode.",
        },
        "defaultContentType": CONTENT_TYPE,
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def render(value: dict[str, Any]) -> str:
    """Stable JSON text for a generated document."""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def generated_files() -> dict[str, str]:
    """Every generated file, by its path relative to the contracts folder."""
    files = {f"{SCHEMAS_FOLDER}/{name}.json": render(event_schema(name)) for name in EVENT_TYPES}
    files[ASYNCAPI_FILE] = render(asyncapi_document())
    return files


def export(folder: Path) -> list[Path]:
    """Write every generated file under `folder`; returns the paths written."""
    written = []
    for relative, text in generated_files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def committed_folder() -> Path:
    """Where the generated files are committed (this package's folder)."""
    return Path(__file__).parent
