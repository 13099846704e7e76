"""The DNS frontend: identifiers answered as DNS names under ``IDNODE_DNS_ZONE``."""

from .engine import DnsEngine
from .server import DnsServer, open_dns

__all__ = ["DnsEngine", "DnsServer", "open_dns"]
