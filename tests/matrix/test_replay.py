"""The bot's nio client keeps nio's replay-attack record, bounded; fails if nio moves it."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from cachetools import LRUCache
from nio import AsyncClientConfig
from nio.crypto import Olm

from bot.matrix.replay import REPLAY_WINDOW, BotClient, bounded


def test_nio_still_keeps_its_replay_record_where_the_bound_expects_it() -> None:
    """nio's Olm machine builds an LRU cache sized by a class setting: what BotClient replaces."""
    assert Olm._message_index_store_size == 100_000
    assert hasattr(Olm, "message_index_ok")


async def test_the_bot_client_record_is_bounded_and_still_refuses_a_replay(tmp_path: Path) -> None:
    """After the store loads, the record holds REPLAY_WINDOW entries and a replay is caught."""
    config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
    client = BotClient("http://127.0.0.1:1", "@bot:localhost", "BOTDEVICE", str(tmp_path), config)
    client.restore_login("@bot:localhost", "BOTDEVICE", "token")
    try:
        record = client.olm.message_index_store
        assert isinstance(record, LRUCache) and record.maxsize == REPLAY_WINDOW
        first = SimpleNamespace(sender_key="k", session_id="s", event_id="$a", server_timestamp=1)
        replay = SimpleNamespace(sender_key="k", session_id="s", event_id="$b", server_timestamp=2)
        assert client.olm.message_index_ok(7, first)
        assert client.olm.message_index_ok(7, first)  # the same event again is no replay
        assert not client.olm.message_index_ok(7, replay)
    finally:
        await client.close()


def test_the_record_forgets_the_oldest_beyond_the_window() -> None:
    """The bounded record keeps the most recent entries only."""
    record = bounded(LRUCache(maxsize=100_000), size=3)
    for n in range(5):
        record[n] = n
    assert sorted(record) == [2, 3, 4]


def test_a_record_already_filled_is_refused() -> None:
    """Bounding a record that already holds entries would drop them: refused loudly."""
    filled: LRUCache[int, int] = LRUCache(maxsize=10)
    filled[1] = 1
    with pytest.raises(ValueError):
        bounded(filled)
