"""An index of the status changes (revoke, hold, release) alone, for `CertificateStore.last_change`.

The CRL publisher of the leading process asks for a CA's newest status change every few seconds
(to learn of a change another worker made); issuance does not change a CRL, so issue events are
left out, and without this index the newest change after a long run of issuance would be found
by scanning past every one of them.

Revision ID: ca_0002
Revises: ca_0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "ca_0002"
down_revision = "ca_0001"
branch_labels = None
depends_on = None

CHANGES = sa.text("action <> 'issue'")


def upgrade() -> None:
    op.create_index("ca_events_changes", "ca_events", ["ca", "id"], sqlite_where=CHANGES, postgresql_where=CHANGES)
