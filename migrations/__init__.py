"""Alembic migrations of the bot's database (installed as ``bot.migrations``)."""
