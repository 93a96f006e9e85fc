"""The bot as its own operating-system process, exactly as ``ssphub-bot run`` starts it: for tests
that kill it with SIGKILL, where nothing in the bot gets a chance to clean up."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

STOP_GRACE = 30.0  # seconds a stopping bot has before it is killed
_LOG_TAIL_CHARS = 6000


class BotProcess:
    """``python -m bot run --config FILE``, its output appended to ``log_path``."""

    def __init__(self, config_text: str, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.config_path = directory / "bot.yaml"
        self.config_path.write_text(config_text)
        self.log_path = directory / "bot.log"
        self.starts = 0
        self.kills = 0
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Spawn the bot (one at a time: a running one must be killed or stopped first)."""
        assert self._process is None, "the bot process is already running"
        command = [sys.executable, "-m", "bot", "run", "--config", str(self.config_path)]
        with self.log_path.open("ab") as output:
            output.write(f"--- start {self.starts + 1} ---\n".encode())
            output.flush()
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL: the process ends wherever it is, between any two instructions."""
        process, self._process = self._process, None
        assert process is not None, "no bot process to kill"
        process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(process.wait)
        self.kills += 1
        with self.log_path.open("ab") as output:
            output.write(f"--- killed (SIGKILL) after start {self.starts} ---\n".encode())

    async def stop(self) -> int | None:
        """SIGTERM and wait (SIGKILL past the grace); the exit status, None if none ran."""
        process, self._process = self._process, None
        if process is None:
            return None
        process.send_signal(signal.SIGTERM)
        try:
            return await asyncio.to_thread(process.wait, STOP_GRACE)
        except subprocess.TimeoutExpired:
            process.kill()
            return await asyncio.to_thread(process.wait)

    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self) -> str:
        """The end of the bot's output, for a failing test's message."""
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-_LOG_TAIL_CHARS:]
