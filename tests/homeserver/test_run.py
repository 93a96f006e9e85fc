"""`ssphub-bot run` as an operator sees it: a line when it has started, its health check on the
configured port, private files, and a line when it stops cleanly."""

from __future__ import annotations

import asyncio
import json
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from bot.sandbox.synapse import LocalSynapse
from tests.homeserver.harness import bot_config_text, member, register
from tests.homeserver.process import BotProcess
from tests.homeserver.test_health import free_port
from tests.polling import until

pytestmark = pytest.mark.homeserver

PRIVATE = ["ssphub-bot.db", "ssphub-bot.db-wal", "ssphub-bot.db-shm", "ssphub-bot.db.lock",
           "session.json"]  # fmt: skip


def healthcheck(config: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "bot", "healthcheck", "--config", str(config)]
    return subprocess.run(command, capture_output=True, text=True, timeout=30)


async def test_a_run_is_framed_by_a_start_and_a_stop_line(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """The start line names version, device and database; the health check follows the port
    of the configuration; database, lock, session and crypto store are 0600; SIGTERM ends
    with exit 0 and a line saying what stopped and that nothing is left queued."""
    bot_user, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    room_id = await orga.create_room(invite=[bot_user.user_id])
    data = tmp_path / "data"
    text = bot_config_text(synapse, bot_user, password, data, rooms=[room_id], organisers=[],
                           web_port=free_port())  # fmt: skip
    process = BotProcess(text, tmp_path / "bot")
    process.start()
    try:

        async def started_line() -> bool:
            return " started as " in process.log_tail() or not process.alive()

        await until(started_line, timeout=60, what="the start line")
        started = _line(process, " started as ")
        expected = (
            rf"ssphub-bot 0\.1\.0 started as {re.escape(bot_user.user_id)}, device \w+; "
            rf"database SQLite {re.escape(str(data))}/ssphub-bot\.db; 1 room, 0 feeds; "
            r"web http://127\.0\.0\.1:\d+$"
        )
        assert re.search(expected, started), started
        await orga.wait_for_member(room_id, bot_user.user_id)
        ping = await orga.send_text(room_id, "!ping")
        await orga.wait_for_reply(room_id, ping)
        healthy = await asyncio.to_thread(healthcheck, process.config_path)
        assert healthy.returncode == 0 and json.loads(healthy.stdout)["ok"] is True
        crypto = sorted((data / "crypto").iterdir())
        assert crypto and all(_mode(data / name) == 0o600 for name in PRIVATE)
        assert all(_mode(path) == 0o600 for path in crypto)
        assert await process.stop() == 0
    finally:
        await process.stop()
        await orga.stop()
    stopped = _line(process, " stopped in ")
    expected = (
        r"ssphub-bot 0\.1\.0 stopped in \d+\.\d s: sync, sender, reminder scheduler, "
        r"newsletter fan-out, housekeeping, web server; nothing left queued in the outbox$"
    )
    assert re.search(expected, stopped), stopped
    gone = await asyncio.to_thread(healthcheck, process.config_path)
    assert gone.returncode == 1 and "no answer" in gone.stderr


def _line(process: BotProcess, words: str) -> str:
    return next(line for line in process.log_path.read_text().splitlines() if words in line)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_refused_login_is_one_line_and_exit_1(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """A wrong password ends the run with exit 1 and the homeserver's refusal, no traceback."""
    bot_user, _ = await register(synapse, "bot")
    text = bot_config_text(synapse, bot_user, "wrong", tmp_path / "data", rooms=["!r:localhost"],
                           organisers=[])  # fmt: skip
    command = [sys.executable, "-m", "bot", "run", "--config", str(tmp_path / "bot.yaml")]
    (tmp_path / "bot.yaml").write_text(text)
    result = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "ssphub-bot: login refused by the homeserver: M_FORBIDDEN"
    )
    assert "Traceback" not in result.stderr and " stopped in " in result.stderr
