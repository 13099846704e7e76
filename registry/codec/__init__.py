"""Pure wire formats, no I/O: Handle REST JSON and codes, Handle's binary value encoding.

Like dnspython's ``message`` beside ``query``: what travels, never how. Anything that opens a
socket, a file or a database lives elsewhere (``resolver._client`` speaks Handle REST over HTTP).
"""

from .binary import (
    DIGEST_ALG,
    data_bytes,
    digest_stored,
    digest_stored_values,
    digest_value,
    digest_values,
    value_body,
)
from .dns_names import (
    Ancestor,
    Apex,
    Identifier,
    handle_from_name,
    handle_to_name,
    place_of,
)
from .rest import (
    ERROR_CODES,
    Answer,
    ResponseCode,
    done_body,
    error_body,
    error_code,
    no_match_body,
    not_found_body,
    parse_answer,
    public_values_body,
    read_answer,
    values_body,
)

__all__ = [
    "DIGEST_ALG",
    "ERROR_CODES",
    "Ancestor",
    "Answer",
    "Apex",
    "Identifier",
    "ResponseCode",
    "data_bytes",
    "digest_stored",
    "digest_stored_values",
    "digest_value",
    "digest_values",
    "done_body",
    "error_body",
    "error_code",
    "handle_from_name",
    "handle_to_name",
    "no_match_body",
    "not_found_body",
    "parse_answer",
    "place_of",
    "public_values_body",
    "read_answer",
    "value_body",
    "values_body",
]
