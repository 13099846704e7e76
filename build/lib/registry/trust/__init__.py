"""Trust: keys, JOSE, certificates, record signing and sealing, verification, secrets; China's
commercial cryptography (SM2, SM3, SM4) in ``registry.trust.gm``.

Everything that signs, verifies, seals or hides something. It builds on the registry's grammar
and values and never touches storage, so a sealing process imports this package alone (with
``cryptography``, ``joserfc`` and ``gmssl-pyx``), not the database layer.
"""

from .certificates import Certificate, Grant, issue_certificate, key_handle
from .cipher import CHINA_TIME, CipherKey, cipher_password
from .credential_key import CREDENTIAL_KEY_FILE, ensure_credential_key
from .gm import SM2Error, SM2PublicKey
from .gm import read_pubkey_blob as read_sm2_pubkey_blob
from .gm import verify_challenge as verify_sm2_challenge
from .jose import ALGORITHMS, check_algorithm, check_public_jwk
from .key_watching import KeyWatchingSigner
from .keys import KeyInfo, KeyStore, SigningKey
from .native_auth import (
    mac_of,
    public_key_data,
    register_public_key_verifier,
    secret_key_forms,
    verify_public_answer,
    verify_secret_answer,
)
from .native_authz import (
    admin_records,
    is_authorized,
    perms_to_add,
    perms_to_modify,
    perms_to_overwrite,
    perms_to_remove,
)
from .possession import RegistrationProof, check_registration, sign_registration
from .sealing import BatchSealer, Sealer, SealingPool, SealItems, seal_each, seal_in_process
from .secretbox import SecretBox
from .signer import RecordSigner
from .verify import DEFAULT_MAX_CHAIN, Fetch, Problem, Verdict, verify_record

__all__ = [
    "ALGORITHMS",
    "CHINA_TIME",
    "CREDENTIAL_KEY_FILE",
    "DEFAULT_MAX_CHAIN",
    "BatchSealer",
    "Certificate",
    "CipherKey",
    "Fetch",
    "Grant",
    "KeyInfo",
    "KeyStore",
    "KeyWatchingSigner",
    "Problem",
    "RecordSigner",
    "RegistrationProof",
    "SM2Error",
    "SM2PublicKey",
    "SealItems",
    "Sealer",
    "SealingPool",
    "SecretBox",
    "SigningKey",
    "Verdict",
    "admin_records",
    "check_algorithm",
    "check_public_jwk",
    "check_registration",
    "cipher_password",
    "ensure_credential_key",
    "is_authorized",
    "issue_certificate",
    "key_handle",
    "mac_of",
    "perms_to_add",
    "perms_to_modify",
    "perms_to_overwrite",
    "perms_to_remove",
    "public_key_data",
    "read_sm2_pubkey_blob",
    "register_public_key_verifier",
    "seal_each",
    "seal_in_process",
    "secret_key_forms",
    "sign_registration",
    "verify_public_answer",
    "verify_record",
    "verify_secret_answer",
    "verify_sm2_challenge",
]
