"""ssphub-bot installed as the image installs it, for the benchmarks that time its start or weigh
its memory: a virtual environment of its own with the runtime dependencies only (pinned by the
lock, no test or sandbox extra: Synapse's cffi would otherwise be loaded by pycryptodome), and the
bot from a source tree built as a wheel, its bytecode compiled at install.

The environment lives under the user's cache directory, beside the peer's, one for each set of
runtime requirements and lock (so two versions compared in turn each keep theirs); the bot
itself is reinstalled at every run (a few seconds), from the tree the benchmark names (this one
by default).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tomllib
from pathlib import Path

TREE = Path(__file__).resolve().parents[1]
INSTALL_TIMEOUT = 900
MARKER = "requirements.sha256"


def venv_for(digest: str) -> Path:
    """Where the runtime environment of these requirements is kept between runs."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ssphub-bot-bench" / f"ssphub-bot-runtime-{digest[:12]}"


def _requirements(tree: Path) -> tuple[list[str], str]:
    """The runtime requirements of ``tree`` and a digest of them with its lock."""
    project = tomllib.loads((tree / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    digest = hashlib.sha256("\n".join(wanted).encode() + (tree / "requirements.lock").read_bytes())
    return wanted, digest.hexdigest()


def _pip(venv: Path, *args: str) -> None:
    command = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *args]
    subprocess.run(command, check=True, timeout=INSTALL_TIMEOUT)


def installed_bot(tree: Path = TREE) -> Path:
    """``ssphub-bot`` from ``tree`` in its runtime environment (made when missing); the path of
    its command."""
    wanted, digest = _requirements(tree)
    venv = venv_for(digest)
    marker = venv / MARKER
    if not marker.exists() or marker.read_text() != digest:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        _pip(venv, *wanted, "--constraint", str(tree / "requirements.lock"))
        marker.write_text(digest)
    _pip(venv, "--no-deps", "--force-reinstall", str(tree))
    return venv / "bin" / "ssphub-bot"
