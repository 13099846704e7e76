"""The domain of idnode: identifiers, records, enterprises, credentials, and their storage.

Knows nothing of HTTP. Other packages use only the names listed here.
"""

from . import codec
from ._batch import MAX_BATCH_ITEMS, BatchService, RecordDraft
from ._certs import Certificate, Grant, issue_certificate, key_handle
from ._cipher import CipherKey, cipher_password
from ._credential_key import CREDENTIAL_KEY_FILE, ensure_credential_key
from ._database import Database
from ._enterprises import (
    EnterpriseInfo,
    EnterpriseService,
    IssuedCredential,
    NativeCredential,
    parse_username,
)
from ._errors import (
    AlreadyExists,
    Conflict,
    EntityNotFound,
    Forbidden,
    HandleAlreadyExists,
    HandleNotFound,
    InvalidIdentifier,
    InvalidInput,
    InvalidValue,
    NodeError,
    NotFound,
    PayloadTooLarge,
    TooManyAttempts,
    Unauthenticated,
    Unavailable,
    UnsupportedMediaType,
    ValueAlreadyExists,
    ValuesNotFound,
)
from ._grammar import MAX_HANDLE_LENGTH, Handle, Prefix
from ._jose import ALGORITHMS, check_algorithm, check_public_jwk
from ._key_watching import KeyWatchingSigner
from ._keys import KeyInfo, KeyStore, SigningKey
from ._models import Base
from ._native_auth import (
    public_key_data,
    register_public_key_verifier,
    secret_key_forms,
    verify_public_answer,
    verify_secret_answer,
)
from ._native_authz import (
    admin_records,
    is_authorized,
    perms_to_add,
    perms_to_modify,
    perms_to_overwrite,
    perms_to_remove,
)
from ._possession import RegistrationProof, check_registration, sign_registration
from ._principal import ADMIN, ANONYMOUS, Principal, Role
from ._records import IndexSelection, RecordService
from ._sealing import SealingPool, seal_in_process
from ._secretbox import SecretBox
from ._signer import RecordSigner
from ._sync import OutboxBatch, SyncLease, SyncStore
from ._templates import (
    TEMPLATE_INDEX,
    Template,
    TemplateItem,
    TemplateService,
    apply_template,
    check_version,
)
from ._throttle import LoginLimits, LoginThrottle, parse_limit
from ._values import (
    DEFAULT_TTL,
    FORMATS,
    MAX_DATA_DEPTH,
    MAX_INDEX,
    HandleValue,
    Permissions,
    Record,
    decode_values,
    encode_values,
    parse_index,
    parse_value,
    parse_values,
    utc_timestamp,
)
from ._verify import DEFAULT_MAX_CHAIN, Fetch, Problem, Verdict, verify_record
from ._writer import (
    BatchSealer,
    ChangeListener,
    RecordWriter,
    Sealer,
    SealItems,
    WriteTransaction,
    check_writable,
    seal_each,
)
from .codec.binary import (
    digest_stored,
    digest_stored_values,
    digest_value,
    digest_values,
    value_body,
)

__all__ = [
    "ADMIN",
    "ALGORITHMS",
    "ANONYMOUS",
    "CREDENTIAL_KEY_FILE",
    "DEFAULT_MAX_CHAIN",
    "DEFAULT_TTL",
    "FORMATS",
    "MAX_BATCH_ITEMS",
    "MAX_DATA_DEPTH",
    "MAX_HANDLE_LENGTH",
    "MAX_INDEX",
    "TEMPLATE_INDEX",
    "AlreadyExists",
    "Base",
    "BatchSealer",
    "BatchService",
    "Certificate",
    "ChangeListener",
    "CipherKey",
    "Conflict",
    "Database",
    "EnterpriseInfo",
    "EnterpriseService",
    "EntityNotFound",
    "Fetch",
    "Forbidden",
    "Grant",
    "Handle",
    "HandleAlreadyExists",
    "HandleNotFound",
    "HandleValue",
    "IndexSelection",
    "InvalidIdentifier",
    "InvalidInput",
    "InvalidValue",
    "IssuedCredential",
    "KeyInfo",
    "KeyStore",
    "KeyWatchingSigner",
    "LoginLimits",
    "LoginThrottle",
    "NativeCredential",
    "NodeError",
    "NotFound",
    "OutboxBatch",
    "PayloadTooLarge",
    "Permissions",
    "Prefix",
    "Principal",
    "Problem",
    "Record",
    "RecordDraft",
    "RecordService",
    "RecordSigner",
    "RecordWriter",
    "RegistrationProof",
    "Role",
    "SealItems",
    "Sealer",
    "SealingPool",
    "SecretBox",
    "SigningKey",
    "SyncLease",
    "SyncStore",
    "Template",
    "TemplateItem",
    "TemplateService",
    "TooManyAttempts",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "ValueAlreadyExists",
    "ValuesNotFound",
    "Verdict",
    "WriteTransaction",
    "admin_records",
    "apply_template",
    "check_algorithm",
    "check_public_jwk",
    "check_registration",
    "check_version",
    "check_writable",
    "cipher_password",
    "codec",
    "decode_values",
    "digest_stored",
    "digest_stored_values",
    "digest_value",
    "digest_values",
    "encode_values",
    "ensure_credential_key",
    "is_authorized",
    "issue_certificate",
    "key_handle",
    "parse_index",
    "parse_limit",
    "parse_username",
    "parse_value",
    "parse_values",
    "perms_to_add",
    "perms_to_modify",
    "perms_to_overwrite",
    "perms_to_remove",
    "public_key_data",
    "register_public_key_verifier",
    "seal_each",
    "seal_in_process",
    "secret_key_forms",
    "sign_registration",
    "utc_timestamp",
    "value_body",
    "verify_public_answer",
    "verify_record",
    "verify_secret_answer",
]
