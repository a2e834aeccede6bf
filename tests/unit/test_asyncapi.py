"""The committed AsyncAPI document, as the official AsyncAPI parser reads it (Node.js, from
npm, installed by the test command): no errors, no warnings, every event type, and who
sends and receives what."""

import json
import re
import shutil
import subprocess
import urllib.request
from pathlib import Path

from contracts.registry import EVENT_TYPES, PRODUCERS
from services.app import DEFINITIONS

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "node"


def _parsed() -> dict[str, object]:
    node = shutil.which("node")
    assert node, "Node.js is needed to run the official AsyncAPI parser"
    assert (TOOLS / "node_modules" / "@asyncapi" / "parser").is_dir(), "run `make test`"
    answer = subprocess.run(
        [node, str(TOOLS / "validate.js"), str(ROOT / "contracts" / "asyncapi.json")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert answer.stdout, answer.stderr
    result: dict[str, object] = json.loads(answer.stdout)
    return result


def test_the_official_parser_accepts_the_document() -> None:
    result = _parsed()
    assert result["errors"] == 0 and result["warnings"] == 0, result["diagnostics"]
    assert sorted(result["messages"]) == sorted(EVENT_TYPES)  # type: ignore[call-overload]
    operations = {name: (action, channels) for name, action, channels in result["operations"]}  # type: ignore[attr-defined]
    for producer in PRODUCERS:
        assert operations[f"{producer}.send"] == ("send", [f"{producer}.events"])
    for service in DEFINITIONS:
        assert operations[f"{service}.receive"] == ("receive", [f"{service}.incoming"])
    assert operations["crm.receive"] == ("receive", ["crm.facts"])


def test_each_service_receives_exactly_what_its_queue_is_bound_to() -> None:
    document = json.loads((ROOT / "contracts" / "asyncapi.json").read_text())
    for name, definition in DEFINITIONS.items():
        channel = document["channels"][f"{name}.incoming"]
        received = {message["$ref"].rsplit("/", 1)[-1] for message in channel["messages"].values()}
        assert received == {t.replace(".", "_") for t in definition.event_types}
    sends = document["operations"]["crm.send"]["bindings"]["amqp"]
    assert sends["userId"] == "crm" and sends["deliveryMode"] == 2


def _browser() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "the contract page's test needs Chromium (`make browser` installs it)"
    return found


def test_the_contract_page_is_served_and_a_headless_browser_lists_every_event_type() -> None:
    """tools/node/contract-page.js serves the AsyncAPI document through the official
    AsyncAPI React component; headless Chromium runs the page and what it renders (the
    scripts and styles taken out) names every event type and every operation."""
    browser, node = _browser(), shutil.which("node")
    assert node
    server = subprocess.Popen(
        [node, str(TOOLS / "contract-page.js"), "--serve", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        assert line, server.stderr.read() if server.stderr else ""
        url = json.loads(line)["serving"]
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "asyncapi.json", timeout=10) as answer:  # noqa: S310
            assert json.loads(answer.read())["asyncapi"].startswith("3.")
        rendered = subprocess.run(
            [
                browser, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--virtual-time-budget=20000", "--dump-dom", url,
            ],
            capture_output=True, text=True, timeout=120, check=True,
        ).stdout  # fmt: skip
    finally:
        server.terminate()
        server.wait(timeout=10)
    shown = re.sub(r"<(script|style)\b.*?</\1>", " ", rendered, flags=re.S)
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", shown))
    assert "Convene: child protection conference events" in text
    missing = [t for t in EVENT_TYPES if t not in text]
    assert missing == []
    for operation in ("crm.send", "crm.receive", *(f"{s}.receive" for s in DEFINITIONS)):
        assert operation in text
