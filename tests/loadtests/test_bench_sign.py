"""The signing benchmark runs end to end on real nodes (tiny sizes; it asserts no timings)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from loadtests.bench_sign import main
from registry import KeyStore
from registry._jose import BadSignature, JwsSigner, read_jws, sign_jws, verify_jws

from ..databases import BACKENDS, postgres_url


@pytest.mark.parametrize("backend", BACKENDS)
async def test_bench_sign_reports_every_algorithm_and_batch_registration_both_ways(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, backend: str
):
    out = tmp_path / "figures.json"
    database = ["--postgres", postgres_url()] if backend == "postgresql" else []
    code = await main(
        ["--seconds", "0.02", "--records", "40", "--rounds", "2", "--batch-size", "10",
         "--clients", "1", "--json", str(out), *database]
    )  # fmt: skip
    assert code == 0
    text = capsys.readouterr().out
    for expected in ("ES256", "Ed25519", "RS256", "batchCreate", "signing off", "signing on"):
        assert expected in text
    assert "goal of at most 25%" in text
    figures = json.loads(out.read_text())
    assert [row["alg"] for row in figures["algorithms"]] == ["ES256", "Ed25519", "RS256"]
    registration = figures["batch_registration"]
    assert registration["database"] == backend
    assert registration["identifiers_per_leg"] == 40
    assert len(registration["off"]["rounds"]) == len(registration["on"]["rounds"]) == 2
    assert registration["off"]["items_per_s"] > 0 and registration["on"]["items_per_s"] > 0
    assert registration["goal"] == 0.25
    assert isinstance(registration["within_goal"], bool)


@pytest.mark.parametrize("alg", ["ES256", "Ed25519", "RS256"])
def test_prepared_signer_makes_the_same_jws_as_sign_jws(tmp_path: Path, alg: str):
    store = KeyStore(tmp_path)
    store.generate(alg)
    key = store.active()
    assert key is not None
    claims = {"sub": "88.118.8/X", "iat": 1, "digests": {"alg": "SHA-256", "digests": []}}
    token = JwsSigner(key.key, key.alg, key.kid)(claims)
    reference = sign_jws(key.key, key.alg, key.kid, claims)
    assert read_jws(token) == read_jws(reference)
    assert token.split(".")[:2] == reference.split(".")[:2]
    assert verify_jws(token, key.public_jwk()) == claims
    # A value's signature fails once the claims are changed, as with sign_jws.
    head, _, signature = token.split(".")
    other = JwsSigner(key.key, key.alg, key.kid)({**claims, "sub": "88.118.8/Y"})
    forged = ".".join([head, other.split(".")[1], signature])
    with pytest.raises(BadSignature):
        verify_jws(forged, key.public_jwk())
