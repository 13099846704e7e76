"""``make run``'s chain with real processes: the top-level's root CA certifies the node at
onboarding, the node signs its records, and ``idnode verify`` trusts them against that root."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ..commands import idnode
from ..conftest import ADMIN_TOKEN
from ..servers import NodeProcess, free_port
from .helpers import basic_auth, create_enterprise
from .syncing import BOOTSTRAP, TopLevel

HANDLE = "88.118.8/JXDY2106023"

pytestmark = pytest.mark.slow


@pytest.fixture
def env(migrated_url: str) -> dict[str, str]:
    return {
        "IDNODE_DATABASE_URL": migrated_url,
        "IDNODE_ADMIN_TOKEN": ADMIN_TOKEN,
        "IDNODE_NODE_CODE": "88.118",
        "IDNODE_TOPLEVEL_URL": f"http://127.0.0.1:{free_port()}",
        "IDNODE_TOPLEVEL_BOOTSTRAP_TOKEN": BOOTSTRAP,
        "IDNODE_SYNC_IDLE_SECONDS": "0.2",
        "IDNODE_SYNC_BACKOFF_MAX_SECONDS": "1",
        "IDNODE_KEY_RECHECK_SECONDS": "0",
    }


@pytest.fixture
def toplevel(env: dict[str, str], tmp_path: Path) -> Iterator[TopLevel]:
    port = int(env["IDNODE_TOPLEVEL_URL"].rsplit(":", 1)[1])
    with TopLevel(tmp_path / "toplevel.db", port) as process:
        yield process


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def wait_for_certificate(node_url: str, key_index: int = 300) -> str:
    """The node's published HS_CERT for ``key_index`` once onboarding installed it (bounded)."""
    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(f"{node_url}/api/handles/0.NA/88.118", timeout=30)
        if response.status_code == 200:
            for value in response.json()["values"]:
                token = value["data"]["value"]
                if (
                    value["type"] == "HS_CERT"
                    and claims(token)["sub"] == f"{key_index}:0.NA/88.118"
                ):
                    return token
        assert time.monotonic() < deadline, f"no certificate published: {response.text}"
        time.sleep(0.1)


def test_the_toplevel_certifies_the_node_and_verify_trusts_its_records(
    env: dict[str, str], toplevel: TopLevel, tmp_path: Path
) -> None:
    # As `make run`: demo data on a fresh machine (the key is made first), then the node.
    demo = idnode(env, "demo", "--json")
    assert demo.returncode == 0, demo.stderr
    assert (tmp_path / "keys" / "keys.json").exists()
    with NodeProcess(env) as node:
        certificate = wait_for_certificate(node.url)
        root = httpx.get(f"{toplevel.url}/root").json()
        assert root["id"] == "300:0.NA/88"
        issued = claims(certificate)
        assert issued["iss"] == root["id"] and issued["sub"] == "300:0.NA/88.118"
        assert issued["perms"] == [{"handle": "0.NA/88.118", "perm": "derivedPrefixes"}]
        directory = httpx.get(f"{toplevel.url}/api/handles/0.NA/88.118").json()["values"]
        assert [v["data"]["value"] for v in directory if v["type"] == "HS_CERT"] == [certificate]

        by_url = idnode(env, "verify", HANDLE, "--url", node.url, "--root", f"{toplevel.url}/root")
        assert by_url.returncode == 0, by_url.stdout + by_url.stderr
        assert by_url.stdout.startswith(f"TRUSTED {HANDLE}")
        assert "300:0.NA/88.118 → 300:0.NA/88" in by_url.stdout
        root_file = tmp_path / "root" / "root.jws"
        by_file = idnode(env, "verify", HANDLE, "--url", node.url, "--root", str(root_file))
        assert by_file.returncode == 0 and by_file.stdout.startswith("TRUSTED")

        # A record written now, through the API, verifies the same way.
        credential = create_enterprise(node.url, "Acme", "88.118.9")
        body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/9"}]}
        written = httpx.put(
            f"{node.url}/api/handles/88.118.9/NEW", json=body, auth=basic_auth(credential)
        )
        assert written.status_code == 201, written.text
        fresh = idnode(env, "verify", "88.118.9/NEW", "--url", node.url, "--root", str(root_file))
        assert fresh.returncode == 0, fresh.stdout + fresh.stderr

        other = tmp_path / "other-root"
        foreign = idnode(env, "root", "init", "--dir", str(other))
        assert foreign.returncode == 0, foreign.stderr
        wrong = idnode(env, "verify", HANDLE, "--url", node.url, "--root", str(other / "root.jws"))
        assert wrong.returncode == 2 and wrong.stdout.startswith(f"NOT TRUSTED {HANDLE}")
        assert "wrong-root" in wrong.stdout


def test_a_rotated_key_is_certified_at_the_next_onboarding(
    env: dict[str, str], toplevel: TopLevel
) -> None:
    with NodeProcess(env) as node:
        wait_for_certificate(node.url, 300)
        rotated = idnode(env, "keys", "rotate", "--json")
        assert rotated.returncode == 0, rotated.stderr
        assert json.loads(rotated.stdout)["index"] == 301
        wait_for_certificate(node.url, 301)

        credential = create_enterprise(node.url, "Acme", "88.118.8")
        body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/r"}]}
        written = httpx.put(
            f"{node.url}/api/handles/{HANDLE}", json=body, auth=basic_auth(credential)
        )
        assert written.status_code == 201, written.text
        values = httpx.get(f"{node.url}/api/handles/{HANDLE}").json()["values"]
        signature = next(v["data"]["value"] for v in values if v["type"] == "HS_SIGNATURE")
        assert claims(signature)["iss"] == "301:0.NA/88.118"
        root = f"{toplevel.url}/root"
        verified = idnode(env, "verify", HANDLE, "--url", node.url, "--root", root)
        assert verified.returncode == 0, verified.stdout + verified.stderr


def test_verify_names_a_root_url_that_gives_no_certificate(
    env: dict[str, str], toplevel: TopLevel
) -> None:
    not_json = idnode(
        env, "verify", HANDLE, "--url", toplevel.url, "--root", f"{toplevel.url}/healthz"
    )
    assert not_json.returncode == 1 and "without a 'certificate'" in not_json.stderr
    missing = idnode(env, "verify", HANDLE, "--url", toplevel.url, "--root", f"{toplevel.url}/x")
    assert missing.returncode == 1 and "answered HTTP 404" in missing.stderr


def test_records_signed_before_a_rotation_stay_trusted_after_it(
    env: dict[str, str], toplevel: TopLevel
) -> None:
    root = f"{toplevel.url}/root"
    with NodeProcess(env) as node:
        wait_for_certificate(node.url, 300)
        credential = create_enterprise(node.url, "Acme", "88.118.8")
        body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/old"}]}
        before = httpx.put(
            f"{node.url}/api/handles/88.118.8/OLD", json=body, auth=basic_auth(credential)
        )
        assert before.status_code == 201, before.text

        rotated = idnode(env, "keys", "rotate", "--json")
        assert rotated.returncode == 0, rotated.stderr
        wait_for_certificate(node.url, 301)
        body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/new"}]}
        after = httpx.put(
            f"{node.url}/api/handles/88.118.8/NEW", json=body, auth=basic_auth(credential)
        )
        assert after.status_code == 201, after.text

        for handle, signer in (("88.118.8/OLD", "300:"), ("88.118.8/NEW", "301:")):
            verified = idnode(env, "verify", handle, "--url", node.url, "--root", root)
            assert verified.returncode == 0, verified.stdout + verified.stderr
            assert verified.stdout.startswith(f"TRUSTED {handle}")
            assert f"chain {signer}0.NA/88.118 → 300:0.NA/88" in verified.stdout

        # The directory keeps the old key's certificate beside the new one, each at its index.
        directory = httpx.get(f"{toplevel.url}/api/handles/0.NA/88.118").json()["values"]
        certs = {
            v["index"]: claims(v["data"]["value"]) for v in directory if v["type"] == "HS_CERT"
        }
        assert sorted(c["sub"] for c in certs.values()) == ["300:0.NA/88.118", "301:0.NA/88.118"]
        keys = {v["index"] for v in directory if v["type"] == "HS_PUBKEY"}
        assert keys == {300, 301}
