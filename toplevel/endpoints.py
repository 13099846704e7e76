"""The top-level node's HTTP API: directory, onboarding, sync intake, read API, fault switches."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC
from typing import Any

import orjson
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from registry import (
    Certificate,
    Conflict,
    EntityNotFound,
    Handle,
    HandleNotFound,
    HandleValue,
    InvalidInput,
    InvalidValue,
    Prefix,
    Unauthenticated,
    utc_timestamp,
)

from .faults import Faults
from .models import NodeRow
from .responses import json_response
from .schemas import BatchIn, FaultsIn, NodeRegistration, StatsIn
from .store import Change, TopLevelStore

__all__ = ["Certify", "router"]

# The root CA's "certify this node's key at this index" (``RootAuthority.certify_node``), if any.
Certify = Callable[[str, dict[str, Any], int], str]

router = APIRouter()

_JWK_MEMBERS = {"EC": ("crv", "x", "y"), "OKP": ("crv", "x"), "RSA": ("n", "e")}


def _store(request: Request) -> TopLevelStore:
    return request.app.state.store


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send 'Authorization: Bearer <token>'")
    return token.strip()


async def _node_code(request: Request, code: str) -> str:
    """The node code of the path, once the caller proved it is that node."""
    parsed = str(Prefix.parse(code))
    if await _store(request).node_for_token(parsed, _hash(_bearer(request))) is None:
        raise Unauthenticated(f"the token is not the sync token of node {parsed}")
    return parsed


def _check_jwk(key: dict[str, Any]) -> None:
    members = _JWK_MEMBERS.get(key.get("kty", ""))
    if members is None:
        raise InvalidInput(f"publicKey must be a JWK with kty one of {sorted(_JWK_MEMBERS)}")
    missing = [m for m in members if not isinstance(key.get(m), str)]
    if missing:
        raise InvalidInput(f"publicKey ({key['kty']}) lacks the members {missing}")
    if "d" in key:
        raise InvalidInput("publicKey holds a private key ('d'); send only the public part")


@router.get("/healthz", tags=["Operations"])
async def healthz(request: Request) -> Response:
    await _store(request).db.ping()
    return json_response({"status": "ok", "role": "toplevel"})


@router.get("/api/handles/{handle:path}", tags=["Prefix directory"])
async def resolve(handle: str, request: Request) -> Response:
    """A prefix directory entry ``0.NA/<prefix>`` in Handle REST form."""
    parsed = Handle.parse(handle)
    if str(parsed.prefix) != "0.NA":
        raise HandleNotFound(
            f"the top-level node holds only the prefix directory (0.NA/<prefix>), not {parsed}",
            handle=str(parsed),
        )
    prefix = str(Prefix.parse(parsed.suffix))
    entry = await _store(request).directory_entry(prefix)
    if entry is None:
        raise HandleNotFound(f"prefix {prefix} is not in the directory", handle=str(parsed))
    values = _directory_values(entry)
    return json_response(
        {"responseCode": 1, "handle": f"0.NA/{prefix}", "values": [v.to_json() for v in values]}
    )


def _directory_values(node: NodeRow) -> list[HandleValue]:
    """HS_ADMIN, the serving node as HS_SITE, its key as HS_PUBKEY and, if issued, HS_CERT."""
    code, registered_at = node.code, node.registered_at
    if registered_at.tzinfo is None:
        registered_at = registered_at.replace(tzinfo=UTC)
    stamp = utc_timestamp(registered_at)
    values = [
        HandleValue(
            100,
            "HS_ADMIN",
            "admin",
            {"handle": f"0.NA/{code}", "index": 300, "permissions": "011111110011"},
        ),
        HandleValue(1, "HS_SITE", "site", {"baseUrl": node.base_url, "nodeCode": code}),
        HandleValue(
            _key_index(node.certificate), "HS_PUBKEY", "key", orjson.loads(node.public_key)
        ),
    ]
    if node.certificate:
        values.append(HandleValue(400, "HS_CERT", "string", node.certificate))
    return [value.stamped(stamp) for value in values]


@router.get("/root", tags=["Onboarding"])
async def root_certificate(request: Request) -> Response:
    """The root CA's self-signed certificate, which verifiers trust (``idnode verify --root``)."""
    certificate: str | None = request.app.state.root_certificate
    if certificate is None:
        raise EntityNotFound("this top-level node runs without a root certificate authority")
    return json_response({"id": request.app.state.root_id, "certificate": certificate})


def _key_index(certificate: str | None) -> int:
    """The HS_PUBKEY index the root certified the key at (its ``sub``, ``301:0.NA/…``), else 300."""
    try:
        index = Certificate.parse(certificate).sub.partition(":")[0] if certificate else ""
    except (InvalidValue, ValueError, TypeError):
        index = ""
    return int(index) if index.isdigit() else 300


@router.post("/nodes", tags=["Onboarding"], status_code=201)
async def register_node(body: NodeRegistration, request: Request) -> Response:
    """Onboard a secondary node with the bootstrap credential; returns its sync token."""
    bootstrap: str = request.app.state.bootstrap_token
    if not hmac.compare_digest(_bearer(request).encode(), bootstrap.encode()):
        raise Unauthenticated("the bootstrap credential is wrong")
    code = Prefix.parse(body.nodeCode)
    if len(code.segments) != 2 or code.segments[0] != "88":
        raise InvalidInput(f"node code {code} must be a code under 88, such as 88.118")
    _check_jwk(body.publicKey)
    token = secrets.token_urlsafe(32)
    certify: Certify | None = request.app.state.certify
    certificate = None if certify is None else certify(str(code), body.publicKey, body.keyIndex)
    created = await _store(request).register_node(
        str(code), body.baseUrl.rstrip("/"), body.publicKey, _hash(token), certificate
    )
    return json_response(
        {"nodeCode": str(code), "token": token, "certificate": certificate},
        201 if created else 200,
    )


@router.get("/nodes", tags=["Read API"])
async def list_nodes(request: Request) -> Response:
    return json_response({"nodes": await _store(request).nodes()})


@router.get("/nodes/{code}", tags=["Read API"])
async def show_node(code: str, request: Request) -> Response:
    return json_response(await _store(request).node(str(Prefix.parse(code))))


@router.get("/nodes/{code}/changes", tags=["Read API"])
async def list_changes(
    code: str,
    request: Request,
    after: int = Query(0, ge=0),
    limit: int = Query(1000, ge=1, le=10_000),
) -> Response:
    """The journal of applied changes of a node, oldest first."""
    changes = await _store(request).changes(str(Prefix.parse(code)), after, limit)
    return json_response({"changes": changes})


@router.post("/nodes/{code}/batches", tags=["Sync intake"])
async def receive_batch(code: str, body: BatchIn, request: Request) -> Response:
    """Apply a sync batch exactly once; a repeated sequence number is acknowledged, not reapplied."""
    node_code = await _node_code(request, code)
    changes = [Change(c.id, c.kind, c.subject, c.payload) for c in body.changes]
    result = await _store(request).apply_batch(node_code, body.seq, changes)
    return json_response(result.as_dict())


@router.post("/nodes/{code}/stats", tags=["Sync intake"], status_code=204)
async def receive_stats(code: str, body: StatsIn, request: Request) -> Response:
    node_code = await _node_code(request, code)
    await _store(request).add_stats(node_code, body.model_dump(exclude_none=True))
    return Response(status_code=204)


@router.get("/copies/{handle:path}", tags=["Read API"])
async def show_copy(handle: str, request: Request) -> Response:
    """The recovery copy of a record, as its node last shipped it."""
    return json_response(await _store(request).copy(str(Handle.parse(handle))))


@router.get("/faults", tags=["Fault switches"])
async def show_faults(request: Request) -> Response:
    return json_response(request.app.state.faults.as_dict())


@router.put("/faults", tags=["Fault switches"])
async def set_faults(body: FaultsIn, request: Request) -> Response:
    """Switch latency, the error or lost-answer rate, or refuse connections for some seconds."""
    faults: Faults = request.app.state.faults
    if body.refuseConnectionsSeconds is not None and faults.refuse is None:
        raise Conflict("refusing connections needs the top-level run as `idnode toplevel`")
    if body.latencyMs is not None:
        faults.latency_ms = body.latencyMs
    if body.errorRate is not None:
        faults.error_rate = body.errorRate
    if body.lostAnswerRate is not None:
        faults.lost_answer_rate = body.lostAnswerRate
    if body.refuseConnectionsSeconds is not None and faults.refuse is not None:
        await faults.refuse(body.refuseConnectionsSeconds)
    return json_response(faults.as_dict())
