"""Persistence: SQLAlchemy 2 models, the async database handle, migrations and repositories."""
