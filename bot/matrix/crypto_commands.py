"""The work of ``ssphub-bot crypto status`` and ``crypto reset`` (see ``bot.cli.crypto``)."""

from __future__ import annotations

import asyncio
import getpass
import sys
from typing import TYPE_CHECKING

from nio import AsyncClient

from bot.matrix.crosssigning import SECRET_NAMES, PublishedIdentity
from bot.matrix.identity import Identity, IdentitySettings
from bot.matrix.keysapi import KeysApi
from bot.matrix.secretstorage import SecretStorage, SecretStorageError
from bot.matrix.session import SESSION_FILE, LoginSettings, Session, client_config, read_credentials
from bot.recoverykey import describe_recovery_key
from bot.trust import RECOVERY_KEY_FILE, REMEDIES, Problem

if TYPE_CHECKING:
    from bot.config import Config

RESET_WARNING = """\
This replaces the cryptographic identity of {user}.
- Members' clients will show that the bot's identity changed; those who verified the bot
  must verify it again.
- The current recovery key stops working; a new one is written to {file}.
"""


# --- status ------------------------------------------------------------------------------------


async def status(config: Config) -> int:
    """Print what the homeserver and ``data_dir`` say of the identity; 0 when signed."""
    credentials = read_credentials(config.data_dir / SESSION_FILE)
    print(f"user:            {config.matrix.user_id}")
    if credentials is None or credentials.user_id != config.matrix.user_id:
        print("device:          none yet (the bot logs in at its first `ssphub-bot run`)")
        return 1
    print(f"device:          {credentials.device_id}")
    client = AsyncClient(credentials.homeserver, credentials.user_id, credentials.device_id,
                         config=client_config(encryption=False))  # fmt: skip
    client.restore_login(credentials.user_id, credentials.device_id, credentials.access_token)
    try:
        identity = Identity(
            KeysApi(client), IdentitySettings.from_config(config), credentials.device_id, None
        )
        lines, signed = await _status_lines(identity)
    finally:
        await client.close()
    print("\n".join(lines))
    return 0 if signed else 1


async def _status_lines(identity: Identity) -> tuple[list[str], bool]:
    published = await identity.published()
    local = identity.key_file.load()
    on_disk = local is not None and published.matches(local)
    storage, opens = await _storage_line(identity)
    lines = [
        f"identity:        published, master key {published.master}"
        if published.exists
        else "identity:        none published",
        "device signed:   yes, by the account's self-signing key"
        if published.device_signed
        else "device signed:   NO",
        f"keys on disk:    {_local(identity, on_disk)}",
        f"recovery key:    {_recovery_source(identity)}",
        f"secret storage:  {storage}",
        f"next start:      {_next_start(identity, published, on_disk, opens)}",
    ]
    return lines, published.device_signed


def _next_start(
    identity: Identity, published: PublishedIdentity, on_disk: bool, opens: bool
) -> str:
    """What the bot will do at its next start, or what the operator must do first."""
    if published.device_signed:
        return "nothing to do"
    if not published.exists:
        return "makes the identity and signs the device"
    if on_disk:
        return "signs the device with the keys on disk"
    if opens:
        return "signs the device with the keys from secret storage"
    given = identity.settings.recovery_key or identity.recovery_file.read()
    return REMEDIES[Problem.WRONG_RECOVERY_KEY if given else Problem.NO_RECOVERY_KEY]


def _local(identity: Identity, matching: bool) -> str:
    path = identity.key_file.path
    if not identity.key_file.exists():
        return f"none ({path} absent)"
    whose = "the published identity's" if matching else "NOT the published identity's"
    return f"{path}, {whose}"


def _recovery_source(identity: Identity) -> str:
    if identity.settings.recovery_key:
        return "matrix.recovery_key, " + describe_recovery_key(identity.settings.recovery_key)
    if identity.recovery_file.read() is not None:
        return f"the file {identity.recovery_file.path} (written when the bot made the identity)"
    return "none given (matrix.recovery_key is not set)"


async def _storage_line(identity: Identity) -> tuple[str, bool]:
    """The default key, whether it holds the self-signing key, and whether a recovery key at
    hand opens it (nothing decrypted, nothing shown); and whether one does."""
    storage = SecretStorage(identity.api)
    key_id = await storage.default_key_id()
    if key_id is None:
        return "none on the account", False
    content = await identity.api.account_data(SECRET_NAMES["self_signing"]) or {}
    holds = key_id in (content.get("encrypted") or {})
    line = f"default key {key_id}, " + ("holds" if holds else "does NOT hold")
    line += " the self-signing key"
    for recovery, where in identity.recovery_keys():
        try:
            await storage.open(recovery)
        except SecretStorageError as error:
            line += f"; {where} does NOT open it ({error})"
            continue
        return f"{line}; {where} opens it", holds
    return line, False


# --- reset -------------------------------------------------------------------------------------


def reset(config: Config, *, assume_yes: bool) -> int:
    """Replace the identity, after a confirmation, while no bot runs on this database."""
    from bot.storage.lock import alone

    password = _password(config)
    if password is None:
        return 2
    if not assume_yes and not _confirmed(config):
        print("nothing changed", file=sys.stderr)
        return 1
    settings = IdentitySettings.from_config(config)
    settings = IdentitySettings(settings.data_dir, settings.recovery_key, password)
    url = config.database_url_or_default
    if not asyncio.run(alone(url, lambda: _replace(config, settings))):
        print("a running bot holds this database: stop it first", file=sys.stderr)
        return 1
    return 0


def _password(config: Config) -> str | None:
    if config.matrix.password is not None:
        return config.matrix.password.get_secret_value()
    if sys.stdin.isatty():
        return getpass.getpass(f"password of {config.matrix.user_id}: ") or None
    print(
        "crypto reset needs the account password: set matrix.password in the configuration "
        "(for instance ${BOT_PASSWORD}) for this command, or run it in a terminal to be asked",
        file=sys.stderr,
    )
    return None


def _confirmed(config: Config) -> bool:
    file = config.data_dir / RECOVERY_KEY_FILE
    print(RESET_WARNING.format(user=config.matrix.user_id, file=file), file=sys.stderr)
    if not sys.stdin.isatty():
        print("confirm with --yes when not in a terminal", file=sys.stderr)
        return False
    answer = input(f"Type the bot's user id ({config.matrix.user_id}) to go on: ")
    return answer.strip() == config.matrix.user_id


async def _replace(config: Config, settings: IdentitySettings) -> None:
    """Log in as the bot does (the stored device when there is one), replace, sign."""
    client = await Session(LoginSettings.from_config(config.matrix), config.data_dir).open()
    try:
        olm = client.olm
        device_key = olm.account.identity_keys["ed25519"] if olm is not None else None
        identity = Identity(KeysApi(client), settings, client.device_id, device_key)
        keys = await identity.replace()
    finally:
        await client.close()
    print(
        f"new identity published (master key {keys.master.public}); device {client.device_id} "
        f"signed; the new recovery key is in {identity.recovery_file.path}"
    )
    if settings.recovery_key:
        print("matrix.recovery_key holds the old recovery key: replace it with the new one")
