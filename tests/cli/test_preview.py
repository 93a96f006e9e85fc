"""`ssphub-bot feeds preview URL` fetches as the bot does: the same address rules, and what it
prints holds no control character from the feed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.cli import main
from tests.feeds.conftest import load_feed
from tests.feeds.feedserver import feed_server, items, retitle, with_items

HOSTILE_TITLE = "Infolettre\x00 piégée\x1b[2J\x1b]0;titre\x07 \u202eeuqidép"


def config_file(tmp_path: Path, allow: bool) -> Path:
    path = tmp_path / "bot.yaml"
    fetch = 'fetch: {allow_private: ["127.0.0.1"]}\n' if allow else ""
    path.write_text(
        'matrix: {homeserver: "http://127.0.0.1:8008", user_id: "@bot:localhost", password: pw}\n'
        f'rooms: ["!hub:localhost"]\n{fetch}',
        "utf-8",
    )
    return path


async def test_a_hostile_feed_prints_no_control_character(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NUL, terminal escapes and a bidi override in a title never reach the terminal."""
    home = load_feed("infolettre").decode()
    blocks = items(home)
    async with feed_server() as server:
        url = server.serve("/infolettre.xml", with_items(home, [retitle(blocks[0], HOSTILE_TITLE),
                                                                *blocks[1:]]))  # fmt: skip
        args = ["feeds", "preview", url, "--config", str(config_file(tmp_path, allow=True))]
        assert await asyncio.to_thread(main, args) == 0
    out = capsys.readouterr().out
    assert "Infolettre piégée[2J]0;titre euqidép" in out
    assert not [c for c in out if (ord(c) < 0x20 and c != "\n") or c == "\u202e"]


async def test_a_loopback_feed_is_refused_unless_the_configuration_allows_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``fetch.allow_private`` the command line refuses 127.0.0.1 as the bot would,
    and the server hears nothing."""
    async with feed_server() as server:
        url = server.serve("/infolettre.xml", load_feed("infolettre"))
        refused = await asyncio.to_thread(main, ["feeds", "preview", url])
        config = str(config_file(tmp_path, allow=False))
        refused_too = await asyncio.to_thread(main, ["feeds", "preview", url, "--config", config])
    assert (refused, refused_too) == (1, 1) and server.requests == []
    assert "forbidden: 127.0.0.1 is not fetched from (loopback)" in capsys.readouterr().err
