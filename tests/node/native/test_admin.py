"""The native protocol's authentication and administration against a real node: challenge and
answer on TCP and UDP, the IDIS login, each way an answer fails, Handle.Net's administration
semantics, and writes visible across the native and REST APIs at once (both backends)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from loadtests import free_port
from node import Settings
from node.app import create_app
from node.native.admin_client import AdminClient, PrivateKeyAuth, SecretKeyAuth
from node.native.client import HandleClient, HandleError
from registry import EnterpriseService, HandleValue, Permissions, Prefix, RecordService
from registry.codec import native
from registry.codec.native import OpCode, OpFlag, ResponseCode
from registry.codec.native.admin import AdminPerm
from registry.codec.native.admin_bodies import (
    RemoveValues,
    ValuesRequest,
    encode_remove_values,
    encode_values_request,
)
from registry.codec.native.auth import (
    ChallengeAnswer,
    LoginRequest,
    VerifyRequest,
    decode_challenge,
    decode_verify_response,
    encode_challenge_answer,
    encode_login,
    encode_verify_request,
)
from registry.codec.native.keys import PublicAnswer, encode_public_answer
from registry.storage import Database
from registry.trust import CipherKey, public_key_data
from registry.trust.gm import SM2Key, sm3

from ...conftest import ADMIN_TOKEN
from ...servers import ThreadedServer
from .native_nodes import read_answer, request_bytes

PASSWORD = "demo-password"
ADMIN = "88.118.8/ADMIN"
URL = HandleValue(1, "URL", "string", "https://example.com/n1")
EMAIL = HandleValue(2, "EMAIL", "string", "qa@example.com")
BASIC = ("300%3A88.118.8%2FADMIN", PASSWORD)


class Node:
    def __init__(self, server: ThreadedServer, port: int, key: rsa.RSAPrivateKey) -> None:
        self.server = server
        self.port = port
        self.url = server.url
        self.key = key

    @property
    def native(self):  # type: ignore[no-untyped-def]
        return self.server.server.config.app.state.native

    def client(self, udp: bool = False) -> HandleClient:
        return HandleClient("127.0.0.1", self.port, udp=udp, timeout=5.0)


@pytest.fixture
async def node(settings: Settings, db: Database) -> AsyncIterator[Node]:
    service = EnterpriseService(
        db, RecordService(db), Prefix.parse("88.118"), CipherKey("test-credential-key")
    )
    await service.create("Acme", "88.118.8", password=PASSWORD)
    await service.create("Beta", "88.118.9", password="beta-password")
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert await service.register_public_key("88.118.8", public_key_data(pem)) == f"301:{ADMIN}"
    port = free_port()
    served = settings.model_copy(update={"handle_port": port})
    with ThreadedServer(create_app(served), settings=served) as server:
        yield Node(server, port, key)


def _secret(
    index: int = 300, secret: bytes = PASSWORD.encode(), handle: str = ADMIN
) -> SecretKeyAuth:
    return SecretKeyAuth(handle, index, secret)


async def _rest(node: Node, method: str, path: str, **kwargs: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=node.url, auth=BASIC) as http:
        return await http.request(method, path, **kwargs)  # type: ignore[arg-type]


async def test_create_with_a_secret_key_is_visible_over_rest_at_once(node: Node) -> None:
    async with node.client() as client:
        admin = AdminClient(client, _secret())
        assert await admin.create("88.118.8/N1", [URL, EMAIL]) == "88.118.8/N1"
    response = await _rest(node, "GET", "/api/handles/88.118.8/N1")
    assert response.status_code == 200
    values = {v["index"]: v["data"]["value"] for v in response.json()["values"]}
    assert values[1] == "https://example.com/n1" and values[2] == "qa@example.com"
    async with httpx.AsyncClient(base_url=node.url) as http:
        login = {"username": "300:88.118.8/ADMIN", "password": PASSWORD}
        token = (await http.post("/identity/token", json=login)).json()["data"]["token"]
        detail = await http.get(
            "/identityv2/data/detail?handle=88.118.8/N1", headers={"Authorization": token}
        )
    assert detail.json()["status"] == 1, detail.text
    assert "https://example.com/n1" in detail.text


async def test_a_rest_write_is_resolved_over_native_at_once_and_a_native_delete_is_seen(
    node: Node,
) -> None:
    body = {"values": [{"index": 1, "type": "URL", "data": "https://example.com/r1"}]}
    async with node.client() as client:
        with pytest.raises(HandleError) as missing:
            await client.resolve("88.118.8/R1")
        assert missing.value.code == ResponseCode.HANDLE_NOT_FOUND
        assert (await _rest(node, "PUT", "/api/handles/88.118.8/R1", json=body)).status_code == 201
        resolved = await client.resolve("88.118.8/R1")
        assert [v.data for v in resolved.values if v.index == 1] == [b"https://example.com/r1"]
        await AdminClient(client, _secret()).delete("88.118.8/R1")
        with pytest.raises(HandleError) as gone:
            await client.resolve("88.118.8/R1")
        assert gone.value.code == ResponseCode.HANDLE_NOT_FOUND
    assert (await _rest(node, "GET", "/api/handles/88.118.8/R1")).status_code == 404


async def test_administration_follows_handle_net_semantics(node: Node) -> None:
    async with node.client() as client:
        admin = AdminClient(client, _secret())
        await admin.create("88.118.8/S1", [URL])
        with pytest.raises(HandleError) as exists:
            await admin.create("88.118.8/S1", [URL])
        assert exists.value.code == ResponseCode.HANDLE_ALREADY_EXISTS
        await admin.create("88.118.8/S1", [EMAIL], overwrite=True)
        await admin.add_values("88.118.8/S1", [URL])
        with pytest.raises(HandleError) as taken:
            await admin.add_values("88.118.8/S1", [URL])
        assert taken.value.code == ResponseCode.VALUE_ALREADY_EXISTS
        changed = HandleValue(1, "URL", "string", "https://example.com/changed")
        await admin.modify_values("88.118.8/S1", [changed])
        with pytest.raises(HandleError) as absent:
            await admin.modify_values("88.118.8/S1", [replace(changed, index=7)])
        assert absent.value.code == ResponseCode.VALUES_NOT_FOUND
        await admin.remove_values("88.118.8/S1", [2])
        with pytest.raises(HandleError) as removed:
            await admin.remove_values("88.118.8/S1", [2])
        assert removed.value.code == ResponseCode.VALUES_NOT_FOUND
        resolved = await client.resolve("88.118.8/S1")
        assert [(v.index, v.data) for v in resolved.values if v.type == b"URL"] == [
            (1, b"https://example.com/changed")
        ]
        assert not [v for v in resolved.values if v.index == 2]
        minted = await admin.create("88.118.8/LOT-", [URL], mint=True)
        assert minted.startswith("88.118.8/LOT-") and len(minted) > len("88.118.8/LOT-")
        with pytest.raises(HandleError) as bad:
            await admin.create("88.118.8/S2", [replace(URL, index=1001)])
        assert bad.value.code == ResponseCode.INVALID_VALUE
    response = await _rest(node, "GET", f"/api/handles/{minted}")
    assert response.status_code == 200


async def test_list_handles_comes_in_fifties(node: Node) -> None:
    async with node.client() as client:
        admin = AdminClient(client, _secret())
        await admin.login()
        for i in range(60):
            await admin.create(f"88.118.8/L{i:03}", [URL])
        listed = await admin.list_handles("88.118.8")
        replies = await admin.request(OpCode.LIST_HANDLES, b"\x00\x00\x00\x0d0.NA/88.118.8")
    assert [f"88.118.8/L{i:03}" for i in range(60)] == [h for h in listed if "/L" in h]
    assert len(replies) == -(-len(listed) // 50) >= 2


async def test_wrong_secret_unknown_identity_and_another_prefix_are_refused(node: Node) -> None:
    async with node.client() as client:
        for auth, code in [
            (_secret(secret=b"wrong"), ResponseCode.AUTHENTICATION_FAILED),
            (_secret(index=399), ResponseCode.AUTHENTICATION_FAILED),
            (_secret(handle="88.118.77/ADMIN"), ResponseCode.AUTHENTICATION_FAILED),
            (_secret(handle="88.118.9/ADMIN", secret=b"beta-password"), ResponseCode.INVALID_ADMIN),
        ]:
            with pytest.raises(HandleError) as refused:
                await AdminClient(client, auth).create("88.118.8/F1", [URL])
            assert refused.value.code == code, auth
    assert (await _rest(node, "GET", "/api/handles/88.118.8/F1")).status_code == 404


async def test_a_registered_public_key_authenticates_and_another_key_does_not(node: Node) -> None:
    async with node.client() as client:
        await AdminClient(client, PrivateKeyAuth(ADMIN, 301, node.key)).create("88.118.8/K1", [URL])
        other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
        with pytest.raises(HandleError) as refused:
            await AdminClient(client, PrivateKeyAuth(ADMIN, 301, other)).create(
                "88.118.8/K2", [URL]
            )
        assert refused.value.code == ResponseCode.AUTHENTICATION_FAILED
        # Index 0: any of the identity's HS_PUBKEY values.
        await AdminClient(client, PrivateKeyAuth(ADMIN, 0, node.key)).create("88.118.8/K3", [URL])
        with pytest.raises(HandleError) as no_secret:
            await AdminClient(client, _secret(index=301)).create("88.118.8/K4", [URL])
        assert no_secret.value.code == ResponseCode.AUTHENTICATION_FAILED
        assert "no secret" in no_secret.value.message
    assert (await _rest(node, "GET", "/api/handles/88.118.8/K1")).status_code == 200
    assert (await _rest(node, "GET", "/api/handles/88.118.8/K3")).status_code == 200
    assert (await _rest(node, "GET", "/api/handles/88.118.8/K2")).status_code == 404


async def _challenge(client: HandleClient) -> tuple[int, bytes, bytes]:
    body = encode_values_request(ValuesRequest("88.118.8/C1", (URL,)))
    (reply,) = await client.request(OpCode.CREATE_HANDLE, body)
    assert reply.code == ResponseCode.AUTHENTICATION_NEEDED
    return reply.envelope.session_id, decode_challenge(reply.reader()), reply.digest[1:]


async def test_replayed_expired_and_unknown_session_answers_are_refused(node: Node) -> None:
    auth = _secret()
    async with node.client() as client:
        session, nonce, digest = await _challenge(client)
        answer = encode_challenge_answer(
            ChallengeAnswer("HS_SECKEY", ADMIN, 300, auth.sign(nonce, digest))
        )
        (first,) = await client.request(OpCode.RESPONSE_TO_CHALLENGE, answer, session_id=session)
        assert first.code == ResponseCode.SUCCESS
        assert first.message.header.opcode == OpCode.CREATE_HANDLE
        (again,) = await client.request(OpCode.RESPONSE_TO_CHALLENGE, answer, session_id=session)
        assert again.code == ResponseCode.AUTHEN_TIMEOUT
        (unknown,) = await client.request(OpCode.RESPONSE_TO_CHALLENGE, answer, session_id=12345)
        assert unknown.code == ResponseCode.AUTHEN_TIMEOUT
        challenges = node.native.authenticator.challenges
        session, nonce, digest = await _challenge(client)
        challenges.ttl = 0.0
        try:
            await asyncio.sleep(0.01)
            late = encode_challenge_answer(
                ChallengeAnswer("HS_SECKEY", ADMIN, 300, auth.sign(nonce, digest))
            )
            (expired,) = await client.request(
                OpCode.RESPONSE_TO_CHALLENGE, late, session_id=session
            )
        finally:
            challenges.ttl = 20.0
        assert expired.code == ResponseCode.AUTHEN_TIMEOUT
        # A MAC over another nonce (a bad MAC) fails.
        session, nonce, digest = await _challenge(client)
        bad = encode_challenge_answer(
            ChallengeAnswer("HS_SECKEY", ADMIN, 300, auth.sign(bytes(16), digest))
        )
        (failed,) = await client.request(OpCode.RESPONSE_TO_CHALLENGE, bad, session_id=session)
        assert failed.code == ResponseCode.AUTHENTICATION_FAILED


async def test_the_idis_login_authenticates_one_tcp_connection(node: Node) -> None:
    private = HandleValue(3, "NOTE", "string", "internal", permissions=Permissions.parse("1100"))
    async with node.client() as client, node.client() as other:
        admin = AdminClient(client, _secret())
        await admin.login()
        # No challenge on this connection any more: a bare request succeeds.
        body_client = AdminClient(client, _secret(secret=b"not used after login"))
        await body_client.create("88.118.8/I1", [URL, private])
        everything = await client.resolve("88.118.8/I1", public_only=False)
        assert {v.index for v in everything.values} >= {1, 3}
        public = await client.resolve("88.118.8/I1")
        assert 3 not in {v.index for v in public.values}
        anonymous = await other.resolve("88.118.8/I1", public_only=False)
        assert 3 not in {v.index for v in anonymous.values}
        # Another enterprise's non-public values stay hidden from this login.
        beta = {
            "values": [
                {"index": 1, "type": "URL", "data": "https://beta.example"},
                {"index": 3, "type": "NOTE", "data": "beta only", "permissions": "1100"},
            ]
        }
        async with httpx.AsyncClient(
            base_url=node.url, auth=("300%3A88.118.9%2FADMIN", "beta-password")
        ) as http:
            assert (await http.put("/api/handles/88.118.9/B1", json=beta)).status_code == 201
        foreign = await client.resolve("88.118.9/B1", public_only=False)
        assert 1 in {v.index for v in foreign.values}
        assert 3 not in {v.index for v in foreign.values}
        with pytest.raises(HandleError) as refused:
            await AdminClient(other, _secret(secret=b"wrong")).delete("88.118.8/I1")
        assert refused.value.code == ResponseCode.AUTHENTICATION_FAILED


async def test_challenge_and_answer_over_udp(node: Node) -> None:
    async with node.client(udp=True) as client:
        await AdminClient(client, _secret()).create("88.118.8/U1", [URL])
        resolved = await client.resolve("88.118.8/U1")
    assert [v.index for v in resolved.values if v.type == b"URL"] == [1]


def hdl(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "node", "hdl", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


async def test_the_command_line_registers_changes_lists_and_deletes(
    node: Node, tmp_path: Path
) -> None:
    port = ["--port", str(node.port), "--auth", "300:88.118.8/ADMIN"]
    created = await asyncio.to_thread(
        hdl,
        "create",
        "88.118.8/CLI-1",
        "--value",
        "1:URL:https://example.com/a:b",
        *port,
        "--secret",
        PASSWORD,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "created 88.118.8/CLI-1"
    response = await _rest(node, "GET", "/api/handles/88.118.8/CLI-1")
    assert response.json()["values"][0]["data"]["value"] == "https://example.com/a:b"
    secret_env = {"IDNODE_HDL_SECRET": PASSWORD}
    added = await asyncio.to_thread(
        hdl,
        "add",
        "88.118.8/CLI-1",
        "--value",
        "2:EMAIL:qa@example.com",
        *port,
        "--json",
        env=secret_env,
    )
    assert json.loads(added.stdout)["responseCode"] == 1, added.stderr
    listed = await asyncio.to_thread(hdl, "list", "88.118.8", *port, "--json", env=secret_env)
    assert "88.118.8/CLI-1" in json.loads(listed.stdout)["result"]
    removed = await asyncio.to_thread(
        hdl, "remove", "88.118.8/CLI-1", "--index", "2", *port, env=secret_env
    )
    assert removed.returncode == 0, removed.stderr
    wrong = await asyncio.to_thread(
        hdl, "delete", "88.118.8/CLI-1", *port, "--secret", "wrong", "--json"
    )
    assert wrong.returncode == 1
    assert json.loads(wrong.stdout)["responseCode"] == ResponseCode.AUTHENTICATION_FAILED
    key_file = tmp_path / "key.pem"
    key_file.write_bytes(
        node.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    by_key = await asyncio.to_thread(
        hdl,
        "delete",
        "88.118.8/CLI-1",
        "--port",
        str(node.port),
        "--auth",
        "301:88.118.8/ADMIN",
        "--key",
        str(key_file),
    )
    assert by_key.returncode == 0, by_key.stdout + by_key.stderr
    assert (await _rest(node, "GET", "/api/handles/88.118.8/CLI-1")).status_code == 404
    bad_value = await asyncio.to_thread(hdl, "create", "88.118.8/CLI-2", "--value", "URL", *port)
    assert bad_value.returncode == 1 and "INDEX:TYPE:DATA" in bad_value.stderr + bad_value.stdout


async def test_the_admin_api_registers_a_key_that_then_authenticates(node: Node) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=node.url, headers=headers) as http:
        made = await http.post(
            "/admin/credentials/keys", json={"prefix": "88.118.8", "publicKey": pem.decode()}
        )
        assert made.status_code == 201, made.text
        username = made.json()["username"]
        bad = await http.post(
            "/admin/credentials/keys", json={"prefix": "88.118.8", "publicKey": "nope"}
        )
        assert bad.status_code == 400 and "PEM" in bad.text
        anonymous = await http.post(
            "/admin/credentials/keys",
            json={"prefix": "88.118.8", "publicKey": pem.decode()},
            headers={"Authorization": "Bearer wrong"},
        )
        assert anonymous.status_code in (401, 403)
    index = int(username.partition(":")[0])
    async with node.client() as client:
        await AdminClient(client, PrivateKeyAuth(ADMIN, index, key)).create("88.118.8/K9", [URL])
    assert (await _rest(node, "GET", "/api/handles/88.118.8/K9")).status_code == 200


@dataclass(frozen=True)
class Sm2SdkAuth:
    """Answers as the IDIS SDK does for an SM2 key: SM2 over SM3(nonce || digest), user id =
    the identity's handle, hash id "SM3" (``PublicKeyAuthenticationInfo.authenticate``)."""

    handle: str
    index: int
    key: SM2Key
    auth_type: str = "HS_PUBKEY"

    def sign(self, nonce: bytes, digest: bytes) -> bytes:
        signature = self.key.sign(sm3(nonce + digest), self.handle.encode())
        return encode_public_answer(PublicAnswer("SM3", signature))


async def test_an_sm2_key_registered_over_the_admin_api_authenticates_as_the_idis_sdk_answers(
    node: Node,
) -> None:
    key = SM2Key.generate()
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=node.url, headers=headers) as http:
        made = await http.post(
            "/admin/credentials/keys",
            json={"prefix": "88.118.8", "publicKey": key.public.pem().decode()},
        )
    assert made.status_code == 201, made.text
    index = int(made.json()["username"].partition(":")[0])
    async with node.client() as client:
        await AdminClient(client, Sm2SdkAuth(ADMIN, index, key)).create("88.118.8/S1", [URL])
        # Index 0 tries each HS_PUBKEY, the RSA one and the SM2 one.
        await AdminClient(client, Sm2SdkAuth(ADMIN, 0, key)).create("88.118.8/S2", [URL])
        for auth in (
            Sm2SdkAuth(ADMIN, index, SM2Key.generate()),  # another key
            Sm2SdkAuth("88.118.8/OTHER", index, key),  # signed for another user id
        ):
            with pytest.raises(HandleError) as refused:
                await AdminClient(client, auth).create("88.118.8/S3", [URL])
            assert refused.value.code in (
                ResponseCode.AUTHENTICATION_FAILED,
                ResponseCode.HANDLE_NOT_FOUND,
            ), auth
    assert (await _rest(node, "GET", "/api/handles/88.118.8/S1")).status_code == 200
    assert (await _rest(node, "GET", "/api/handles/88.118.8/S2")).status_code == 200
    assert (await _rest(node, "GET", "/api/handles/88.118.8/S3")).status_code == 404


def _mutate(rng: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        position = rng.randrange(len(buf) + 1)
        action = rng.randrange(4)
        if action == 0 and buf:
            buf[min(position, len(buf) - 1)] = rng.randrange(256)
        elif action == 1:
            del buf[position : position + rng.randint(1, 6)]
        elif action == 2:
            buf[position:position] = rng.randbytes(rng.randint(1, 6))
        elif len(buf) >= position + 4:
            buf[position : position + 4] = rng.choice([b"\xff\xff\xff\xff", b"\x00\x00\x00\x07"])
    return bytes(buf)


async def test_fuzzed_admin_and_auth_bodies_get_decodable_answers_never_an_internal_error(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    rng = random.Random(2001)
    values = encode_values_request(ValuesRequest("88.118.8/FZ", (URL, EMAIL)))
    seeds = [
        (OpCode.CREATE_HANDLE, values),
        (OpCode.ADD_VALUE, values),
        (OpCode.MODIFY_VALUE, values),
        (OpCode.REMOVE_VALUE, encode_remove_values(RemoveValues("88.118.8/FZ", (1, 2)))),
        (OpCode.DELETE_HANDLE, b"\x00\x00\x00\x0b88.118.8/FZ"),
        (OpCode.LIST_HANDLES, b"\x00\x00\x00\x0d0.NA/88.118.8"),
        (OpCode.LOGIN_ID_SYSTEM, encode_login(LoginRequest(ADMIN, 300))),
        (
            OpCode.RESPONSE_TO_CHALLENGE,
            encode_challenge_answer(ChallengeAnswer("HS_SECKEY", ADMIN, 300, b"\x22" + bytes(40))),
        ),
    ]
    deadline = time.monotonic() + 20.0
    codes: set[int] = set()
    with caplog.at_level(logging.ERROR, logger="idnode.native"):
        async with node.client() as logged_in, node.client(udp=True) as udp:
            await AdminClient(logged_in, _secret()).login()
            for case in range(300):
                if time.monotonic() > deadline:
                    break
                opcode, body = rng.choice(seeds)
                client = udp if case % 5 == 0 else logged_in
                session = rng.choice((0, 1, 2**31 - 1))
                replies = await client.request(opcode, _mutate(rng, body), session_id=session)
                for reply in replies:
                    codes.add(reply.code)
                    if reply.code != ResponseCode.SUCCESS:
                        assert isinstance(native.decode_error(reply.reader()), str)
            # Still serving, and still logged in.
            await AdminClient(logged_in, _secret(secret=b"x")).create("88.118.8/FZ-after", [URL])
    assert ResponseCode.ERROR not in codes
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(codes) > 3, codes


async def test_failed_answers_are_throttled_like_failed_logins(node: Node) -> None:
    async with node.client() as client:
        wrong = AdminClient(client, _secret(secret=b"guess"))
        for _ in range(10):
            with pytest.raises(HandleError) as failed:
                await wrong.delete("88.118.8/ADMIN")
            assert failed.value.code == ResponseCode.AUTHENTICATION_FAILED
        with pytest.raises(HandleError) as throttled:
            await AdminClient(client, _secret()).create("88.118.8/T1", [URL])
        assert throttled.value.code == ResponseCode.AUTHENTICATION_FAILED
        assert "too many failed logins" in throttled.value.message
    # The same limits as HTTP Basic: the password is throttled there too now.
    assert (await _rest(node, "GET", "/api/handles/88.118.8/T1")).status_code == 429
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=node.url, headers=headers) as http:
        assert (await http.get("/api/handles/88.118.8/T1")).status_code == 404


async def test_the_id_pointer_sdk_login_sequence_byte_for_byte(node: Node) -> None:
    """GET_SITE_INFO, 2001 with RRDG (SHA-256 digest), the 402, the answer with RRDG, then
    admin requests under the SDK's own session id (10001) with no credential, on one socket."""
    sdk = 10001
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    try:

        async def exchange(
            opcode: int, body: bytes, request_id: int, session: int = sdk, flags: int = 0
        ) -> tuple[native.Envelope, native.Message]:
            writer.write(
                request_bytes(opcode, body, flags=flags, request_id=request_id, session_id=session)
            )
            await writer.drain()
            envelope, message = await read_answer(reader)
            assert envelope.request_id == request_id
            return envelope, message

        _, site = await exchange(OpCode.GET_SITE_INFO, native.encode_handle_request(b"/"), 1)
        assert site.header.response_code == ResponseCode.SUCCESS
        envelope, challenge = await exchange(
            OpCode.LOGIN_ID_SYSTEM, encode_login(LoginRequest(ADMIN, 300)), 2, flags=OpFlag.RRDG
        )
        assert challenge.header.response_code == ResponseCode.AUTHENTICATION_NEEDED
        assert challenge.header.opcode == OpCode.LOGIN_ID_SYSTEM
        digest, rest = native.split_digest(challenge)
        # SHA-256 of the login as received; the MAC below only passes over that digest.
        assert digest[0] == 3 and len(digest) == 33
        session = envelope.session_id
        assert session not in (0, sdk)
        signed = _secret().sign(decode_challenge(rest), digest[1:])
        answer = encode_challenge_answer(ChallengeAnswer("HS_SECKEY", ADMIN, 300, signed))
        _, logged_in = await exchange(
            OpCode.RESPONSE_TO_CHALLENGE, answer, 3, session=session, flags=OpFlag.RRDG
        )
        assert logged_in.header.response_code == ResponseCode.SUCCESS
        # Answered as the login it released (Handle.Net's server does the same): its opcode,
        # and the login's digest.
        assert logged_in.header.opcode == OpCode.LOGIN_ID_SYSTEM
        assert native.split_digest(logged_in)[0] == digest
        body = encode_values_request(ValuesRequest("88.118.8/SDK-1", (URL,)))
        created_envelope, created = await exchange(OpCode.CREATE_HANDLE, body, 4)
        assert created.header.response_code == ResponseCode.SUCCESS
        assert created_envelope.session_id == sdk
    finally:
        writer.close()
    assert (await _rest(node, "GET", "/api/handles/88.118.8/SDK-1")).status_code == 200


async def test_verify_challenge_tells_another_server_whether_an_answer_is_right(
    node: Node,
) -> None:
    nonce, digest = bytes(range(16)), bytes(32)
    good = _secret().sign(nonce, digest)
    async with node.client() as client:
        for signed, expected in ((good, True), (_secret(secret=b"bad").sign(nonce, digest), False)):
            body = encode_verify_request(VerifyRequest(ADMIN, 300, nonce, 3, digest, signed))
            (reply,) = await client.request(OpCode.VERIFY_CHALLENGE, body)
            assert reply.code == ResponseCode.SUCCESS
            assert decode_verify_response(reply.reader()) is expected


async def test_a_record_key_identity_may_do_what_hs_admin_grants_it_directly_or_by_group(
    node: Node,
) -> None:
    def admin_value(handle: str, index: int, perms: AdminPerm) -> dict[str, object]:
        data = {"handle": handle, "index": index, "permissions": perms.bits()}
        return {"index": 100, "type": "HS_ADMIN", "data": {"format": "admin", "value": data}}

    url = {"index": 1, "type": "URL", "data": "https://example.com/shared"}
    records = {
        "88.118.8/alice": [{"index": 300, "type": "HS_SECKEY", "data": "alice-secret"}],
        "88.118.8/team": [
            {
                "index": 200,
                "type": "HS_VLIST",
                "data": {"format": "vlist", "value": [{"handle": "88.118.8/alice", "index": 300}]},
            }
        ],
        "88.118.8/shared": [url, admin_value("88.118.8/alice", 300, AdminPerm.MODIFY_VALUE)],
        "88.118.8/by-team": [url, admin_value("88.118.8/team", 200, AdminPerm.DELETE_HANDLE)],
        "88.118.8/other": [url],
    }
    for handle, values in records.items():
        response = await _rest(node, "PUT", f"/api/handles/{handle}", json={"values": values})
        assert response.status_code == 201, response.text
    alice = SecretKeyAuth("88.118.8/alice", 300, b"alice-secret")
    changed = HandleValue(1, "URL", "string", "https://example.com/changed")
    async with node.client() as client:
        admin = AdminClient(client, alice)
        await admin.modify_values("88.118.8/shared", [changed])
        for call in (
            admin.delete("88.118.8/shared"),  # no DELETE_HANDLE bit there
            admin.modify_values("88.118.8/other", [changed]),  # no HS_ADMIN names her
            admin.create("88.118.8/new", [URL]),  # 0.NA/88.118.8 grants her nothing
        ):
            with pytest.raises(HandleError) as refused:
                await call
            assert refused.value.code == ResponseCode.INVALID_ADMIN
        await admin.delete("88.118.8/by-team")  # through the team's HS_VLIST
        with pytest.raises(HandleError) as wrong:
            await AdminClient(client, replace(alice, secret=b"nope")).delete("88.118.8/other")
        assert wrong.value.code == ResponseCode.AUTHENTICATION_FAILED
    shared = (await _rest(node, "GET", "/api/handles/88.118.8/shared")).json()
    assert shared["values"][0]["data"]["value"] == "https://example.com/changed"
    assert (await _rest(node, "GET", "/api/handles/88.118.8/by-team")).status_code == 404
    assert (await _rest(node, "GET", "/api/handles/88.118.8/other")).status_code == 200
