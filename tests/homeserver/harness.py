"""Runs the real bot in-process against the test Synapse, with real member clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import uuid4

from bot.app import App
from bot.config import Config, parse_config
from bot.matrix.member import Member
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.storage import outbox
from bot.storage.db import Database
from tests.polling import until


def bot_config(
    synapse: LocalSynapse, bot: SynapseUser, password: str, data_dir: Path, **options: Any
) -> Config:
    """A bot configuration for the test homeserver; the options are ``bot_config_text``'s."""
    text = bot_config_text(synapse, bot, password, data_dir, **options)
    return parse_config(text, source="test.yaml", environ={})


def bot_config_text(
    synapse: LocalSynapse,
    bot: SynapseUser,
    password: str,
    data_dir: Path,
    *,
    rooms: list[str],
    organisers: list[str],
    extra: str = "",
    matrix_extra: str = "",
    grace: int = 300,
    pace_seconds: float = 0,
    max_backoff_seconds: float = 300,
    web_port: int = 0,
    allow_private: Sequence[str] = ("127.0.0.1",),
) -> str:
    """A bot configuration's YAML for the test homeserver; ``extra`` adds top-level YAML,
    ``matrix_extra`` lines of the matrix section (indented by two spaces). The feeds the tests
    serve are on loopback, which the bot fetches from only when allowed."""
    fetch = f"fetch:\n  allow_private: {list(allow_private)}\n" if allow_private else ""
    return f"""\
matrix:
  homeserver: {synapse.url}
  user_id: "{bot.user_id}"
  password: "{password}"
  sync_timeout_ms: 5000
  command_grace_seconds: {grace}
{matrix_extra}rooms: {rooms}
organisers: {organisers}
data_dir: {data_dir}
web:
  port: {web_port}
commands:
  rate_limit: {{burst: 50, per_seconds: 10}}
sending:
  pace_seconds: {pace_seconds}
  max_backoff_seconds: {max_backoff_seconds}
{fetch}{extra}"""


async def member(synapse: LocalSynapse, user: SynapseUser, tmp: Path) -> Member:
    """A started member client with its own crypto store."""
    client = Member(
        synapse.url,
        user.user_id,
        user.device_id,
        user.access_token,
        tmp / f"member-{user.localpart}",
    )
    await client.start()
    return client


async def register(synapse: LocalSynapse, prefix: str) -> tuple[SynapseUser, str]:
    """A fresh user and its password."""
    password = uuid4().hex
    localpart = f"{prefix}-{uuid4().hex[:10]}"
    return await synapse.register(localpart, password), password


async def started(config: Config) -> App:
    app = App(config)
    await app.start()
    return app


async def poll(condition: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    """A bounded poll of an async condition."""
    await until(condition, timeout)


async def outbox_counts(db: Database) -> dict[str, int]:
    async with db.session() as session:
        return await outbox.counts(session)
