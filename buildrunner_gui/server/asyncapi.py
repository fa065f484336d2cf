"""`buildrunner-gui schema --asyncapi`: the mirror protocol as an AsyncAPI 3 document (protocol.md).

Built from the same TypedDicts as `schema`'s JSON Schema (`model/messages.py`, and `br3_messages.py` for
BuildRunner 3's dialect), so the two never disagree. One channel per dialect on the same address: protocol v1
(the `buildrunner.v1` subprotocol, or every client without `--dialect br3`) and the br3 dialect; the server sends
their server messages and receives the client messages on both.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from .. import __version__
from ..model.messages import CLIENT_MESSAGE, PROTOCOL_VERSION, SERVER_MESSAGE
from .br3_dialect import V1_SUBPROTOCOL
from .br3_messages import BR3_SERVER_MESSAGE
from .stream_server import STREAM_PREFIX

ASYNCAPI_VERSION = "3.0.0"
REFS = "#/components/schemas/{model}"
WS_BINDING_VERSION = "0.1.0"

_SUMMARIES = {
    "connection": "first message on every connection",
    "status": "the full snapshot: after `connection`, and in answer to `request_status` or a resume it cannot serve",
    "component_update": "a component changed or was removed",
    "feature_update": "a feature changed or was removed",
    "checkpoint_update": "a checkpoint changed or was removed",
    "build_progress": "the build's figures changed",
    "source_update": "a mirrored session's source changed state",
    "terminal_output": "lines of build or log output",
    "file_change": "a file of the project changed",
    "error": "a problem reading the project, or an answer to bad client input",
    "run_update": "a run of the build command changed",
    "pong": "the answer to `ping`",
    "subscribed": "the answer to `subscribe`: the connection's topics now",
    "ping": "ask for a `pong`",
    "subscribe": "receive only these topics' events from now on",
    "request_status": "ask for a fresh `status`",
    "resume": "after a reconnect: the events after `last_seq`, or a `status`",
}


def document() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    v1 = _messages(SERVER_MESSAGE, "", schemas, messages)
    br3 = _messages(BR3_SERVER_MESSAGE, "br3_", schemas, messages)
    client = _messages(CLIENT_MESSAGE, "", schemas, messages)
    address = STREAM_PREFIX + "{session_id}"
    parameters = {"session_id": {"description": "the session: a project's alias or folder name, made unique"}}
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "BuildRunner Desktop mirror protocol",
            "version": __version__,
            "description": (
                f"Protocol version {PROTOCOL_VERSION}. Remote clients mirror a BuildRunner build live: a `connection`"
                " message, then the full `status`, then one event per change, each with the session's `epoch` and "
                "`seq`. The same port serves HTTP routes (the browser page, `/api/build/sessions`, "
                "`/api/build/status/{session_id}`, `/cctray.xml`, `/metrics`, `/healthz`)."
            ),
            "license": {"name": "MIT"},
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {
                "host": "127.0.0.1:8765",
                "protocol": "ws",
                "description": "the default bind; any other bind requires a token",
                "security": [
                    {"$ref": "#/components/securitySchemes/bearer"},
                    {"$ref": "#/components/securitySchemes/query"},
                ],
            }
        },
        "channels": {
            "stream": _channel(
                address,
                parameters,
                v1 + client,
                f"protocol v1: clients that offer the `{V1_SUBPROTOCOL}` subprotocol, or every client of a server "
                "not started with `--dialect br3`",
                {"Sec-WebSocket-Protocol": {"type": "string", "const": V1_SUBPROTOCOL}},
            ),
            "stream_br3": _channel(
                address,
                parameters,
                br3 + client,
                "the br3 dialect (`serve --dialect br3`): BuildRunner 3's own web client, which does not ask for v1; "
                "its field names and status words, and per-item updates instead of `status`",
                {},
            ),
        },
        "operations": {
            "sendEvents": _operation("send", "stream", v1, "the server sends protocol v1 messages"),
            "receiveClientMessages": _operation("receive", "stream", client, "what a v1 client may send"),
            "sendBr3Events": _operation("send", "stream_br3", br3, "the server sends br3 dialect messages"),
            "receiveBr3ClientMessages": _operation("receive", "stream_br3", client, "what a br3 client may send"),
        },
        "components": {
            "schemas": schemas,
            "messages": messages,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer TOKEN"},
                "query": {"type": "httpApiKey", "in": "query", "name": "token", "description": "?token=TOKEN"},
            },
        },
    }


def _messages(adapter: TypeAdapter[Any], prefix: str, schemas: dict[str, Any], out: dict[str, Any]) -> list[str]:
    """Add a discriminated union's members to `schemas` and `out` (as messages); their message keys."""
    union = adapter.json_schema(ref_template=REFS)
    schemas.update(union.get("$defs", {}))
    keys = []
    for message_type, ref in sorted(union["discriminator"]["mapping"].items()):
        key = prefix + message_type
        out[key] = {
            "name": message_type,
            "title": schemas[ref.rsplit("/", 1)[1]].get("title", message_type),
            "summary": _SUMMARIES.get(message_type, message_type),
            "payload": {"$ref": ref},
        }
        keys.append(key)
    return keys


def _channel(
    address: str, parameters: dict[str, Any], keys: list[str], description: str, headers: dict[str, Any]
) -> dict[str, Any]:
    binding: dict[str, Any] = {
        "method": "GET",
        "query": {"type": "object", "properties": {"token": {"type": "string"}}},
        "bindingVersion": WS_BINDING_VERSION,
    }
    if headers:
        binding["headers"] = {"type": "object", "properties": headers}
    return {
        "address": address,
        "description": description,
        "parameters": parameters,
        "messages": {key: {"$ref": f"#/components/messages/{key}"} for key in keys},
        "bindings": {"ws": binding},
    }


def _operation(action: str, channel: str, keys: list[str], summary: str) -> dict[str, Any]:
    return {
        "action": action,
        "channel": {"$ref": f"#/channels/{channel}"},
        "summary": summary,
        "messages": [{"$ref": f"#/channels/{channel}/messages/{key}"} for key in keys],
    }
