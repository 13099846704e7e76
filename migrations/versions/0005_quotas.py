"""quotas per enterprise and their daily registration counts

Revision ID: 0005_quotas
Revises: 0004_audit
Create Date: 2026-12-04 12:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_quotas"
down_revision: str | None = "0004_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "quotas",
        sa.Column("enterprise_id", _ID, nullable=False),
        sa.Column("daily_resolutions", sa.BigInteger(), nullable=True),
        sa.Column("daily_registrations", sa.BigInteger(), nullable=True),
        sa.Column("identifiers", sa.BigInteger(), nullable=True),
        sa.Column("prefixes", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_quotas_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", name=op.f("pk_quotas")),
    )
    op.create_table(
        "quota_usage",
        sa.Column("enterprise_id", _ID, nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("registrations", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["enterprise_id"],
            ["enterprises.id"],
            name=op.f("fk_quota_usage_enterprise_id_enterprises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("enterprise_id", "day", name=op.f("pk_quota_usage")),
    )


def downgrade() -> None:
    op.drop_table("quota_usage")
    op.drop_table("quotas")
