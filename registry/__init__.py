"""The domain of idnode: identifiers, records, enterprises, credentials, and their storage.

Knows nothing of HTTP. Other packages use only the names listed here.
"""

from ._batch import MAX_BATCH_ITEMS, BatchService, RecordDraft
from ._certs import Certificate, Grant, issue_certificate, key_handle
from ._cipher import CipherKey, cipher_password
from ._database import Database
from ._encoding import (
    digest_stored,
    digest_stored_values,
    digest_value,
    digest_values,
    value_body,
)
from ._enterprises import EnterpriseInfo, EnterpriseService, IssuedCredential, parse_username
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
from ._principal import ADMIN, ANONYMOUS, Principal, Role
from ._records import (
    BatchSealer,
    ChangeListener,
    IndexSelection,
    RecordService,
    Sealer,
    SealItems,
    decode_values,
    encode_values,
    seal_each,
)
from ._sealing import SealingPool, seal_in_process
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
from ._values import (
    DEFAULT_TTL,
    FORMATS,
    MAX_INDEX,
    HandleValue,
    Permissions,
    Record,
    parse_value,
    parse_values,
    utc_timestamp,
)
from ._verify import DEFAULT_MAX_CHAIN, Fetch, Problem, Verdict, verify_record

__all__ = [
    "ADMIN",
    "ALGORITHMS",
    "ANONYMOUS",
    "DEFAULT_MAX_CHAIN",
    "DEFAULT_TTL",
    "FORMATS",
    "MAX_BATCH_ITEMS",
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
    "Role",
    "SealItems",
    "Sealer",
    "SealingPool",
    "SigningKey",
    "SyncLease",
    "SyncStore",
    "Template",
    "TemplateItem",
    "TemplateService",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "ValueAlreadyExists",
    "ValuesNotFound",
    "Verdict",
    "apply_template",
    "check_algorithm",
    "check_public_jwk",
    "check_version",
    "cipher_password",
    "decode_values",
    "digest_stored",
    "digest_stored_values",
    "digest_value",
    "digest_values",
    "encode_values",
    "issue_certificate",
    "key_handle",
    "parse_username",
    "parse_value",
    "parse_values",
    "seal_each",
    "seal_in_process",
    "utc_timestamp",
    "value_body",
    "verify_record",
]
