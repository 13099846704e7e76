"""The key store: PKCS#8 PEM files with mode 0600, passphrases, key ids, rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from registry import EntityNotFound, InvalidInput, InvalidValue
from registry.trust import ALGORITHMS, KeyStore


@pytest.mark.parametrize("alg", ALGORITHMS)
def test_generated_keys_are_pkcs8_pem_readable_only_by_the_owner(tmp_path: Path, alg: str):
    store = KeyStore(tmp_path / "keys")
    info = store.generate(alg)
    pem = tmp_path / "keys" / f"{info.kid}.pem"
    assert stat.S_IMODE(pem.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys" / "keys.json").stat().st_mode) == 0o600
    assert pem.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    loaded = store.load(info.kid)
    assert loaded.alg == alg and loaded.public_jwk()["kid"] == info.kid
    assert "d" not in loaded.public_jwk()


def test_es256_is_the_default_and_eddsa_means_ed25519(tmp_path: Path):
    store = KeyStore(tmp_path)
    assert store.generate().alg == "ES256"
    assert store.generate("EdDSA").alg == "Ed25519"
    with pytest.raises(InvalidValue, match="unsupported signing algorithm 'HS256'"):
        store.generate("HS256")


def test_a_passphrase_encrypts_the_key_and_is_needed_to_load_it(tmp_path: Path):
    info = KeyStore(tmp_path, "correct horse").generate()
    assert (
        (tmp_path / f"{info.kid}.pem")
        .read_text()
        .startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    )
    assert KeyStore(tmp_path, "correct horse").load(info.kid).kid == info.kid
    with pytest.raises(InvalidInput, match="IDNODE_KEY_PASSPHRASE"):
        KeyStore(tmp_path).load(info.kid)
    with pytest.raises(InvalidInput, match="cannot be loaded"):
        KeyStore(tmp_path, "wrong").load(info.kid)


def test_rotation_activates_a_new_key_and_keeps_the_old_ones(tmp_path: Path):
    store = KeyStore(tmp_path)
    first = store.generate()
    second = store.generate()
    assert store.active().kid == first.kid  # a second generate does not take over
    third = store.rotate("RS256")
    listed = store.list()
    assert [k.kid for k in listed] == [first.kid, second.kid, third.kid]
    assert [k.index for k in listed] == [300, 301, 302]
    assert [k.active for k in listed] == [False, False, True]
    assert store.active().kid == third.kid


def test_certificates_are_remembered_per_key(tmp_path: Path):
    store = KeyStore(tmp_path)
    info = store.generate()
    store.set_certificate(info.kid, "a.b.c")
    assert store.list()[0].certificate == "a.b.c"
    assert store.list()[0].as_dict()["certified"] is True
    with pytest.raises(EntityNotFound):
        store.set_certificate("nope", "a.b.c")


def test_an_empty_store_has_no_active_key(tmp_path: Path):
    assert KeyStore(tmp_path / "missing").active() is None
    assert KeyStore(tmp_path / "missing").list() == []
