"""The schema that migrations build is the schema the models describe, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from acuhead.store.db import Database
from acuhead.store.models import Base


def test_migrations_leave_no_difference_from_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"render_as_batch": True})
        diff = compare_metadata(ctx, Base.metadata)
    assert diff == []


def test_every_clinic_owned_table_carries_the_tenant_key(db: Database) -> None:
    shared = {
        "clinics",
        "users",
        "login_attempts",
        "auth_sessions",
        "alembic_version",
        "audit_events",
    }
    names = set(inspect(db.engine).get_table_names())
    for table in names - shared:
        columns = {c["name"] for c in inspect(db.engine).get_columns(table)}
        assert "clinic_id" in columns, table
