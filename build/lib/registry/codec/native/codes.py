"""The native Handle protocol's numbers: opcodes, response codes, flags, limits, versions.

From RFC 3652 and Handle.Net's ``AbstractMessage`` / ``Encoder`` / ``Common`` (versions up to
2.11), plus the IDIS SDKs' additions (id-pointer-sdk, ID-SDK).
"""

from __future__ import annotations

from enum import IntEnum, IntFlag

__all__ = [
    "ENVELOPE_SIZE",
    "HEADER_SIZE",
    "MAX_ARRAY_SIZE",
    "MAX_HANDLE_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "MAX_UDP_DATA",
    "MAX_VALUES",
    "SERVER_VERSION",
    "EnvelopeFlag",
    "HashCode",
    "OpCode",
    "OpFlag",
    "ResponseCode",
]

ENVELOPE_SIZE = 20
HEADER_SIZE = 24
# Handle.Net's Common.MAX_MESSAGE_LENGTH: an envelope announcing more is refused.
MAX_MESSAGE_LENGTH = 262_144
# A datagram is an envelope and at most 492 message bytes (512 in all).
MAX_UDP_DATA = 492
MAX_ARRAY_SIZE = 1_048_576
MAX_HANDLE_LENGTH = 2048
MAX_VALUES = 2048
# The highest protocol version we speak (Handle.Net 9's), suggested in every answer.
SERVER_VERSION = (2, 11)


class OpCode(IntEnum):
    RESOLUTION = 1
    GET_SITE_INFO = 2
    CREATE_HANDLE = 100
    DELETE_HANDLE = 101
    ADD_VALUE = 102
    REMOVE_VALUE = 103
    MODIFY_VALUE = 104
    LIST_HANDLES = 105
    RESPONSE_TO_CHALLENGE = 200
    VERIFY_CHALLENGE = 201
    HOME_NA = 300
    UNHOME_NA = 301
    LIST_HOMED_NAS = 302
    SESSION_SETUP = 400
    SESSION_TERMINATE = 401
    SESSION_EXCHANGEKEY = 402
    GET_NEXT_TXN_ID = 1000
    RETRIEVE_TXN_LOG = 1001
    DUMP_HANDLES = 1002
    BACKUP_SERVER = 1003
    # IDIS: ID-SDK's password login, and both IDIS SDKs' login that authenticates a connection.
    LOGIN_PASSWORD = 2000
    LOGIN_ID_SYSTEM = 2001


class ResponseCode(IntEnum):
    RESERVED = 0  # requests
    SUCCESS = 1
    ERROR = 2
    SERVER_TOO_BUSY = 3
    PROTOCOL_ERROR = 4
    OPERATION_NOT_SUPPORTED = 5
    RECURSION_COUNT_TOO_HIGH = 6
    SERVER_BACKUP = 7
    HANDLE_NOT_FOUND = 100
    HANDLE_ALREADY_EXISTS = 101
    INVALID_HANDLE = 102
    VALUES_NOT_FOUND = 200
    VALUE_ALREADY_EXISTS = 201
    INVALID_VALUE = 202
    OUT_OF_DATE_SITE_INFO = 300
    SERVER_NOT_RESP = 301
    SERVICE_REFERRAL = 302
    PREFIX_REFERRAL = 303
    INVALID_ADMIN = 400
    INSUFFICIENT_PERMISSIONS = 401
    AUTHENTICATION_NEEDED = 402
    AUTHENTICATION_FAILED = 403
    INVALID_CREDENTIAL = 404
    AUTHEN_TIMEOUT = 405
    AUTHEN_ERROR = 406
    SESSION_TIMEOUT = 500
    SESSION_FAILED = 501
    INVALID_SESSION_KEY = 502
    NEED_RSAKEY_FOR_SESSIONEXCHANGE = 503
    INVALID_SESSIONSETUP_REQUEST = 504
    SESSION_MESSAGE_REJECTED = 505


class OpFlag(IntFlag):
    AUTH = 0x80000000  # authoritative: no cache
    CERT = 0x40000000  # sign the response
    ENCR = 0x20000000  # encrypt the response
    RECU = 0x10000000  # recursive
    CACR = 0x08000000  # cache-certified
    CONT = 0x04000000  # more messages follow
    KPAL = 0x02000000  # keep the connection alive
    PUBL = 0x01000000  # public values only
    RRDG = 0x00800000  # return the request's digest
    OVRW = 0x00400000  # overwrite when it exists
    MINT = 0x00200000  # mint a new suffix
    DNRF = 0x00100000  # do not refer
    # IDIS additions (id-pointer-sdk, ID-SDK).
    RECU_AUTH = 0x4
    TRUSTED_QUERY = 0x2
    TRUSTED_RESULT = 0x1


class EnvelopeFlag(IntFlag):
    COMPRESSED = 0x80
    ENCRYPTED = 0x40
    TRUNCATED = 0x20  # one of several datagrams


class HashCode(IntEnum):
    """The first byte of a request digest in a response (``Common.HASH_CODE_*``)."""

    MD5_OLD_FORMAT = 0
    MD5 = 1
    SHA1 = 2
    SHA256 = 3
