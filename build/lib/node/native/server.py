"""The native Handle protocol server: TCP and UDP on one port, in the HTTP app's lifespan."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from registry import Prefix
from registry.codec import native
from registry.codec.native import Interface, Server, SiteInfo

from ..context import NodeContext
from ..settings import Settings
from . import sessions
from .admin import Administration
from .auth import Authenticator
from .dispatch import Dispatcher
from .resolution import Resolution, register
from .tcp import TcpLimits, TcpServer
from .udp import UdpLimits, UdpServer

__all__ = ["NativeServer", "build_site", "open_native"]

logger = logging.getLogger("idnode.native")
SITE_SERIAL = 1


@dataclass
class NativeServer:
    """The running listeners and the dispatcher they share (``register`` adds opcodes)."""

    dispatcher: Dispatcher
    resolution: Resolution
    tcp: TcpServer
    udp: UdpServer
    host: str
    port: int
    authenticator: Authenticator | None = None


def _site_address(settings: Settings) -> str:
    if settings.handle_site_address:
        return settings.handle_site_address
    try:
        if not ipaddress.ip_address(settings.handle_host).is_unspecified:
            return settings.handle_host
    except ValueError:
        pass
    return "127.0.0.1"


def build_site(settings: Settings, port: int) -> SiteInfo:
    """The node's HS_SITE: one server, TCP for queries and administration first, UDP second."""
    interfaces = (
        Interface(native.site.BOTH, native.site.TCP, port),
        Interface(native.site.QUERY, native.site.UDP, port),
    )
    server = Server.at(1, _site_address(settings), interfaces)
    description = f"idnode secondary node {settings.node_code}".encode()
    return SiteInfo((server,), serial=SITE_SERIAL, attributes=((b"desc", description),))


@asynccontextmanager
async def open_native(
    context: NodeContext, settings: Settings
) -> AsyncIterator[NativeServer | None]:
    """Serve the native protocol on ``settings.handle_port`` (``None`` when it is 0: off)."""
    if not settings.handle_port:
        yield None
        return
    host, port = settings.handle_host, settings.handle_port
    dispatcher = Dispatcher(site_serial=SITE_SERIAL)
    resolution = Resolution(
        context.resolver,
        Prefix.parse(settings.node_code),
        build_site(settings, port),
        int(time.time()),
    )
    register(dispatcher, resolution)
    auth = Authenticator(context.records, context.enterprises)
    resolution.private_reader = auth.may_read_private
    for opcode, handler in {
        **auth.handlers(),
        **Administration(context.records, auth).handlers(),
        **sessions.handlers(),
    }.items():
        dispatcher.register(opcode, handler)
    tcp = TcpServer(
        dispatcher,
        TcpLimits(
            max_connections=settings.handle_max_connections,
            idle_seconds=settings.handle_idle_seconds,
            max_message_bytes=settings.handle_max_message_bytes,
        ),
    )
    udp = UdpServer(dispatcher, UdpLimits(max_message_bytes=settings.handle_max_message_bytes))
    reuse = settings.handle_reuse_port
    try:
        try:
            await tcp.start(host, port, reuse_port=reuse)
            await udp.start(host, port, reuse_port=reuse)
        except OSError as exc:
            logger.error(
                "cannot serve the native Handle protocol on %s:%d: %s; set IDNODE_HANDLE_PORT"
                " to a free port (0 turns it off)",
                host,
                port,
                exc.strerror or exc,
            )
            raise
        logger.info("native Handle protocol on tcp and udp %s:%d", host, port)
        yield NativeServer(dispatcher, resolution, tcp, udp, host, port, auth)
    finally:
        await udp.close()
        await tcp.close()
