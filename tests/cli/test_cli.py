"""The command line: check-config explains every problem, and the entry point is wired."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

MINIMAL = """\
matrix:
  homeserver: http://127.0.0.1:8008
  user_id: "@ssphub-bot:localhost"
  password: ${BOT_PASSWORD}
rooms: ["!abcdef:localhost"]
organisers: ["@orga:localhost"]
feeds:
  - url: http://127.0.0.1:8765/infolettre.xml
    interval: 60
  - url: http://127.0.0.1:8765/event.xml
fetch:
  allow_private: ["127.0.0.1"]     # the feeds above are on loopback
data_dir: ./data
"""


def test_check_config_accepts_the_minimal_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A valid file is reported valid and the exit code is 0."""
    monkeypatch.setenv("BOT_PASSWORD", "s3cret")
    path = tmp_path / "bot.yaml"
    path.write_text(MINIMAL, "utf-8")
    assert main(["check-config", "--config", str(path)]) == 0
    assert "valid" in capsys.readouterr().out


def test_check_config_lists_every_problem_and_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each problem is printed on its own line with file and key, and the exit code is 2."""
    monkeypatch.delenv("BOT_PASSWORD", raising=False)
    path = tmp_path / "bot.yaml"
    broken = MINIMAL.replace("interval: 60", "interval: 1").replace("fr", "xx")
    path.write_text(broken + "langage: fr\n", "utf-8")
    assert main(["check-config", "--config", str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 3
    assert all(line.startswith(f"{path}: ") for line in lines)
    joined = "\n".join(lines)
    assert "matrix.password" in joined and "BOT_PASSWORD" in joined
    assert "feeds[0].interval" in joined and "langage" in joined


def test_check_config_names_a_missing_file(capsys: pytest.CaptureFixture[str]) -> None:
    """A file that does not exist is one clear problem, exit code 2."""
    assert main(["check-config", "--config", "/nonexistent/bot.yaml"]) == 2
    assert "/nonexistent/bot.yaml" in capsys.readouterr().err


def test_console_entry_point_runs_as_a_module() -> None:
    """`python -m bot --help` lists the subcommands."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("run", "sandbox", "check-config", "db"):
        assert command in result.stdout


def test_check_config_explains_the_recovery_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unset, check-config says what the bot does without it; set, what it takes it for,
    never printing it."""
    monkeypatch.setenv("BOT_PASSWORD", "s3cret")
    path = tmp_path / "bot.yaml"
    path.write_text(MINIMAL, "utf-8")
    assert main(["check-config", "--file-only", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "matrix.recovery_key is not set" in out and "recovery-key.txt" in out
    monkeypatch.setenv("BOT_RECOVERY_KEY", "une phrase de passe")
    path.write_text(MINIMAL.replace("rooms:", "  recovery_key: ${BOT_RECOVERY_KEY}\nrooms:"))
    assert main(["check-config", "--file-only", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "used as the secret storage passphrase" in out and "une phrase" not in out
