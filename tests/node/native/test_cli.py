"""``idnode hdl resolve`` against a real node, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from ...servers import free_port
from .native_nodes import NativeNode, value


def hdl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node", "hdl", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("transport", [[], ["--udp"]], ids=["tcp", "udp"])
def test_resolve_prints_values(native_node: NativeNode, transport: list[str]) -> None:
    native_node.put("88.118/cli", [value(1, "URL", "https://cli/"), value(2, "EMAIL", "a@b")])
    port = str(native_node.port)
    result = hdl("resolve", "88.118/cli", "--port", port, "--json", *transport)
    if transport:
        # The rest does not depend on the transport.
        assert result.returncode == 0, result.stderr
        assert len(json.loads(result.stdout)["values"]) == 2
        return
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["responseCode"] == 1
    assert [(v["index"], v["type"], v["data"]["value"]) for v in answer["values"]] == [
        (1, "URL", "https://cli/"),
        (2, "EMAIL", "a@b"),
    ]
    assert answer["values"][0]["permissions"] == "1110"
    text = hdl("resolve", "88.118/cli", "--port", port, "--type", "EMAIL", *transport)
    assert text.returncode == 0, text.stderr
    assert (
        "1 value(s)" in text.stdout and "a@b" in text.stdout and "https://cli/" not in text.stdout
    )
    site = json.loads(hdl("resolve", "0.NA/88.118", "--port", port, "--json", *transport).stdout)
    assert site["values"][0]["type"] == "HS_SITE"
    assert site["values"][0]["data"]["format"] == "base64"


def test_resolve_failures_are_clear(native_node: NativeNode) -> None:
    missing = hdl("resolve", "88.118/none", "--port", str(native_node.port), "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout)["responseCode"] == 100
    plain = hdl("resolve", "88.118/none", "--port", str(native_node.port))
    assert plain.returncode == 1 and "100 HANDLE_NOT_FOUND" in plain.stdout
    unreachable = hdl("resolve", "88.118/x", "--port", str(free_port()), "--timeout", "1")
    assert unreachable.returncode == 1
    assert (
        "no answer from 127.0.0.1" in unreachable.stderr and "Traceback" not in unreachable.stderr
    )
