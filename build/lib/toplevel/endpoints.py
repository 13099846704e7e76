"""The top-level node's HTTP API: directory, onboarding, sync intake, read API, fault switches."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import orjson
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import Response

from httpapi import json_response
from registry import (
    Conflict,
    EntityNotFound,
    Forbidden,
    Handle,
    HandleNotFound,
    HandleValue,
    InvalidInput,
    InvalidValue,
    Permissions,
    Prefix,
    Unauthenticated,
    codec,
    utc_timestamp,
)
from registry.trust import Certificate, check_registration

from .faults import Faults
from .models import NodeCertificateRow, NodeRow
from .schemas import BatchIn, FaultsIn, NodeRegistration, StatsIn
from .store import FIRST_CERT_INDEX, Change, TopLevelStore

__all__ = ["Caller", "Certify", "router"]

# The root CA's "certify this node's key at this index" (``RootAuthority.certify_node``), if any.
Certify = Callable[[str, dict[str, Any], int], str]

router = APIRouter()

# A value stored without permissions was shipped before they were kept: the default, public.
_DEFAULT_PERMISSIONS = str(Permissions())
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


def _is_operator(request: Request, token: str) -> bool:
    operator: str | None = request.app.state.operator_token
    return operator is not None and hmac.compare_digest(token.encode(), operator.encode())


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: the operator, or the node whose sync token was sent."""

    operator: bool
    node_code: str | None = None

    def may_read(self, node_code: str) -> bool:
        """Everything a node shipped is readable by the operator and by that node."""
        return self.operator or self.node_code == node_code

    def require(self, node_code: str) -> None:
        if not self.may_read(node_code):
            raise Forbidden(f"only node {node_code} and the operator may read this")


async def _caller(request: Request) -> Caller:
    """The caller of the read API, by the operator token or a node's sync token."""
    token = _bearer(request)
    if _is_operator(request, token):
        return Caller(operator=True)
    code = await _store(request).node_for_token(_hash(token))
    if code is None:
        raise Unauthenticated("the token is neither the operator token nor a node's sync token")
    return Caller(operator=False, node_code=code)


def _operator(request: Request) -> None:
    """Pass only the operator (``IDNODE_TOPLEVEL_OPERATOR_TOKEN``)."""
    if request.app.state.operator_token is None:
        raise Unauthenticated(
            "this top-level node has no operator token: set IDNODE_TOPLEVEL_OPERATOR_TOKEN"
        )
    if not _is_operator(request, _bearer(request)):
        raise Unauthenticated("the operator token is wrong")


async def _node_code(request: Request, code: str) -> str:
    """The node code of the path, once the caller proved it is that node."""
    parsed = str(Prefix.parse(code))
    if await _store(request).node_for_token(_hash(_bearer(request))) != parsed:
        raise Unauthenticated(f"the token is not the sync token of node {parsed}")
    return parsed


def _publicly_readable(value: Any) -> bool:
    try:
        return Permissions.parse(value.get("permissions", _DEFAULT_PERMISSIONS)).public_read
    except (AttributeError, InvalidValue):
        return False


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
    store = _store(request)
    values = _directory_values(
        entry, await store.certificates(entry.code), await store.dns_frontend(entry.code)
    )
    return Response(codec.values_body(f"0.NA/{prefix}", values), media_type="application/json")


def _directory_values(
    node: NodeRow,
    certificates: Sequence[NodeCertificateRow],
    dns: dict[str, Any] | None = None,
) -> list[HandleValue]:
    """HS_ADMIN, the serving node as HS_SITE, its keys as HS_PUBKEY and their HS_CERTs.

    A node that registered a DNS frontend has it in its HS_SITE as ``dns`` (other nodes' DNS
    frontends refer to it: ``resolver.Delegation``).

    Every unexpired certificate stays, each with its key: a rotation must not break the
    verification of records the older keys signed.
    """
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
        HandleValue(
            1,
            "HS_SITE",
            "site",
            {"baseUrl": node.base_url, "nodeCode": code, **({"dns": dns} if dns else {})},
        ),
    ]
    keys = {row.key_index: orjson.loads(row.public_key) for row in certificates}
    keys[_key_index(node.certificate)] = orjson.loads(node.public_key)
    values += [HandleValue(index, "HS_PUBKEY", "key", jwk) for index, jwk in sorted(keys.items())]
    values += [
        HandleValue(row.value_index, "HS_CERT", "string", row.certificate) for row in certificates
    ]
    legacy = node.certificate
    if legacy and all(row.certificate != legacy for row in certificates) and not _expired(legacy):
        # Issued before the top-level kept one certificate per key: published as it was.
        index = max((row.value_index for row in certificates), default=FIRST_CERT_INDEX - 1) + 1
        values.append(HandleValue(index, "HS_CERT", "string", legacy))
    return [value.stamped(stamp) for value in values]


@router.get("/root", tags=["Onboarding"])
async def root_certificate(request: Request) -> Response:
    """The root CA's self-signed certificate, which verifiers trust (``idnode verify --root``)."""
    certificate: str | None = request.app.state.root_certificate
    if certificate is None:
        raise EntityNotFound("this top-level node runs without a root certificate authority")
    return json_response({"id": request.app.state.root_id, "certificate": certificate})


def _expired(certificate: str) -> bool:
    try:
        return Certificate.parse(certificate).exp <= time.time()
    except (InvalidValue, ValueError, TypeError):
        return False


def _key_index(certificate: str | None) -> int:
    """The HS_PUBKEY index the root certified the key at (its ``sub``, ``301:0.NA/…``), else 300."""
    try:
        index = Certificate.parse(certificate).sub.partition(":")[0] if certificate else ""
    except (InvalidValue, ValueError, TypeError):
        index = ""
    return int(index) if index.isdigit() else 300


@router.post("/nodes", tags=["Onboarding"], status_code=201)
async def register_node(body: NodeRegistration, request: Request) -> Response:
    """Onboard a secondary node with the bootstrap credential; returns its sync token.

    A node already registered re-registers (a new key, site or token) only with a ``proof``
    signed by its current key; the operator token re-registers it without one (a lost key).
    """
    token = _bearer(request)
    forced = _is_operator(request, token)
    bootstrap: str = request.app.state.bootstrap_token
    if not forced and not hmac.compare_digest(token.encode(), bootstrap.encode()):
        raise Unauthenticated("the bootstrap credential is wrong")
    code = Prefix.parse(body.nodeCode)
    if len(code.segments) != 2 or code.segments[0] != "88":
        raise InvalidInput(f"node code {code} must be a code under 88, such as 88.118")
    _check_jwk(body.publicKey)
    store = _store(request)
    current = await store.node_key(str(code))
    proof = None
    if current is not None and not forced:
        proof = check_registration(
            body.proof,
            orjson.loads(current),
            str(code),
            body.baseUrl,
            body.publicKey,
            body.keyIndex,
        )
    sync_token = secrets.token_urlsafe(32)
    certify: Certify | None = request.app.state.certify
    certificate = None if certify is None else certify(str(code), body.publicKey, body.keyIndex)
    created = await store.register_node(
        str(code),
        body.baseUrl.rstrip("/"),
        body.publicKey,
        _hash(sync_token),
        certificate,
        replaces=current,
        proof=proof,
        force=forced,
        dns=None if body.dns is None else body.dns.model_dump(),
    )
    return json_response(
        {"nodeCode": str(code), "token": sync_token, "certificate": certificate},
        201 if created else 200,
    )


@router.get("/nodes", tags=["Read API"])
async def list_nodes(request: Request) -> Response:
    """Every registered node (the operator only)."""
    _operator(request)
    return json_response({"nodes": await _store(request).nodes()})


@router.get("/nodes/{code}", tags=["Read API"])
async def show_node(code: str, request: Request) -> Response:
    """One node's summary (the operator, or the node itself)."""
    caller = await _caller(request)
    node_code = str(Prefix.parse(code))
    caller.require(node_code)
    return json_response(await _store(request).node(node_code))


@router.get("/nodes/{code}/changes", tags=["Read API"])
async def list_changes(
    code: str,
    request: Request,
    after: int = Query(0, ge=0),
    limit: int = Query(1000, ge=1, le=10_000),
) -> Response:
    """The journal of applied changes of a node, oldest first (the operator, or the node)."""
    caller = await _caller(request)
    node_code = str(Prefix.parse(code))
    caller.require(node_code)
    changes = await _store(request).changes(node_code, after, limit)
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
    """The recovery copy of a record, as its node last shipped it, permissions included.

    The operator and the record's node read every value; another node only the public ones.
    """
    caller = await _caller(request)
    copy = await _store(request).copy(str(Handle.parse(handle)))
    if not caller.may_read(copy["nodeCode"]):
        copy["values"] = [value for value in copy["values"] if _publicly_readable(value)]
    return json_response(copy)


@router.get("/faults", tags=["Fault switches"])
async def show_faults(request: Request) -> Response:
    _operator(request)
    return json_response(request.app.state.faults.as_dict())


@router.put("/faults", tags=["Fault switches"])
async def set_faults(body: FaultsIn, request: Request) -> Response:
    """Switch latency, the error or lost-answer rate, or refuse connections for some seconds."""
    _operator(request)
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
