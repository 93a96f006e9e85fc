"""At start-up: make sure the bot's device is signed by the account's self-signing key.

One keys query when it already is. Otherwise the key comes from ``data_dir``, from the account's
Secret Storage (with the recovery key or passphrase), or, for an account with no identity yet, a
new identity is made, published, stored in both places, and its recovery key written once to a
file. Whatever happens, the outcome is a ``DeviceTrust``; no secret is ever logged.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp

from bot.errors import BotError
from bot.matrix.crosssigning import (
    SECRET_NAMES,
    CrossSigningKeys,
    KeyFile,
    PublishedIdentity,
    device_signature,
)
from bot.matrix.keysapi import AuthenticationNeeded, KeysApiError, KeysEndpoints
from bot.matrix.private_file import write_private
from bot.matrix.secretstorage import SecretStorage, SecretStorageError
from bot.matrix.signedjson import SigningKey, b64decode, b64encode
from bot.recoverykey import KEY_BYTES, decode_recovery_key, encode_recovery_key
from bot.trust import RECOVERY_KEY_FILE, DeviceTrust, KeySource, Problem

if TYPE_CHECKING:
    from bot.config import Config

log = logging.getLogger(__name__)


class Unsignable(BotError):
    """The device cannot be signed now; ``problem`` says why in the terms of ``trust``."""

    def __init__(self, problem: Problem, detail: str) -> None:
        super().__init__(detail)
        self.problem = problem
        self.detail = detail


@dataclass(frozen=True)
class IdentitySettings:
    """What the configuration gives the identity step."""

    data_dir: Path
    recovery_key: str | None = None
    password: str | None = None

    @classmethod
    def from_config(cls, config: Config) -> IdentitySettings:
        matrix = config.matrix
        return cls(
            config.data_dir,
            recovery_key=matrix.recovery_key.get_secret_value() if matrix.recovery_key else None,
            password=matrix.password.get_secret_value() if matrix.password else None,
        )


class RecoveryKeyFile:
    """The recovery key the bot generated, in ``data_dir`` (0600), written once."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / RECOVERY_KEY_FILE

    def read(self) -> str | None:
        if not self.path.exists():
            return None
        lines = self.path.read_text("utf-8").splitlines()
        key = " ".join(line.strip() for line in lines if not line.startswith("#")).strip()
        return key or None

    def write(self, user_id: str, key: bytes, *, replace: bool = False) -> None:
        if self.path.exists() and not replace:
            raise FileExistsError(self.path)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        write_private(
            self.path,
            f"# Recovery key of {user_id}, made by ssphub-bot on {when}.\n"
            "# Keep it in a password manager: with it, the bot (or any Matrix client) recovers\n"
            "# the account's cross-signing keys from its secret storage.\n"
            f"{encode_recovery_key(key)}\n",
        )


class Identity:
    """The bot's identity on its account, as seen from one device."""

    def __init__(
        self,
        api: KeysEndpoints,
        settings: IdentitySettings,
        device_id: str,
        device_ed25519: str | None,
    ) -> None:
        self.api = api
        self.settings = settings
        self.device_id = device_id
        self.device_ed25519 = device_ed25519
        self.key_file = KeyFile(settings.data_dir, api.user_id)
        self.recovery_file = RecoveryKeyFile(settings.data_dir)

    @property
    def user_id(self) -> str:
        return self.api.user_id

    async def published(self) -> PublishedIdentity:
        answer = await self.api.query_keys(self.user_id)
        return PublishedIdentity.from_query(answer, self.user_id, self.device_id)

    async def ensure_signed(self) -> DeviceTrust:
        """Sign the device if it is not signed yet; the outcome, logged once."""
        try:
            trust = await self._ensure()
        except Unsignable as error:
            trust = self._trust(problem=error.problem, detail=error.detail)
        except AuthenticationNeeded as error:
            problem = Problem.AUTH_UNSUPPORTED if error.with_password else Problem.PASSWORD_NEEDED
            trust = self._trust(problem=problem, detail=str(error))
        except KeysApiError as error:
            trust = self._trust(problem=Problem.REFUSED, detail=str(error))
        except (aiohttp.ClientError, TimeoutError) as error:
            detail = f"the homeserver did not answer ({type(error).__name__})"
            trust = self._trust(problem=Problem.UNREACHABLE, detail=detail)
        except Exception:  # the bot keeps running unsigned rather than not at all
            log.exception("the identity step failed unexpectedly")
            trust = self._trust(problem=Problem.REFUSED, detail="unexpected error, see above")
        _log_outcome(trust)
        return trust

    def _trust(
        self, source: KeySource | None = None, problem: Problem | None = None, detail: str = ""
    ) -> DeviceTrust:
        return DeviceTrust(self.user_id, self.device_id, problem is None, source, problem, detail)

    async def _ensure(self) -> DeviceTrust:
        identity = await self.published()
        if identity.device_signed:
            return self._trust(source=KeySource.ALREADY_SIGNED)
        if not identity.exists:
            keys = await self.create()
            await self.sign(identity, keys.self_signing)
            return self._trust(source=KeySource.CREATED)
        self_signing, source = await self._recover(identity)
        await self.sign(identity, self_signing)
        return self._trust(source=source)

    # --- making a new identity -----------------------------------------------------------------

    async def create(self) -> CrossSigningKeys:
        """The account's first identity, kept in ``data_dir`` and Secret Storage, then published.

        Every step can be repeated after a crash: the keys and the recovery key on disk are
        reused until the identity is published."""
        keys = self.key_file.load()
        if keys is None:
            keys = CrossSigningKeys.generate()
            self.key_file.save(keys)
        await self._store_secrets(keys, self._recovery_bytes(replace=False))
        await self._publish(keys)
        return keys

    async def replace(self) -> CrossSigningKeys:
        """A new identity in place of the published one (``crypto reset``), this device signed.

        Published first: a refused password leaves the old identity and its keys untouched."""
        keys = CrossSigningKeys.generate()
        await self._publish(keys)
        self.key_file.save(keys)
        await self._store_secrets(keys, self._recovery_bytes(replace=True))
        await self.sign(await self.published(), keys.self_signing)
        return keys

    async def _publish(self, keys: CrossSigningKeys) -> None:
        body = keys.upload_body(self.user_id)
        await self.api.upload_cross_signing_keys(body, self.settings.password)
        log.info(
            "published a new cryptographic identity for %s (master key %s); its recovery key is "
            "in %s: keep it somewhere safe",
            self.user_id, keys.master.public, self.recovery_file.path,
        )  # fmt: skip

    def _recovery_bytes(self, replace: bool) -> bytes:
        """The storage key: the one in the recovery key file, or a new one written there."""
        existing = None if replace else self.recovery_file.read()
        if existing is not None:
            return decode_recovery_key(existing)
        key = secrets.token_bytes(KEY_BYTES)
        self.recovery_file.write(self.user_id, key, replace=replace)
        return key

    async def _store_secrets(self, keys: CrossSigningKeys, key: bytes) -> None:
        """The three private keys under a default storage key (``key``), in the account data."""
        storage = SecretStorage(self.api)
        opened = await storage.adopt(key)
        for usage, signing_key in keys.by_usage().items():
            await storage.write(opened, SECRET_NAMES[usage], b64encode(signing_key.seed).encode())
        await storage.make_default(opened)

    # --- an identity that exists ---------------------------------------------------------------

    async def _recover(self, identity: PublishedIdentity) -> tuple[SigningKey, KeySource]:
        """The published self-signing key's private half, from ``data_dir`` or Secret Storage."""
        local = self.key_file.load()
        if local is not None and identity.matches(local):
            return local.self_signing, KeySource.DATA_DIR
        keys = await self._from_any_recovery_key()
        if keys["self_signing"].public != identity.self_signing:
            raise Unsignable(
                Problem.KEYS_MISMATCH,
                "the self-signing key in the account's secret storage is not the published one",
            )
        if set(keys) == set(SECRET_NAMES) and keys["master"].public == identity.master:
            self.key_file.save(CrossSigningKeys(**keys))
        return keys["self_signing"], KeySource.SECRET_STORAGE

    def recovery_keys(self) -> list[tuple[str, str]]:
        """The recovery keys at hand, and where each comes from: the configuration's first."""
        given = [
            (self.settings.recovery_key, "matrix.recovery_key"),
            (self.recovery_file.read(), str(self.recovery_file.path)),
        ]
        return [(text, where) for text, where in given if text]

    async def _from_any_recovery_key(self) -> dict[str, SigningKey]:
        """The keys from Secret Storage with the first recovery key that opens it."""
        candidates = self.recovery_keys()
        if not candidates:
            raise Unsignable(
                Problem.NO_RECOVERY_KEY,
                f"the account {self.user_id} already has a cryptographic identity and the bot "
                "has none of its keys",
            )
        failures: list[Unsignable] = []
        for recovery, where in candidates:
            try:
                return await self._from_secret_storage(recovery, where)
            except Unsignable as error:
                failures.append(error)
        raise failures[0]

    async def _from_secret_storage(self, recovery: str, where: str) -> dict[str, SigningKey]:
        """The private keys Secret Storage yields; the self-signing one at least, or why not."""
        storage = SecretStorage(self.api)
        try:
            opened = await storage.open(recovery)
        except SecretStorageError as error:
            raise Unsignable(Problem.WRONG_RECOVERY_KEY, f"{where}: {error}") from None
        keys: dict[str, SigningKey] = {}
        for usage, name in SECRET_NAMES.items():
            try:
                secret = await storage.read(opened, name)
                if secret is not None:
                    keys[usage] = _signing_key(secret)
            except (SecretStorageError, ValueError) as error:
                log.warning("secret storage: %s", error)  # only the self-signing key is needed
        if "self_signing" not in keys:
            raise Unsignable(
                Problem.KEYS_MISMATCH, "the account's secret storage yields no self-signing key"
            )
        return keys

    # --- signing -------------------------------------------------------------------------------

    async def sign(self, identity: PublishedIdentity, self_signing: SigningKey) -> None:
        """Publish the self-signing key's signature of the device, after checking that the
        published device keys are this device's own."""
        published = identity.device_ed25519(self.device_id)
        if published is None:
            raise Unsignable(Problem.REFUSED, f"device {self.device_id} has no published keys")
        if self.device_ed25519 is not None and published != self.device_ed25519:
            raise Unsignable(
                Problem.DEVICE_MISMATCH,
                f"the homeserver publishes other keys for device {self.device_id}",
            )
        await self.api.upload_signatures(device_signature(identity, self.device_id, self_signing))


def _signing_key(secret: bytes) -> SigningKey:
    """A cross-signing private key as Secret Storage holds it: base64 text of its seed."""
    return SigningKey(b64decode(secret.decode("ascii").strip()))


def _log_outcome(trust: DeviceTrust) -> None:
    if trust.signed:
        log.info("device %s is cross-signed (%s)", trust.device_id, trust.source)
        return
    log.error(
        "device %s of %s is NOT cross-signed: %s. Remedy: %s. Until then members' clients show "
        "the bot's messages with a red shield, and those that exclude insecure devices cannot "
        "talk to it",
        trust.device_id, trust.user_id, trust.detail, trust.remedy,
    )  # fmt: skip
