"""Enterprise credentials on the native protocol: the password is kept sealed so HS_SECKEY
answers can be checked; a registered public key becomes an identity of its own."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from registry import EnterpriseService, EntityNotFound, Handle, InvalidInput, Prefix, RecordService
from registry.codec.native.keys import RsaKey, decode_public_key
from registry.storage import Database
from registry.trust import CipherKey, public_key_data

ADMIN = Handle.parse("88.118.8/ADMIN")


KEY = CipherKey("k")


def _service(db: Database, key: CipherKey | None = KEY) -> EnterpriseService:
    return EnterpriseService(db, RecordService(db), Prefix.parse("88.118"), key)


async def test_an_issued_password_is_kept_for_native_answers(db: Database) -> None:
    service = _service(db)
    _, issued = await service.create("Acme", "88.118.8", password="demo-password")
    found = await service.native_credential(300, ADMIN)
    assert found is not None
    assert found.secret == "demo-password"
    assert found.principal.username == "300:88.118.8/ADMIN"
    assert found.principal.prefixes == frozenset({"88.118.8"})
    assert await service.native_credential(301, ADMIN) is None
    await service.revoke_credential(issued.username)
    assert await service.native_credential(300, ADMIN) is None


async def test_without_a_credential_key_there_is_no_native_secret(db: Database) -> None:
    service = _service(db, None)
    await service.create("Acme", "88.118.8", password="demo-password")
    found = await service.native_credential(300, ADMIN)
    assert found is not None and found.secret is None


async def test_a_registered_public_key_is_a_new_identity_published_in_the_admin_record(
    db: Database,
) -> None:
    service = _service(db)
    await service.create("Acme", "88.118.8", password="demo-password")
    private = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    username = await service.register_public_key("88.118.8", public_key_data(pem))
    assert username == "301:88.118.8/ADMIN"
    record = await service.records.get(ADMIN)
    assert record is not None
    published = {v.index: v for v in record.values}[301]
    assert published.type == "HS_PUBKEY" and published.permissions.public_read
    numbers = private.public_key().public_numbers()
    assert decode_public_key(base64.b64decode(published.value)) == RsaKey(numbers.e, numbers.n)
    found = await service.native_credential(301, ADMIN)
    assert found is not None and found.secret is None
    assert found.principal.prefixes == frozenset({"88.118.8"})
    # The index is a credential's: the next password gets the one after.
    assert (await service.issue_credential("88.118.8")).username == "302:88.118.8/ADMIN"
    await service.revoke_credential(username)
    record = await service.records.get(ADMIN)
    assert record is not None and 301 not in {v.index for v in record.values}
    with pytest.raises(EntityNotFound):
        await service.register_public_key("88.118.99", public_key_data(pem))


def test_only_rsa_dsa_and_sm2_keys_are_accepted() -> None:
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(InvalidInput, match="RSA, DSA or SM2"):
        public_key_data(ec_pem)
    with pytest.raises(InvalidInput, match="not a public key"):
        public_key_data(b"-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")


def test_a_secret_is_sealed_with_the_profiles_cipher_and_opened_under_either() -> None:
    aes, sm4 = CipherKey("k"), CipherKey("k", "SM4")
    under_aes = aes.seal_secret("300:88.118.8/ADMIN", "demo-password")
    under_sm4 = sm4.seal_secret("300:88.118.8/ADMIN", "demo-password")
    assert under_aes.startswith("native1$") and under_sm4.startswith("nativesm4gcm1$")
    for key in (aes, sm4):  # a profile change keeps stored secrets readable
        for stored in (under_aes, under_sm4):
            assert key.open_secret("300:88.118.8/ADMIN", stored) == "demo-password"
            # Bound to its username and to the node's key.
            assert key.open_secret("301:88.118.8/ADMIN", stored) is None
            assert CipherKey("other", "SM4").open_secret("300:88.118.8/ADMIN", stored) is None
    # Bound to its purpose: a cipher-login verifier is not a secret, nor a secret a verifier.
    verifier = sm4.seal("300:88.118.8/ADMIN", "demo-password")
    assert sm4.open_secret("300:88.118.8/ADMIN", verifier) is None
    forged = verifier.replace("sm4gcm1$", "nativesm4gcm1$", 1)
    assert sm4.open_secret("300:88.118.8/ADMIN", forged) is None
    as_verifier = under_sm4.replace("nativesm4gcm1$", "sm4gcm1$", 1)
    assert not sm4.check("300:88.118.8/ADMIN", as_verifier, "anything")
    for broken in ("", "nativesm4gcm1$", "nativesm4gcm1$!!", "sm2$abc", under_sm4[:-4]):
        assert sm4.open_secret("300:88.118.8/ADMIN", broken) is None


async def test_under_the_gm_profile_native_answers_use_the_sm4_sealed_password(
    db: Database,
) -> None:
    service = _service(db, CipherKey("k", "SM4"))
    await service.create("Acme", "88.118.8", password="demo-password")
    found = await service.native_credential(300, ADMIN)
    assert found is not None and found.secret == "demo-password"
