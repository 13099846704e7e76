"""The native Handle protocol (RFC 3652, Handle.Net 2.1–2.11, IDIS additions), pure: no I/O.

``envelope`` (20 bytes, UDP chunks) → ``message`` (24-byte header, body, credential, request
digest) → ``bodies`` (one encoder and decoder per kind of body) over ``values`` (HandleValue)
and ``site`` (HS_SITE). Every decoder raises ``ProtocolError`` carrying the response code to
answer with; nothing else escapes it. ``node.native`` is the I/O beside it.
"""

from .bodies import (
    Resolution,
    ResolutionRequest,
    check_handle,
    decode_error,
    decode_handle_request,
    decode_resolution,
    decode_resolution_request,
    decode_site_response,
    encode_error,
    encode_handle_request,
    encode_resolution,
    encode_resolution_request,
    encode_site_response,
    index_or_type_match,
)
from .codes import (
    ENVELOPE_SIZE,
    HEADER_SIZE,
    MAX_HANDLE_LENGTH,
    MAX_MESSAGE_LENGTH,
    MAX_UDP_DATA,
    MAX_VALUES,
    SERVER_VERSION,
    EnvelopeFlag,
    HashCode,
    OpCode,
    OpFlag,
    ResponseCode,
)
from .envelope import Envelope, chunk, decode_envelope, reply_version
from .message import (
    DEFAULT_LIFETIME,
    Header,
    Message,
    decode_message,
    digest_prefix,
    encode_message,
    expiry,
    split_digest,
)
from .site import Interface, Server, SiteInfo, decode_site
from .values import WireValue, decode_value, decode_values, encode_value, to_handle_value
from .wire import ProtocolError, Reader, int2, int4, int_array, sized, sized_array

__all__ = [
    "DEFAULT_LIFETIME",
    "ENVELOPE_SIZE",
    "HEADER_SIZE",
    "MAX_HANDLE_LENGTH",
    "MAX_MESSAGE_LENGTH",
    "MAX_UDP_DATA",
    "MAX_VALUES",
    "SERVER_VERSION",
    "Envelope",
    "EnvelopeFlag",
    "HashCode",
    "Header",
    "Interface",
    "Message",
    "OpCode",
    "OpFlag",
    "ProtocolError",
    "Reader",
    "Resolution",
    "ResolutionRequest",
    "ResponseCode",
    "Server",
    "SiteInfo",
    "WireValue",
    "check_handle",
    "chunk",
    "decode_envelope",
    "decode_error",
    "decode_handle_request",
    "decode_message",
    "decode_resolution",
    "decode_resolution_request",
    "decode_site",
    "decode_site_response",
    "decode_value",
    "decode_values",
    "digest_prefix",
    "encode_error",
    "encode_handle_request",
    "encode_message",
    "encode_resolution",
    "encode_resolution_request",
    "encode_site_response",
    "encode_value",
    "expiry",
    "index_or_type_match",
    "int2",
    "int4",
    "int_array",
    "reply_version",
    "sized",
    "sized_array",
    "split_digest",
    "to_handle_value",
]
