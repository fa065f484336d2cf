"""`buildrunner-gui schema --asyncapi`: an AsyncAPI 3 document of the mirror protocol, validated by the AsyncAPI
Initiative's own parser (@asyncapi/parser on Node.js), and its br3 models checked against what the dialect sends."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from buildrunner_gui.model.messages import CLIENT_MESSAGE, EVENT_TOPICS, SERVER_MESSAGE
from buildrunner_gui.server import br3_dialect
from buildrunner_gui.server.asyncapi import document
from buildrunner_gui.server.br3_messages import BR3_SERVER_MESSAGE

from .conftest import mirror

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / ".venv" / "node" / "node_modules"
VALIDATOR = REPO / "tests" / "tools" / "asyncapi_validate.cjs"
NODE = shutil.which("node")
needs_parser = pytest.mark.skipif(
    NODE is None or not (NODE_MODULES / "@asyncapi" / "parser").exists(),
    reason="Node.js or @asyncapi/parser is not installed (scripts/setup --dev)",
)


def validate(doc: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    assert NODE is not None
    result = subprocess.run(
        [NODE, str(VALIDATOR)],
        input=json.dumps(doc),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
    )
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()]


def schema_command() -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "buildrunner_gui", "schema", "--asyncapi"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr
    return json.loads(result.stdout)


@needs_parser
def test_the_printed_document_is_valid_asyncapi_3():
    doc = schema_command()
    code, lines = validate(doc)
    errors = [line for line in lines if line.get("severity") == "error"]
    warnings = [line for line in lines if line.get("severity") == "warning"]
    assert code == 0 and not errors and not warnings, lines
    assert lines[-1]["ok"] and lines[-1]["version"] == "3.0.0"


@needs_parser
def test_the_parser_refuses_a_broken_document():
    """The check can fail: an operation without its action, and a message whose payload points nowhere."""
    broken = copy.deepcopy(document())
    del broken["operations"]["sendEvents"]["action"]
    broken["components"]["messages"]["pong"]["payload"] = {"$ref": "#/components/schemas/Nowhere"}
    code, lines = validate(broken)
    assert code == 1
    assert any(line.get("severity") == "error" for line in lines)


def test_every_message_of_both_dialects_and_every_client_message_is_described():
    doc = document()
    v1 = set(SERVER_MESSAGE.json_schema()["discriminator"]["mapping"])
    client = set(CLIENT_MESSAGE.json_schema()["discriminator"]["mapping"])
    assert set(EVENT_TOPICS) <= v1 and {"connection", "status", "pong", "subscribed"} <= v1
    channels = doc["channels"]
    assert set(channels["stream"]["messages"]) == v1 | client
    br3 = {key.removeprefix("br3_") for key in channels["stream_br3"]["messages"] if key.startswith("br3_")}
    assert br3 == v1 - {"status"}  # a br3 client is never sent a status: it catches up from updates
    assert channels["stream"]["address"] == channels["stream_br3"]["address"] == "/api/build/stream/{session_id}"
    for message in doc["components"]["messages"].values():
        name = message["payload"]["$ref"].rsplit("/", 1)[1]
        assert name in doc["components"]["schemas"]


def test_what_the_br3_dialect_sends_fits_its_models(run, sample_project):
    """The br3 models are the dialect's real output: the catch-up of a real session, and each translated event."""

    async def scenario() -> list[dict[str, Any]]:
        async with mirror([sample_project]) as server:
            frames, _ = server.status_frames("br3-sample", "br3")
            return [json.loads(frame) for frame in frames]

    catch_up = run(scenario())
    assert {m["type"] for m in catch_up} == {"component_update", "feature_update", "build_progress"}
    common = {"session_id": "s", "epoch": "e", "seq": 1, "timestamp": "2026-01-01T00:00:00.000Z"}
    events = [
        {**common, "type": "terminal_output", "output": "one\ntwo", "output_type": "stdout", "source": "build"},
        {
            **common,
            "type": "error",
            "error_message": "bad",
            "error_type": "parse",
            "file_path": None,
            "traceback": None,
        },
        {**common, "type": "pong"},
    ]
    translated = [out for event in events for out in br3_dialect.translate(event)]
    assert len(translated) == 4
    for message in catch_up + translated:
        BR3_SERVER_MESSAGE.validate_python(message)
    with pytest.raises(ValueError):  # the models are strict: a v1 word is not a br3 word
        BR3_SERVER_MESSAGE.validate_python({**catch_up[-1], "status": "pending"})
