#!/bin/sh
# idnode's container entrypoint.
#
#   (no arguments), serve [FLAGS]  migrate the database, then serve on 0.0.0.0:8000 (FLAGS added)
#   toplevel [FLAGS]               the simulated top-level node on 0.0.0.0:8100, its state in /data
#   an idnode command              e.g. `backup /data/node.idbackup`, `keys list`, `migrate`
#   a program                      run as it is (`sh`)
#
# MIGRATE_ON_START=false leaves migrating to someone else (one `idnode migrate` job when several
# nodes share a PostgreSQL database, as deploy/compose.yaml does).
set -eu

data="${DATA_DIR:-/data}"
# The keys directory and SQLite's directory: the owner's alone, made before anything writes there.
umask 077
mkdir -p "${IDNODE_KEYS_DIR:-$data/keys}"

if [ "$#" -eq 0 ]; then
    set -- serve
fi

case "$1" in
    serve)
        shift
        case "${MIGRATE_ON_START:-true}" in
            false | no | 0) ;;
            *) idnode migrate ;;
        esac
        exec idnode serve --host 0.0.0.0 --port 8000 "$@"
        ;;
    toplevel)
        shift
        exec idnode toplevel --host 0.0.0.0 --port 8100 --db "$data/toplevel.db" "$@"
        ;;
esac

if command -v "$1" >/dev/null 2>&1; then
    exec "$@"
fi
exec idnode "$@"
