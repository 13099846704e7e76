"""Resolution: turning a handle into its record, wherever the record lives.

Knows nothing of FastAPI. ``Resolver.lookup`` is the read path every API uses; ``Resolver.hot``
is the cache-hit path that serves pre-serialised bytes.
"""

from ._build import build_resolver
from ._cache import CacheConfig, RecordCache
from ._client import HandleRestClient
from ._entry import Entry, handle_body, not_found_body
from ._notify import PgInvalidation
from ._recursive import FORWARDED_HEADER, Delegation, Upstream
from ._resolver import Publisher, Resolution, Resolver, Source
from ._tally import ResolutionTally

__all__ = [
    "FORWARDED_HEADER",
    "CacheConfig",
    "Delegation",
    "Entry",
    "HandleRestClient",
    "PgInvalidation",
    "Publisher",
    "RecordCache",
    "Resolution",
    "ResolutionTally",
    "Resolver",
    "Source",
    "Upstream",
    "build_resolver",
    "handle_body",
    "not_found_body",
]
