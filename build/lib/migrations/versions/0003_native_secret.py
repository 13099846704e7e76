"""credentials.native_secret for the native protocol's HS_SECKEY challenge answers

Revision ID: 0003_native_secret
Revises: 0002_snms
Create Date: 2026-12-04 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_native_secret"
down_revision: str | None = "0002_snms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("native_secret", sa.String(length=400), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("credentials", schema=None) as batch_op:
        batch_op.drop_column("native_secret")
