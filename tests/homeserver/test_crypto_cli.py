"""``ssphub-bot crypto status`` and ``crypto reset``, run as an operator runs them."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import load_config
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.trust import KeySource
from tests.homeserver.harness import bot_config_text, register, started
from tests.homeserver.identity_rig import (
    assert_no_secret,
    assert_signed_chain,
    device_of,
    keys_query,
    secrets_in,
    trust_of,
)

pytestmark = pytest.mark.homeserver


async def crypto(config_path: Path, *arguments: str) -> tuple[int, str]:
    """``ssphub-bot crypto ...`` in its own process, no terminal; exit status and output."""
    command = [sys.executable, "-m", "bot", "crypto", *arguments, "--config", str(config_path)]
    done = await asyncio.to_thread(
        subprocess.run, command, capture_output=True, text=True, stdin=subprocess.DEVNULL,
        timeout=120,
    )  # fmt: skip
    return done.returncode, done.stdout + done.stderr


def write_config(
    synapse: LocalSynapse, bot: SynapseUser, password: str, tmp_path: Path, room: str
) -> Path:
    path = tmp_path / "bot.yaml"
    text = bot_config_text(synapse, bot, password, tmp_path / "bot", rooms=[room], organisers=[])
    path.write_text(text)
    return path


async def test_status_tells_where_things_stand_without_secrets(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """Before the first start there is no device; after it, the identity is published, the
    device signed, the keys on disk match, and the recovery key file opens the storage."""
    bot, password = await register(synapse, "bot")
    config_path = write_config(synapse, bot, password, tmp_path, "!room:localhost")
    status, before = await crypto(config_path, "status")
    assert status == 1 and "none yet" in before
    app = await started(load_config(config_path))
    device = device_of(app)
    await app.stop()
    status, output = await crypto(config_path, "status")
    assert status == 0, output
    assert f"device:          {device}" in output
    assert "device signed:   yes" in output and "identity:        published" in output
    assert "the published identity's" in output
    assert "holds the self-signing key; " in output and "recovery-key.txt opens it" in output
    assert "next start:      nothing to do" in output
    assert_no_secret([output], secrets_in(tmp_path / "bot", bot.user_id))


async def test_reset_replaces_the_identity_and_signs_the_device(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """``crypto reset --yes`` publishes a new master key, signs the device with it, writes a
    new recovery key; the next start finds the device already signed."""
    bot, password = await register(synapse, "bot")
    observer, _ = await register(synapse, "observer")
    config_path = write_config(synapse, bot, password, tmp_path, "!room:localhost")
    config = load_config(config_path)
    app = await started(config)
    device = device_of(app)
    old_master = assert_signed_chain(await keys_query(synapse, observer, bot.user_id),
                                     bot.user_id, device)  # fmt: skip
    old_recovery = (tmp_path / "bot" / "recovery-key.txt").read_text()
    status, running = await crypto(config_path, "reset", "--yes")
    assert status == 1 and "a running bot holds this database" in running
    await app.stop()
    status, output = await crypto(config_path, "reset", "--yes")
    assert status == 0, output
    new_master = assert_signed_chain(await keys_query(synapse, observer, bot.user_id),
                                     bot.user_id, device)  # fmt: skip
    assert new_master != old_master and f"master key {new_master}" in output
    assert (tmp_path / "bot" / "recovery-key.txt").read_text() != old_recovery
    assert_no_secret([output, running], secrets_in(tmp_path / "bot", bot.user_id))
    app = await started(config)
    try:
        assert trust_of(app).source is KeySource.ALREADY_SIGNED
    finally:
        await app.stop()


async def test_reset_refuses_without_confirmation_or_password(
    synapse: LocalSynapse, tmp_path: Path
) -> None:
    """Outside a terminal, reset wants --yes; with a token-only configuration it says to set
    matrix.password; nothing changes either way."""
    bot, password = await register(synapse, "bot")
    observer, _ = await register(synapse, "observer")
    config_path = write_config(synapse, bot, password, tmp_path, "!room:localhost")
    status, output = await crypto(config_path, "reset")
    assert status == 1 and "--yes" in output and "identity changed" in output
    token_only = config_path.read_text().replace(
        f'password: "{password}"', f'access_token: "{bot.access_token}"'
    )
    config_path.write_text(token_only)
    status, output = await crypto(config_path, "reset", "--yes")
    assert status == 2 and "matrix.password" in output
    assert not (await keys_query(synapse, observer, bot.user_id)).get("master_keys")
