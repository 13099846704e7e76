"""Backing a node up into one archive, and restoring it into an empty node.

The archive (a zip file) holds ``manifest.json``, every table of the database as JSON lines
(``db/<table>.jsonl``, whatever tables the migrations made, in a form either database takes) and
every file of the keys directory (``keys/...``: signing keys, credential and sealing keys), each
with its SHA-256 in the manifest.
"""

# Nothing is imported here: ``idnode`` builds its parser from ``node.backup.cli`` without the
# database layer that ``database`` loads.
