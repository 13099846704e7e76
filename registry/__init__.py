"""The domain of idnode: identifiers, records, enterprises, credentials, and their storage.

Knows nothing of HTTP. Other packages use only the names listed here.
"""

from ._database import Database
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
from ._models import Base
from ._principal import ADMIN, ANONYMOUS, Principal, Role
from ._records import (
    ChangeListener,
    IndexSelection,
    RecordService,
    Sealer,
    decode_values,
    encode_values,
)
from ._schema import alembic_config, downgrade, upgrade
from ._sync import OutboxBatch, SyncLease, SyncStore
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

__all__ = [
    "ADMIN",
    "ANONYMOUS",
    "DEFAULT_TTL",
    "FORMATS",
    "MAX_HANDLE_LENGTH",
    "MAX_INDEX",
    "AlreadyExists",
    "Base",
    "ChangeListener",
    "Conflict",
    "Database",
    "EnterpriseInfo",
    "EnterpriseService",
    "EntityNotFound",
    "Forbidden",
    "Handle",
    "HandleAlreadyExists",
    "HandleNotFound",
    "HandleValue",
    "IndexSelection",
    "InvalidIdentifier",
    "InvalidInput",
    "InvalidValue",
    "IssuedCredential",
    "NodeError",
    "NotFound",
    "OutboxBatch",
    "PayloadTooLarge",
    "Permissions",
    "Prefix",
    "Principal",
    "Record",
    "RecordService",
    "Role",
    "Sealer",
    "SyncLease",
    "SyncStore",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "ValueAlreadyExists",
    "ValuesNotFound",
    "alembic_config",
    "decode_values",
    "downgrade",
    "encode_values",
    "parse_username",
    "parse_value",
    "parse_values",
    "upgrade",
    "utc_timestamp",
]
