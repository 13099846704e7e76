"""Resolution (opcode 1) and GET_SITE_INFO (opcode 2), through the node's resolver and its cache.

Answers come from the same ``Resolver`` as the REST API, so the same writes invalidate them.
Each cached entry's values are encoded once and kept beside it (keyed by the entry object, so a
re-read entry is re-encoded). The node's HS_SITE is added to ``0.NA/<node code>`` and to the
prefix records of the enterprises under it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from registry import Handle, InvalidIdentifier, Prefix
from registry.codec import native
from registry.codec.native import OpFlag, ResponseCode, SiteInfo, WireValue
from resolver import Entry, Resolver

from .dispatch import Answer, Connection, Dispatcher, Request

__all__ = ["EncodedValue", "Resolution", "register", "site_value"]

NA_PREFIX = Prefix.parse("0.NA")
SITE_TYPE = b"HS_SITE"
# Encoded answers kept; the resolver's cache bounds what is worth keeping, this bounds the copy.
MAX_ENCODED = 20_000


@dataclass(frozen=True, slots=True)
class EncodedValue:
    """A value ready to send, with what the filters and the read check look at."""

    index: int
    type: bytes
    public: bool
    raw: bytes


def _encoded(wire: WireValue) -> EncodedValue:
    return EncodedValue(wire.index, wire.type, wire.public, wire.encode())


def site_value(site: SiteInfo, index: int = 1, timestamp: int = 0) -> WireValue:
    """The HS_SITE value describing ``site``."""
    return WireValue(index, SITE_TYPE, site.encode(), timestamp)


class Resolution:
    """The resolution and site-info handlers of one node."""

    def __init__(self, resolver: Resolver, node_code: Prefix, site: SiteInfo, started: int) -> None:
        self.resolver = resolver
        self.node_code = node_code
        self.site = site
        self.site_bytes = site.encode()
        self.started = started
        self._encoded: dict[str, tuple[Entry, tuple[EncodedValue, ...]]] = {}
        self._answers: dict[bytes, tuple[Entry, str, Answer]] = {}
        # (connection, flags, handle or None) -> may it see non-public values (of that handle;
        # None: of any); set by the authenticator.
        self.private_reader: Callable[[Connection, int, str | None], bool] | None = None

    async def resolve(self, request: Request) -> Answer:
        wanted, text = _wanted(request.message.body)
        values = await self._values(text, request.has(OpFlag.RECU))
        return self._answer(
            wanted, values, self.may_read_private(request.connection, request.header.flags, text)
        )

    def resolve_now(self, body: bytes, flags: int, connection: Connection) -> Answer | None:
        """``resolve`` for a fresh cache hit; ``None`` when the resolver has to be asked.

        Answers are kept by request body while their cache entry stays the same object (a
        write or expiry replaces it), so a repeated request costs a lookup.
        """
        maybe_private = self.may_read_private(connection, flags)
        if not maybe_private:
            known = self._answers.get(body)
            if known is not None and self.resolver.hot(known[1]) is known[0]:
                return known[2]
        wanted, text = _wanted(body)
        private = maybe_private and self.may_read_private(connection, flags, text)
        entry = self.resolver.hot(text)
        if entry is None:
            return None
        answer = self._answer(wanted, self._values_of(entry), private)
        if not private:
            if len(self._answers) >= MAX_ENCODED:
                self._answers.clear()
            self._answers[body] = (entry, text, answer)
        return answer

    def _answer(
        self,
        wanted: native.ResolutionRequest,
        values: tuple[EncodedValue, ...] | None,
        private: bool,
    ) -> Answer:
        if values is None:
            return Answer.error(ResponseCode.HANDLE_NOT_FOUND)
        if wanted.indexes or wanted.types:
            values = tuple(
                v
                for v in values
                if native.index_or_type_match(v.index, v.type, wanted.indexes, wanted.types)
            )
        if not private:
            # Non-public values only to an authenticated administrator of the handle that did
            # not ask for public values only (PUBL).
            values = tuple(v for v in values if v.public)
        if not values:
            return Answer.error(ResponseCode.VALUES_NOT_FOUND)
        return Answer(
            ResponseCode.SUCCESS,
            native.encode_resolution(wanted.handle, [v.raw for v in values]),
        )

    def may_read_private(
        self, connection: Connection, flags: int, handle: str | None = None
    ) -> bool:
        """Whether a request may see the non-public values of ``handle`` (``None``: of any).

        A PUBL request never does; others when their connection authenticated as an
        administrator of the handle.
        """
        if flags & OpFlag.PUBL or self.private_reader is None:
            return False
        return self.private_reader(connection, flags, handle)

    async def site_info(self, request: Request) -> Answer:
        return Answer(ResponseCode.SUCCESS, native.encode_site_response(self.site_bytes))

    async def _values(self, text: str, recursive: bool) -> tuple[EncodedValue, ...] | None:
        entry = self.resolver.hot(text)
        if entry is None:
            try:
                handle = Handle.parse(text)
            except InvalidIdentifier as exc:
                raise native.ProtocolError(exc.message, ResponseCode.INVALID_HANDLE) from exc
            entry = (await self.resolver.lookup(handle, recursive=recursive)).entry
        return self._values_of(entry)

    def _values_of(self, entry: Entry) -> tuple[EncodedValue, ...] | None:
        known = self._encoded.get(entry.key)
        if known is not None and known[0] is entry:
            return known[1]
        values = self._encode(entry)
        if len(self._encoded) >= MAX_ENCODED:
            self._encoded.clear()
        self._encoded[entry.key] = (entry, values)
        return values

    def _encode(self, entry: Entry) -> tuple[EncodedValue, ...] | None:
        handle = Handle.parse(entry.key)
        site_here = self._publishes_site(handle)
        record = entry.record()
        if record is None:
            if site_here and handle.suffix.upper() == str(self.node_code):
                return (_encoded(site_value(self.site, 1, self.started)),)
            return None
        values = [
            EncodedValue(
                v.index, v.type.encode(), v.permissions.public_read, native.encode_value(v)
            )
            for v in record.values
            # A site stored as JSON has no binary form: the node's own stands in for it.
            if not (site_here and v.type == "HS_SITE" and v.format == "site")
        ]
        if site_here:
            used = {v.index for v in values}
            index = next(i for i in range(1, len(used) + 2) if i not in used)
            values.append(_encoded(site_value(self.site, index, self.started)))
        return tuple(sorted(values, key=lambda v: v.index))

    def _publishes_site(self, handle: Handle) -> bool:
        """``0.NA/<node code>`` and the prefix handles under it carry the node's HS_SITE."""
        if handle.prefix != NA_PREFIX:
            return False
        try:
            prefix = Prefix.parse(handle.suffix)
        except InvalidIdentifier:
            return False
        return prefix.is_within(self.node_code)


def register(dispatcher: Dispatcher, resolution: Resolution) -> None:
    """Answer resolution (from the cache without waiting when it can) and GET_SITE_INFO."""
    dispatcher.register(native.OpCode.RESOLUTION, resolution.resolve, resolution.resolve_now)
    dispatcher.register(native.OpCode.GET_SITE_INFO, resolution.site_info)


def _wanted(body: bytes) -> tuple[native.ResolutionRequest, str]:
    """The request and its handle as the resolver's key."""
    wanted = native.decode_resolution_request(native.Reader(body))
    text = native.check_handle(wanted.handle)
    if "/" not in text:
        # Handle.Net reads a handle without a slash as a prefix handle.
        text = f"0.NA/{text}"
    return wanted, text
