"""Memory of matrix-nio's replay-attack record: nio's own client against the bot's, by messages.

Each client loads a crypto store in a temporary directory, then records decrypted messages the
way nio does after each Megolm decryption (``Olm.message_index_ok``), with identifiers shaped like
real ones (43-character sender keys and session ids, 44-character event ids), each message its
own objects, as when read from a sync. tracemalloc counts what the record holds after 1,000,
10,000 and ``--messages`` messages: nio's record keeps 100,000, the bot's ``REPLAY_WINDOW``.

    python bench/replay_memory.py [--messages 100000]
"""

from __future__ import annotations

import argparse
import base64
import os
import tempfile
import tracemalloc
from types import SimpleNamespace

from nio import AsyncClient, AsyncClientConfig

from bot.matrix.replay import REPLAY_WINDOW, BotClient

SESSIONS = 6  # the members' and the bot's own outbound sessions


def ident(size: int) -> str:
    return base64.b64encode(os.urandom(33)).decode()[:size]


def held(kind: type[AsyncClient], counts: list[int]) -> list[float]:
    """MiB the record of a fresh ``kind`` client holds after each of ``counts`` messages."""
    with tempfile.TemporaryDirectory(prefix="ssphub-bench-") as store:
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)
        client = kind("http://127.0.0.1:1", "@bot:localhost", "BENCH", store, config)
        client.restore_login("@bot:localhost", "BENCH", "token")
        sessions = [(ident(43), ident(43)) for _ in range(SESSIONS)]
        tracemalloc.start()
        figures = []
        for n in range(1, max(counts) + 1):
            key, session = sessions[n % SESSIONS]
            event = SimpleNamespace(
                sender_key="".join(key), session_id="".join(session),  # copies, as from JSON
                event_id="$" + ident(43), server_timestamp=1_765_000_000_000 + n,
            )  # fmt: skip
            client.olm.message_index_ok(n // SESSIONS, event)
            if n in counts:
                figures.append(tracemalloc.get_traced_memory()[0] / 2**20)
        tracemalloc.stop()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    counts = sorted({1_000, 10_000, args.messages})
    print(f"replay-attack record, MiB held after N decrypted messages (bot window {REPLAY_WINDOW})")
    print(f"{'':28}" + "".join(f"{n:>12,}" for n in counts))
    for label, kind in (("nio's AsyncClient", AsyncClient), ("the bot's BotClient", BotClient)):
        print(f"{label:28}" + "".join(f"{mib:12.2f}" for mib in held(kind, counts)))


if __name__ == "__main__":
    main()
