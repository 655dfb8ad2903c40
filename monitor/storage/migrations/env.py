"""Alembic environment: migrations always run on the connection the store hands over (inside its
own transaction, under its lock); there is no offline mode and no ``alembic.ini``."""

from __future__ import annotations

from alembic import context

from monitor.storage.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
context.run_migrations()
