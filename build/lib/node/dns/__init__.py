"""The DNS frontend: identifiers answered as DNS names under ``IDNODE_DNS_ZONE``.

Nothing is imported here: ``idnode dns name|handle`` (``dns.cli``) must not load the server, its
engine and the resolver. Import from the modules: ``dns.server.open_dns``, ``dns.engine``, …
"""
