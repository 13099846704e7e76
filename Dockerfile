# idnode in a container: SQLite under /data by default, or PostgreSQL via IDNODE_DATABASE_URL.
FROM python:3.11-slim
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
ENV IDNODE_DATABASE_URL=sqlite+aiosqlite:////data/idnode.db
# The native Handle protocol on every interface; set IDNODE_HANDLE_SITE_ADDRESS to the address
# clients reach the container at, so the node's HS_SITE names it.
ENV IDNODE_HANDLE_HOST=0.0.0.0
# The node refuses to bind 0.0.0.0 while the public URL it publishes is a loopback one. Set
# IDNODE_PUBLIC_URL to the address clients reach (docker run -e IDNODE_PUBLIC_URL=https://…); the
# image allows the loopback default only so that a trial `docker run` starts.
ENV IDNODE_ALLOW_LOOPBACK_PUBLIC_URL=true
VOLUME /data
EXPOSE 8000 2641/tcp 2641/udp
CMD ["sh", "-c", "idnode migrate && exec idnode serve --host 0.0.0.0 --port 8000"]
