"""Times as people in China read them: China Standard Time (UTC+8, no daylight saving)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["CHINA", "china_time"]

# Fixed since 1991; a fixed offset needs no tz database on the machine.
CHINA = timezone(timedelta(hours=8), "CST")
_FORMATS = {"zh_CN": "%Y年%m月%d日 %H:%M:%S", "en": "%Y-%m-%d %H:%M:%S"}


@functools.lru_cache(maxsize=4096)
def china_time(timestamp: str | None, locale: str) -> str:
    """An ISO 8601 timestamp (UTC when it names no zone) in China time, or ``""``."""
    if not timestamp:
        return ""
    try:
        moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    except ValueError:
        return timestamp
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(CHINA).strftime(_FORMATS.get(locale, _FORMATS["en"]))
