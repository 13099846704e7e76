"""The readable HTML page of a record: escaped, self-contained, no external assets."""

from __future__ import annotations

import base64
import hashlib
import json
from html import escape

from registry import Record

from .links import is_web_url

__all__ = ["PAGE_HEADERS", "error_page", "record_page"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:56rem;padding:0 1rem;color:#222}
h1{font-size:1.3rem;word-break:break-all}table{border-collapse:collapse;width:100%}
th,td{border:1px solid #ccc;padding:.4rem .6rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}td.v{word-break:break-all;font-family:ui-monospace,monospace}
.muted{color:#666;font-size:.9rem}
"""
_STYLE_HASH = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()

# The pages load nothing and run nothing: only their own inline style, named by its hash.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; base-uri 'none';"
        " form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    # Which identifier a phone scanned is not the linked site's business.
    "Referrer-Policy": "no-referrer",
}


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _display(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def record_page(record: Record, dns_name: str | None = None) -> str:
    """The record's public values as a table; ``dns_name``: its name on the DNS frontend."""
    rows = []
    for value in record.values:
        shown = escape(_display(value.value))
        if value.type == "URL" and value.format == "string" and is_web_url(value.value):
            shown = f'<a href="{escape(value.value, quote=True)}" rel="noopener">{shown}</a>'
        rows.append(
            f"<tr><td>{value.index}</td><td>{escape(value.type)}</td>"
            f"<td class=v>{shown}</td><td>{value.ttl}</td><td>{escape(value.timestamp or '')}</td></tr>"
        )
    table = (
        "<table><thead><tr><th>Index</th><th>Type</th><th>Data</th><th>TTL</th><th>Timestamp</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table>"
        if rows
        else "<p>This identifier has no public values.</p>"
    )
    handle = escape(str(record.handle))
    dns_line = (
        "" if dns_name is None else f"<p class=muted>DNS: <code>{escape(dns_name)}</code></p>"
    )
    return _page(
        str(record.handle),
        f"<h1>{handle}</h1>{table}{dns_line}<p class=muted>Resolved by idnode.</p>",
    )


def error_page(title: str, message: str) -> str:
    return _page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")
