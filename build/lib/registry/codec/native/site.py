"""HS_SITE value data: a site's version, serial, attributes and servers with their interfaces.

``Encoder.encodeSiteInfoRecord`` / ``decodeSiteInfoRecord``; decoding refuses trailing bytes as
Handle.Net does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .wire import ProtocolError, Reader, int2, int4, sized

__all__ = [
    "ADMIN",
    "BOTH",
    "HTTP",
    "HTTPS",
    "QUERY",
    "TCP",
    "UDP",
    "Interface",
    "Server",
    "SiteInfo",
    "decode_site",
]

# Interface types and protocols (``Interface.ST_*``, ``Interface.SP_*``).
ADMIN, QUERY, BOTH = 1, 2, 3
UDP, TCP, HTTP, HTTPS = 0, 1, 2, 3
PRIMARY, MULTI_PRIMARY = 0x80, 0x40
_IP_LENGTH = 16
_SITE_FORMAT = 1


@dataclass(frozen=True, slots=True)
class Interface:
    type: int
    protocol: int
    port: int


@dataclass(frozen=True, slots=True)
class Server:
    server_id: int
    address: bytes  # 16 bytes; IPv4 right-aligned
    interfaces: tuple[Interface, ...]
    public_key: bytes = b""

    @classmethod
    def at(
        cls, server_id: int, host: str, interfaces: tuple[Interface, ...], public_key: bytes = b""
    ) -> Server:
        """A server at ``host`` (an IPv4 or IPv6 address)."""
        packed = ipaddress.ip_address(host).packed
        return cls(server_id, packed.rjust(_IP_LENGTH, b"\x00"), interfaces, public_key)

    @property
    def host(self) -> str:
        if self.address[:12] == bytes(12):
            return str(ipaddress.IPv4Address(self.address[12:]))
        return str(ipaddress.IPv6Address(self.address))


@dataclass(frozen=True, slots=True)
class SiteInfo:
    servers: tuple[Server, ...]
    serial: int = 1
    version: tuple[int, int] = (2, 11)
    primary: bool = True
    multi_primary: bool = False
    hash_option: int = 0
    hash_filter: bytes = b""
    attributes: tuple[tuple[bytes, bytes], ...] = ()
    data_format: int = _SITE_FORMAT

    def encode(self) -> bytes:
        flags = (PRIMARY if self.primary else 0) | (MULTI_PRIMARY if self.multi_primary else 0)
        parts = [
            int2(self.data_format),
            bytes((self.version[0] & 0xFF, self.version[1] & 0xFF)),
            int2(self.serial),
            bytes((flags, self.hash_option & 0xFF)),
            sized(self.hash_filter),
            int4(len(self.attributes)),
        ]
        parts += [sized(name) + sized(value) for name, value in self.attributes]
        parts.append(int4(len(self.servers)))
        for server in self.servers:
            parts += [
                int4(server.server_id),
                server.address.rjust(_IP_LENGTH, b"\x00")[-_IP_LENGTH:],
                sized(server.public_key),
                int4(len(server.interfaces)),
            ]
            parts += [
                bytes((i.type & 0xFF, i.protocol & 0xFF)) + int4(i.port) for i in server.interfaces
            ]
        return b"".join(parts)


def decode_site(data: bytes) -> SiteInfo:
    """A site from HS_SITE data; ``ProtocolError`` on anything short, oversized or left over."""
    reader = Reader(data)
    data_format = reader.int2("site data format")
    version = (reader.byte("site major version"), reader.byte("site minor version"))
    serial = reader.int2("site serial")
    flags = reader.byte("site flags")
    hash_option = reader.byte("site hash option")
    hash_filter = reader.sized("site hash filter")
    attributes = tuple(
        (reader.sized("attribute name"), reader.sized("attribute value"))
        for _ in range(reader.count("attributes", reader.remaining // 8))
    )
    servers = []
    for _ in range(reader.count("servers", reader.remaining // 24)):
        server_id = reader.int4("server id")
        address = reader.raw(_IP_LENGTH, "server address")
        public_key = reader.sized("server public key")
        count = reader.count("interfaces", reader.remaining // 6)
        interfaces = tuple(
            Interface(reader.byte("interface type"), reader.byte("protocol"), reader.int4("port"))
            for _ in range(count)
        )
        servers.append(Server(server_id, address, interfaces, public_key))
    reader.done("the site")
    if data_format < 1:
        raise ProtocolError(f"site data format {data_format} is unknown")
    return SiteInfo(
        tuple(servers),
        serial,
        version,
        bool(flags & PRIMARY),
        bool(flags & MULTI_PRIMARY),
        hash_option,
        hash_filter,
        attributes,
        data_format,
    )
