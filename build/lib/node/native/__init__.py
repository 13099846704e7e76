"""The native Handle protocol (TCP and UDP, port 2641): the I/O beside ``registry.codec.native``.

``open_native`` runs the listeners in the HTTP app's lifespan; ``Dispatcher`` maps opcodes to
handlers (``resolution`` answers opcodes 1 and 2, ``auth`` challenges and checks identities,
``admin`` changes records, ``sessions`` refuses sessions, 400–402); ``client`` speaks to any Handle server, ``admin_client`` administers one.
"""

# Nothing is imported here: ``idnode hdl`` (``native.cli``, ``native.client``) must not load the
# server's web stack and resolver. Import from the modules: ``native.server.open_native``, …
