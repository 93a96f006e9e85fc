"""The image, built from this tree and run against the test homeserver: healthy at the configured
port, as uid 10001, answering a command, private files, a clean stop, exactly the locked
versions, and an unwritable /data refused in one line. Skipped when no Docker daemon answers."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import pytest
from packaging.utils import canonicalize_name

from bot.sandbox.synapse import LocalSynapse
from tests.homeserver.harness import bot_config_text, member, register
from tests.homeserver.test_health import free_port
from tests.locking import ROOT, mismatches, needed, pins
from tests.polling import until

pytestmark = [pytest.mark.docker, pytest.mark.homeserver]

IMAGE = "ssphub-bot:test"
BUILD_TIMEOUT = 1800
PRIVATE = (
    "ssphub-bot.db ssphub-bot.db-wal ssphub-bot.db-shm ssphub-bot.db.lock session.json crypto/*"
)
UNWRITABLE = (
    "/data: the data directory is not writable by uid 10001 (Permission denied); fix: make it "
    "writable by uid 10001: chown -R 10001:10001 /data (Kubernetes: securityContext.fsGroup: "
    "10001)"
)


def docker(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="session")
def image() -> str:
    """The image built from the working tree, as an operator builds it (host network: the
    daemons these tests run beside have no bridge to the outside)."""
    if shutil.which("docker") is None or docker("info", timeout=30).returncode != 0:
        pytest.skip("no Docker daemon answers")
    built = docker("build", "--network", "host", "-t", IMAGE, str(ROOT), timeout=BUILD_TIMEOUT)
    if built.returncode != 0:
        pytest.fail(f"docker build failed:\n{(built.stdout + built.stderr)[-4000:]}")
    return IMAGE


@pytest.fixture
def container_name() -> Iterator[str]:
    """A unique name for a container and its volume, both removed afterwards."""
    name = f"ssphub-bot-test-{uuid4().hex[:8]}"
    yield name
    docker("rm", "--force", "--volumes", name)
    docker("volume", "rm", "--force", name)


def config_dir(tmp_path: Path, text: str) -> Path:
    """A directory holding config.yaml, readable by the container's user."""
    directory = tmp_path / "config"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    (directory / "config.yaml").write_text(text)
    (directory / "config.yaml").chmod(0o644)
    return directory


async def in_container(name: str, *command: str) -> str:
    result = await asyncio.to_thread(docker, "exec", name, *command)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def wait_healthy(name: str) -> None:
    """Until Docker reports the container healthy; fails at once if it exits."""

    async def healthy() -> bool:
        state = await asyncio.to_thread(docker, "inspect", "-f", "{{json .State}}", name)
        status = json.loads(state.stdout)
        assert status["Running"], (await asyncio.to_thread(docker, "logs", name)).stderr
        return bool(status["Health"]["Status"] == "healthy")

    await until(healthy, timeout=180, what="a healthy container")


async def test_the_image_runs_the_bot_and_stops_cleanly(
    image: str, synapse: LocalSynapse, tmp_path: Path, container_name: str
) -> None:
    """With web.port other than 8080 the container becomes healthy; the bot runs as uid 10001,
    answers !ping in an encrypted room, keeps its files 0600, and `docker stop` ends it with
    exit 0 and its stop line, without a traceback."""
    bot_user, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    room_id = await orga.create_room(invite=[bot_user.user_id])
    text = bot_config_text(synapse, bot_user, "${BOT_PASSWORD}", Path("/data"), rooms=[room_id],
                           organisers=[], web_port=free_port())  # fmt: skip
    config = config_dir(tmp_path, text)
    run = ["run", "--detach", "--name", container_name, "--network", "host",
           "--health-interval", "2s", "--env", f"BOT_PASSWORD={password}",
           "--volume", f"{config}:/config:ro", "--volume", f"{container_name}:/data",
           image]  # fmt: skip
    try:
        assert (await asyncio.to_thread(docker, *run)).returncode == 0
        await wait_healthy(container_name)
        status = await in_container(container_name, "cat", "/proc/1/status")
        assert "Uid:\t10001\t10001\t10001\t10001" in status
        await orga.wait_for_member(room_id, bot_user.user_id, timeout=60)
        ping = await orga.send_text(room_id, "!ping")
        await orga.wait_for_reply(room_id, ping, timeout=60)
        modes = await in_container(container_name, "sh", "-c", f"cd /data && stat -c %a {PRIVATE}")
        assert set(modes.split()) == {"600"}
        stopped = await asyncio.to_thread(docker, "stop", "--time", "30", container_name)
        assert stopped.returncode == 0
    finally:
        await orga.stop()
    state = json.loads(docker("inspect", "-f", "{{json .State}}", container_name).stdout)
    logs = docker("logs", container_name).stderr
    assert state["ExitCode"] == 0, logs
    assert " started as " in logs and "stopped in " in logs, logs
    assert "nothing left queued in the outbox" in logs and "Traceback" not in logs


@pytest.mark.parametrize("command", ["run", "check-config"])
def test_an_unwritable_data_volume_is_one_line_naming_it(
    image: str, tmp_path: Path, command: str
) -> None:
    """A /data the bot's user cannot write, with the default data_dir: exit 2 and one line."""
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    text = 'matrix: {homeserver: "http://127.0.0.1:9", user_id: "@b:localhost", password: x}\n'
    config = config_dir(tmp_path, text + 'rooms: ["!r:localhost"]\n')
    result = docker("run", "--rm", "--network", "host", "--volume", f"{config}:/config:ro",
                    "--volume", f"{data}:/data", image, command)  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == UNWRITABLE


def test_the_image_holds_exactly_the_locked_versions(image: str) -> None:
    """Every distribution in the image is the locked version, the runtime needs no more, and
    there is nothing besides the base image, the virtual environment and the data link."""
    script = (
        "import importlib.metadata as m, json, os; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()})); "
        "print(json.dumps(sorted(os.listdir('/app')) + sorted(os.listdir('/opt/venv/bin'))))"
    )
    result = docker("run", "--rm", "--entrypoint", "python", image, "-c", script)
    assert result.returncode == 0, result.stderr
    versions, listing = (json.loads(line) for line in result.stdout.splitlines())
    installed = {canonicalize_name(name): version for name, version in versions.items()}
    assert not mismatches(installed, pins())
    assert installed["ssphub-bot"] == needed()["ssphub-bot"]
    runtime = set(needed()) - {"ssphub-bot"}
    assert runtime <= set(installed), runtime - set(installed)
    assert "pip" not in installed and "pip" not in listing
    assert listing[0] == "data" and "ssphub-bot" in listing
