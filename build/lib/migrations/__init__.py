"""Alembic migrations of idnode's schema."""

from pathlib import Path

SCRIPT_LOCATION = Path(__file__).parent
