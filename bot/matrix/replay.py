"""The bot's nio client, with matrix-nio's replay-attack record kept to a bounded size.

To refuse a replayed Megolm message, nio remembers (sender key, session, message index) ->
(event id, timestamp) for every message it decrypts, the bot's own included, in an LRU cache of
100,000 entries: about 60 MiB of small Python objects once full, growing by about 0.6 KB a
message until then (3.6 MiB an hour at one command every 1.2 s and its answer). The bot keeps
the most recent ``REPLAY_WINDOW`` instead, a window far longer than the command grace at any
plausible traffic: a message replayed from beyond it is an expired command, ignored, unless the
homeserver also forges its timestamp (and a full 100,000-entry record would not stop that either).

nio builds that cache when it loads its store; this client swaps it for the smaller one right
after. ``tests/matrix/test_replay.py`` fails if nio stops keeping the cache where this expects it.
"""

from __future__ import annotations

from typing import Any

from nio import AsyncClient

REPLAY_WINDOW = 5_000  # messages; 16 a second sustained over the 300 s command grace


class BotClient(AsyncClient):  # type: ignore[misc]
    """An ``AsyncClient`` whose replay-attack record holds the last ``REPLAY_WINDOW`` messages."""

    def load_store(self) -> None:
        super().load_store()
        if self.olm is not None:
            self.olm.message_index_store = bounded(self.olm.message_index_store)


def bounded(record: Any, size: int = REPLAY_WINDOW) -> Any:
    """An empty cache of the kind of nio's ``record`` holding ``size`` entries.

    nio keeps the record in memory only: it is empty when the store has just been loaded."""
    if len(record):
        raise ValueError("nio's replay record is expected empty right after the store loads")
    return type(record)(maxsize=size)
