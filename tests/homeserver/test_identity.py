"""The bot's cross-signing identity on a real Synapse, seen by members on Element's crypto.

After a fresh start, a warm restart, a lost crypto store and a wiped data directory, the
homeserver publishes a master key, a self-signing key it signed, and the bot's current device
signed by that key; members who exclude insecure devices talk to the bot with no warning.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.app import App
from bot.config import Config
from bot.recoverykey import encode_recovery_key
from bot.sandbox.synapse import LocalSynapse, SynapseUser
from bot.trust import KeySource, Problem
from tests.homeserver.harness import bot_config, register, started
from tests.homeserver.identity_rig import (
    assert_no_secret,
    assert_signed_chain,
    device_of,
    identity_made_in_tchap,
    js_members,
    keys_query,
    secrets_in,
    trust_of,
)
from tests.homeserver.jsmember import ONLY_SIGNED, JsMember, install_client

pytestmark = pytest.mark.homeserver


@pytest.fixture(scope="module", autouse=True)
def _js_client() -> None:
    install_client()


def config_for(
    synapse: LocalSynapse, bot: SynapseUser, password: str, data_dir: Path, room: str,
    recovery_key: str | None = None, organisers: tuple[str, ...] = (),
) -> Config:  # fmt: skip
    matrix_extra = f'  recovery_key: "{recovery_key}"\n' if recovery_key else ""
    return bot_config(
        synapse, bot, password, data_dir, rooms=[room], organisers=list(organisers),
        matrix_extra=matrix_extra,
    )  # fmt: skip


@asynccontextmanager
async def scene(
    synapse: LocalSynapse, tmp_path: Path
) -> AsyncIterator[tuple[JsMember, SynapseUser, SynapseUser, str, Config]]:
    """A member excluding insecure devices in an encrypted room with a new bot account; the
    member, their account, the bot's account, the room, and the bot's configuration."""
    bot, password = await register(synapse, "bot")
    alice_user, _ = await register(synapse, "alice")
    async with js_members(synapse, tmp_path) as start:
        alice = await start(alice_user, ONLY_SIGNED)
        room = await alice.create_room([bot.user_id])
        config = config_for(synapse, bot, password, tmp_path / "bot", room)
        yield alice, alice_user, bot, room, config


async def answered_without_shield(member: JsMember, room: str, text: str = "!ping") -> None:
    """``text`` sent by ``member`` is answered, and the answer shows no shield."""
    asked = await member.send_text(room, text)
    answer = await member.wait_reply(room, asked)
    assert answer.decrypted and answer.shield == "NONE", answer


async def no_warning_about(member: JsMember, bot: SynapseUser, device_id: str) -> None:
    """The member's client sees ``device_id`` signed by the bot and no identity change."""
    await member.wait_device_signed(bot.user_id, device_id)
    status = await member.user_status(bot.user_id)
    assert status["hasCrossSigningKeys"] and not status["needsUserApproval"]


async def test_one_identity_across_restart_and_lost_crypto_store(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Fresh start: identity made, device signed. Warm restart: same device, nothing made.
    Crypto store lost: a new device, signed by the same master key; a member excluding
    insecure devices is answered throughout with no shield and no warning."""
    caplog.set_level(logging.DEBUG)
    async with scene(synapse, tmp_path) as (alice, alice_user, bot, room, config):
        app = await started(config)
        try:
            master = await _fresh_start(synapse, app, alice, alice_user, bot, room)
            app = await _warm_restart(app, config, synapse, alice_user, bot, master)
            await answered_without_shield(alice, room)
            app = await _lost_crypto_store(app, config, synapse, alice, alice_user, bot, master)
            await answered_without_shield(alice, room)
        finally:
            await app.stop()
    assert_no_secret([caplog.text], secrets_in(config.data_dir, bot.user_id))


async def _fresh_start(
    synapse: LocalSynapse, app: App, alice: JsMember, alice_user: SynapseUser,
    bot: SynapseUser, room: str,
) -> str:  # fmt: skip
    assert trust_of(app).source is KeySource.CREATED
    answer = await keys_query(synapse, alice_user, bot.user_id)
    master = assert_signed_chain(answer, bot.user_id, device_of(app))
    await alice.wait_for_member(room, bot.user_id)
    await answered_without_shield(alice, room)
    await no_warning_about(alice, bot, device_of(app))
    return master


async def _warm_restart(
    app: App, config: Config, synapse: LocalSynapse, alice_user: SynapseUser,
    bot: SynapseUser, master: str,
) -> App:  # fmt: skip
    device = device_of(app)
    recovery_file = config.data_dir / "recovery-key.txt"
    written = recovery_file.read_text(), recovery_file.stat().st_mtime_ns
    await app.stop()
    app = await started(config)
    assert trust_of(app).source is KeySource.ALREADY_SIGNED and device_of(app) == device
    assert (recovery_file.read_text(), recovery_file.stat().st_mtime_ns) == written
    answer = await keys_query(synapse, alice_user, bot.user_id)
    assert assert_signed_chain(answer, bot.user_id, device) == master
    return app


async def _lost_crypto_store(
    app: App, config: Config, synapse: LocalSynapse, alice: JsMember,
    alice_user: SynapseUser, bot: SynapseUser, master: str,
) -> App:  # fmt: skip
    old_device = device_of(app)
    await app.stop()
    shutil.rmtree(config.data_dir / "crypto")
    app = await started(config)
    assert trust_of(app).source is KeySource.DATA_DIR and device_of(app) != old_device
    answer = await keys_query(synapse, alice_user, bot.user_id)
    assert assert_signed_chain(answer, bot.user_id, device_of(app)) == master
    await no_warning_about(alice, bot, device_of(app))
    return app


async def test_wiped_data_dir_but_the_recovery_key_keeps_the_identity(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Everything in data_dir lost but the recovery key file: the bot logs in as a new device,
    takes its keys from Secret Storage, the identity is the same, and the member's client
    shows no warning."""
    caplog.set_level(logging.DEBUG)
    async with scene(synapse, tmp_path) as (alice, alice_user, bot, room, config):
        app = await started(config)
        old_device = device_of(app)
        before = await keys_query(synapse, alice_user, bot.user_id)
        master = assert_signed_chain(before, bot.user_id, old_device)
        await alice.wait_for_member(room, bot.user_id)
        await answered_without_shield(alice, room)
        secrets = secrets_in(config.data_dir, bot.user_id)
        await app.stop()
        _wipe_all_but(config.data_dir, "recovery-key.txt")
        app = await started(config)
        try:
            assert trust_of(app).source is KeySource.SECRET_STORAGE
            assert device_of(app) != old_device
            answer = await keys_query(synapse, alice_user, bot.user_id)
            assert assert_signed_chain(answer, bot.user_id, device_of(app)) == master
            await no_warning_about(alice, bot, device_of(app))
            await answered_without_shield(alice, room)
        finally:
            await app.stop()
    assert_no_secret([caplog.text], secrets)


def _wipe_all_but(data_dir: Path, keep: str) -> None:
    for path in data_dir.iterdir():
        if path.name == keep:
            continue
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


@pytest.mark.parametrize("passphrase", [None, "une phrase secrète pour le bot"])
async def test_identity_made_in_tchap_is_taken_with_its_recovery_key(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    passphrase: str | None,
) -> None:  # fmt: skip
    """An account whose identity an Element-based client made: with its recovery key (or
    passphrase) in the configuration, the bot signs its device with that same identity."""
    caplog.set_level(logging.DEBUG)
    bot, password = await register(synapse, "bot")
    alice_user, _ = await register(synapse, "alice")
    async with js_members(synapse, tmp_path) as start:
        made = await identity_made_in_tchap(synapse, bot, password, start, passphrase)
        alice = await start(alice_user, ONLY_SIGNED)
        room = await alice.create_room([bot.user_id])
        key = passphrase or made["recoveryKey"]
        data_dir = tmp_path / "bot"
        app = await started(config_for(synapse, bot, password, data_dir, room, key))
        try:
            assert trust_of(app).source is KeySource.SECRET_STORAGE
            answer = await keys_query(synapse, alice_user, bot.user_id)
            assert assert_signed_chain(answer, bot.user_id, device_of(app)) == made["masterKey"]
            await alice.wait_for_member(room, bot.user_id)
            await answered_without_shield(alice, room)
            await no_warning_about(alice, bot, device_of(app))
        finally:
            await app.stop()
    given = [made["recoveryKey"], passphrase or ""]
    assert_no_secret([caplog.text], secrets_in(data_dir, bot.user_id, given))


async def test_wrong_recovery_key_keeps_the_bot_up_and_says_what_to_do(
    synapse: LocalSynapse, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A recovery key that does not open the account's secret storage: one ERROR line with the
    remedy, the metric at 0, !statut says the device is not verified and what to do, commands
    still answered (with the red shield an unsigned device gets), and no secret anywhere."""
    caplog.set_level(logging.DEBUG)
    bot, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    wrong = encode_recovery_key(bytes(range(1, 33)))
    async with js_members(synapse, tmp_path) as start:
        made = await identity_made_in_tchap(synapse, bot, password, start)
        orga = await start(orga_user)
        room = await orga.create_room([bot.user_id])
        config = config_for(
            synapse, bot, password, tmp_path / "bot", room, wrong, organisers=(orga.user_id,)
        )
        app = await started(config)
        try:
            seen = await _unsigned_bot_answers(app, orga, bot, room)
        finally:
            await app.stop()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["bot.matrix.identity"]
    assert "matrix.recovery_key" in errors[0].getMessage() and "Remedy" in errors[0].getMessage()
    exposition = app.metrics.exposition(None)[0].decode()
    secrets = {wrong, wrong.replace(" ", ""), made["recoveryKey"]}
    assert_no_secret([caplog.text, exposition, *seen], secrets)


async def _unsigned_bot_answers(app: App, orga: JsMember, bot: SynapseUser, room: str) -> list[str]:
    """The bot, unable to sign, still answers; !statut explains. The texts the member saw."""
    assert trust_of(app).problem is Problem.WRONG_RECOVERY_KEY
    assert "ssphub_device_cross_signed 0.0" in app.metrics.exposition(None)[0].decode()
    await orga.wait_for_member(room, bot.user_id)
    asked = await orga.send_text(room, "!statut")
    status = await orga.wait_reply(room, asked)
    assert status.body is not None
    assert f"Appareil {device_of(app)} : NON vérifié" in status.body
    assert "matrix.recovery_key" in status.body
    assert (status.shield, status.shield_reason) == ("RED", "UNSIGNED_DEVICE")
    asked = await orga.send_text(room, "!ping")
    pong = await orga.wait_reply(room, asked)
    assert pong.body == "pong 🏓"
    return [status.body, pong.body]
