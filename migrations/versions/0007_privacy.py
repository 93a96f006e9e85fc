"""Privacy: outbox rows name the member whose private data they carry; addresses say how they are
known (one address may sit in two rows); codes mailed to confirm an address.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UtcDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# SQLite's inline UNIQUE has no name: this convention names it so batch mode can drop it.
NAMING = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
subscriber = sa.table(
    "subscriber",
    sa.column("id", sa.Integer()),
    sa.column("user_id", sa.String()),
    sa.column("email", sa.String()),
    sa.column("source", sa.String()),
    sa.column("address_status", sa.String()),
)


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("private_for", sa.String(255), nullable=True))
    op.create_index("ix_outbox_private_for", "outbox", ["private_for"])
    _subscriber_email_not_unique()
    _address_status()
    op.create_table(
        "address_check",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("room_id", sa.String(255), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("code_hash", sa.String(128), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("expires_at", UtcDateTime(), nullable=False),
    )


def _subscriber_email_not_unique() -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table("subscriber", naming_convention=NAMING) as batch:
            batch.drop_constraint("uq_subscriber_email", type_="unique")
            batch.add_column(sa.Column("address_status", sa.String(16), nullable=True))
    else:
        op.drop_constraint("subscriber_email_key", "subscriber", type_="unique")
        op.add_column("subscriber", sa.Column("address_status", sa.String(16), nullable=True))
    op.create_index("ix_subscriber_email", "subscriber", ["email"])


def _address_status() -> None:
    """Imported rows came from the hub's table; a member's row matched their Tchap id or not
    (the rule of ``bot.services.subscriptions.addresses.candidates_for``, as of this version)."""
    bind = op.get_bind()
    bind.execute(
        subscriber.update()
        .where(subscriber.c.source == "import", subscriber.c.email.is_not(None))
        .values(address_status="import")
    )
    rows = bind.execute(
        sa.select(subscriber.c.id, subscriber.c.user_id, subscriber.c.email).where(
            subscriber.c.source == "tchap", subscriber.c.email.is_not(None)
        )
    )
    for row_id, user_id, email in rows.all():
        status = "tchap" if _encoded_by(user_id or "", email) else "unconfirmed"
        bind.execute(
            subscriber.update().where(subscriber.c.id == row_id).values(address_status=status)
        )


def _encoded_by(user_id: str, email: str) -> bool:
    """Whether the Tchap id ``@prenom.nom-domaine.fr:server`` encodes ``email``."""
    local = user_id.removeprefix("@").partition(":")[0].lower()
    local = re.sub(r"=([0-9a-f]{2})", lambda match: chr(int(match[1], 16)), local)
    name, _, domain = email.lower().rpartition("@")
    return local == f"{name}-{domain}"


def downgrade() -> None:
    op.drop_table("address_check")
    op.drop_index("ix_subscriber_email", table_name="subscriber")
    with op.batch_alter_table("subscriber", naming_convention=NAMING) as batch:
        batch.drop_column("address_status")
        batch.create_unique_constraint("uq_subscriber_email", ["email"])
    op.drop_index("ix_outbox_private_for", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("private_for")
