# idnode in a container. Everything the node keeps is under the /data volume: the SQLite database
# (unless IDNODE_DATABASE_URL names PostgreSQL), the signing keys, the credential key sealing SNMS
# cipher-login verifiers, the sync secrets key, and the simulated top-level's state. Re-creating
# the container keeps them; losing the volume loses the node's identity (see "Backup and restore").
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY registry ./registry
COPY resolver ./resolver
COPY node ./node
COPY toplevel ./toplevel
COPY httpapi ./httpapi
COPY migrations ./migrations
COPY loadtests ./loadtests
RUN pip install --no-cache-dir .
COPY deploy/docker-entrypoint.sh /usr/local/bin/idnode-entrypoint
COPY deploy/healthcheck.py /usr/local/lib/idnode-healthcheck.py

# Not root: a system user owning /data and nothing else.
RUN useradd --system --uid 10001 --user-group --home-dir /data --no-create-home idnode \
    && mkdir -p /data/keys \
    && chown -R idnode:idnode /data \
    && chmod 0700 /data /data/keys

ENV DATA_DIR=/data \
    IDNODE_DATABASE_URL=sqlite+aiosqlite:////data/idnode.db \
    IDNODE_KEYS_DIR=/data/keys \
    IDNODE_TOPLEVEL_ROOT_DIR=/data/root
# The native Handle protocol on every interface; set IDNODE_HANDLE_SITE_ADDRESS to the address
# clients reach the container at, so the node's HS_SITE names it.
ENV IDNODE_HANDLE_HOST=0.0.0.0
# The node refuses to bind 0.0.0.0 while the public URL it publishes is a loopback one. Set
# IDNODE_PUBLIC_URL to the address clients reach (docker run -e IDNODE_PUBLIC_URL=https://…); the
# image allows the loopback default only so that a trial `docker run` starts.
ENV IDNODE_ALLOW_LOOPBACK_PUBLIC_URL=true

USER idnode
VOLUME /data
EXPOSE 8000 2641/tcp 2641/udp
# Liveness only (/healthz touches no database); orchestrators route traffic on /readyz.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "/usr/local/lib/idnode-healthcheck.py"]
ENTRYPOINT ["idnode-entrypoint"]
CMD ["serve"]
