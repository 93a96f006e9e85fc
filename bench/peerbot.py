"""The peer, matrix-reminder-bot 0.4.0 from PyPI: its own virtual environment (made once, then
reused), its configuration, and its process, for the benchmarks that run it beside ours.

It needs no libolm: matrix-nio 0.26 does its cryptography with vodozemac, which comes as a wheel.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from processes import Process

from bot.sandbox.synapse import SynapseUser

PEER = "matrix-reminder-bot"
PEER_VERSION = "0.4.0"
PEER_PASSWORD = "bench-peer"
PEER_DEVICE = "BENCHPEER"
INSTALL_TIMEOUT = 900


def default_venv() -> Path:
    """Where the peer's virtual environment is kept between runs."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ssphub-bot-bench" / f"{PEER}-{PEER_VERSION}"


def installed_version(python: Path) -> str | None:
    """The peer's version in the environment of ``python``, or None when it is not there."""
    if not python.exists():
        return None
    probe = f"from importlib.metadata import version; print(version({PEER!r}))"
    found = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    return found.stdout.strip() if found.returncode == 0 else None


def peer_venv(venv: Path) -> tuple[Path, float | None]:
    """The peer's environment, made with venv and pip unless a usable one is there:
    (its ``bin`` directory, seconds the installation took or None when reused)."""
    python = venv / "bin" / "python"
    if installed_version(python) == PEER_VERSION:
        return python.parent, None
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True, timeout=120)
    pip = [str(python), "-m", "pip", "install", "--quiet", f"{PEER}=={PEER_VERSION}"]
    subprocess.run(pip, check=True, timeout=INSTALL_TIMEOUT)
    if installed_version(python) != PEER_VERSION:
        raise RuntimeError(f"{PEER} {PEER_VERSION} is not importable in {venv} after pip")
    return python.parent, time.perf_counter() - started


def peer_yaml(homeserver: str, user: SynapseUser, home: Path) -> str:
    """The peer's configuration (the keys its ``config.py`` reads), everyone allowed.

    Its reader refuses a missing option whose default is false, so those are all spelt out."""
    return f"""\
command_prefix: "!"
matrix:
  user_id: "{user.user_id}"
  user_password: "{PEER_PASSWORD}"
  device_id: {PEER_DEVICE}
  device_name: {PEER}
  homeserver_url: "{homeserver}"
storage:
  database: "sqlite://{home / "reminders.db"}"
  store_path: "{home / "store"}"
reminders: {{timezone: Europe/Paris}}
allowlist: {{enabled: false, regexes: []}}
blocklist: {{enabled: false, regexes: []}}
logging:
  level: INFO
  file_logging: {{enabled: false}}
  console_logging: {{enabled: true}}
"""


def peer_process(
    bin_dir: Path, homeserver: str, user: SynapseUser, base: Path, name: str = "peer"
) -> Process:
    """The peer on its own configuration and data in ``base / name``, not started yet."""
    home = base / name
    home.mkdir(parents=True)
    config = home / "config.yaml"
    config.write_text(peer_yaml(homeserver, user, home))
    return restarted(bin_dir, home)


def restarted(bin_dir: Path, home: Path) -> Process:
    """The peer again on the configuration and data ``peer_process`` left in ``home``."""
    return Process(PEER, [str(bin_dir / PEER), str(home / "config.yaml")], home)
