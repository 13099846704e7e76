"""The container's HEALTHCHECK: exit 0 when ``/healthz`` answers 200, else 1 (the image has no curl).

python healthcheck.py [URL]     (default $HEALTHCHECK_URL, else http://127.0.0.1:8000/healthz)
"""

import os
import sys
import urllib.request

DEFAULT = "http://127.0.0.1:8000/healthz"


def main(argv: list[str]) -> int:
    url = argv[1] if len(argv) > 1 else os.environ.get("HEALTHCHECK_URL", DEFAULT)
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            healthy = response.status == 200
    except OSError as exc:  # refused, timed out, or an HTTP error status
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if not healthy:
        print(f"unhealthy: {url}: {response.status}", file=sys.stderr)
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
