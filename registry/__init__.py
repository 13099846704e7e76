"""The domain of idnode: identifiers, records, enterprises, templates, and the one record writer.

Knows nothing of HTTP. Its sub-packages: ``registry.codec`` (pure wire formats),
``registry.storage`` (database, tables, outbox) and ``registry.trust`` (keys, signing, sealing,
verification, secrets). Other packages use only the names listed here and in those packages.

A name is imported on first use: a process that needs one corner of the registry (a sealing
process needs ``registry.trust`` alone) does not pay for the database layer.
"""

import importlib as _importlib
import typing as _typing

if _typing.TYPE_CHECKING:
    from . import codec
    from ._actor import Actor, AuditNote, acting_as, current_actor, set_actor
    from ._audit import AuditEntry, AuditPage, AuditService, audit, parse_moment
    from ._batch import MAX_BATCH_ITEMS, BatchService, RecordDraft
    from ._catalog import RecordCatalog, RecordFilter
    from ._enterprises import EnterpriseService, NativeCredential
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
        QuotaExceeded,
        RateLimited,
        TooManyAttempts,
        Unauthenticated,
        Unavailable,
        UnsupportedMediaType,
        ValueAlreadyExists,
        ValuesNotFound,
    )
    from ._grammar import Handle, Prefix
    from ._imports import ImportJob, ImportService, RowError
    from ._principal import ADMIN, ANONYMOUS, Principal, Role, parse_username
    from ._quotas import QUOTA_KINDS, Quota, QuotaService, ResolutionLimits
    from ._ratelimit import ClientRate, RateCounters, open_storage
    from ._records import MAX_PAGE_SIZE, RecordService
    from ._stats import RecordStats, last_days
    from ._tables import (
        XLSX_TYPE,
        XlsxSink,
        csv_chunks,
        csv_stream,
        read_rows,
        sniff_kind,
        xlsx_stream,
    )
    from ._templates import Template, TemplateService, apply_template, check_version
    from ._throttle import LoginLimits, LoginThrottle, parse_limit
    from ._values import (
        MAX_DATA_DEPTH,
        HandleValue,
        Permissions,
        Record,
        decode_values,
        encode_values,
        parse_index,
        parse_values,
        utc_timestamp,
    )
    from ._writer import RecordWriter, check_writable

__all__ = [
    "ADMIN",
    "ANONYMOUS",
    "MAX_BATCH_ITEMS",
    "MAX_DATA_DEPTH",
    "MAX_PAGE_SIZE",
    "QUOTA_KINDS",
    "XLSX_TYPE",
    "Actor",
    "AlreadyExists",
    "AuditEntry",
    "AuditNote",
    "AuditPage",
    "AuditService",
    "BatchService",
    "ClientRate",
    "Conflict",
    "EnterpriseService",
    "EntityNotFound",
    "Forbidden",
    "Handle",
    "HandleAlreadyExists",
    "HandleNotFound",
    "HandleValue",
    "ImportJob",
    "ImportService",
    "InvalidIdentifier",
    "InvalidInput",
    "InvalidValue",
    "LoginLimits",
    "LoginThrottle",
    "NativeCredential",
    "NodeError",
    "NotFound",
    "PayloadTooLarge",
    "Permissions",
    "Prefix",
    "Principal",
    "Quota",
    "QuotaExceeded",
    "QuotaService",
    "RateCounters",
    "RateLimited",
    "Record",
    "RecordCatalog",
    "RecordDraft",
    "RecordFilter",
    "RecordService",
    "RecordStats",
    "RecordWriter",
    "ResolutionLimits",
    "Role",
    "RowError",
    "Template",
    "TemplateService",
    "TooManyAttempts",
    "Unauthenticated",
    "Unavailable",
    "UnsupportedMediaType",
    "ValueAlreadyExists",
    "ValuesNotFound",
    "XlsxSink",
    "acting_as",
    "apply_template",
    "audit",
    "check_version",
    "check_writable",
    "codec",
    "csv_chunks",
    "csv_stream",
    "current_actor",
    "decode_values",
    "encode_values",
    "last_days",
    "open_storage",
    "parse_index",
    "parse_limit",
    "parse_moment",
    "parse_username",
    "parse_values",
    "read_rows",
    "set_actor",
    "sniff_kind",
    "utc_timestamp",
    "xlsx_stream",
]

# The module each public name lives in (the imports above, for readers and type checkers).
_HOMES = {
    "._actor": ("Actor", "AuditNote", "acting_as", "current_actor", "set_actor"),
    "._audit": ("AuditEntry", "AuditPage", "AuditService", "audit", "parse_moment"),
    "._batch": ("MAX_BATCH_ITEMS", "BatchService", "RecordDraft"),
    "._catalog": ("RecordCatalog", "RecordFilter"),
    "._enterprises": ("EnterpriseService", "NativeCredential"),
    "._errors": (
        "AlreadyExists",
        "Conflict",
        "EntityNotFound",
        "Forbidden",
        "HandleAlreadyExists",
        "HandleNotFound",
        "InvalidIdentifier",
        "InvalidInput",
        "InvalidValue",
        "NodeError",
        "NotFound",
        "PayloadTooLarge",
        "QuotaExceeded",
        "RateLimited",
        "TooManyAttempts",
        "Unauthenticated",
        "Unavailable",
        "UnsupportedMediaType",
        "ValueAlreadyExists",
        "ValuesNotFound",
    ),
    "._grammar": ("Handle", "Prefix"),
    "._imports": ("ImportJob", "ImportService", "RowError"),
    "._principal": ("ADMIN", "ANONYMOUS", "Principal", "Role", "parse_username"),
    "._quotas": ("QUOTA_KINDS", "Quota", "QuotaService", "ResolutionLimits"),
    "._ratelimit": ("ClientRate", "RateCounters", "open_storage"),
    "._records": ("MAX_PAGE_SIZE", "RecordService"),
    "._stats": ("RecordStats", "last_days"),
    "._tables": (
        "XLSX_TYPE",
        "XlsxSink",
        "csv_chunks",
        "csv_stream",
        "read_rows",
        "sniff_kind",
        "xlsx_stream",
    ),
    "._templates": ("Template", "TemplateService", "apply_template", "check_version"),
    "._throttle": ("LoginLimits", "LoginThrottle", "parse_limit"),
    "._values": (
        "MAX_DATA_DEPTH",
        "HandleValue",
        "Permissions",
        "Record",
        "decode_values",
        "encode_values",
        "parse_index",
        "parse_values",
        "utc_timestamp",
    ),
    "._writer": ("RecordWriter", "check_writable"),
}
_HOME = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> object:
    if name == "codec":
        return _importlib.import_module(".codec", __name__)
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_HOME))
