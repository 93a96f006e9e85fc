"""The account's Secret Storage (``m.secret_storage.v1.aes-hmac-sha2``) in its account data.

Each secret is encrypted with AES-CTR-256 and authenticated with HMAC-SHA-256, both keys drawn by
HKDF-SHA-256 from the storage key with the secret's name as info. A key description carries the
encryption of 32 zero bytes under the name "" so that a key can be checked before use.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from Crypto.Cipher import AES
from Crypto.Hash import SHA256
from Crypto.Protocol.KDF import HKDF

from bot.errors import BotError
from bot.matrix.signedjson import b64decode, b64encode
from bot.recoverykey import (
    RecoveryKeyError,
    decode_recovery_key,
    key_from_passphrase,
    looks_like_recovery_key,
)

ALGORITHM = "m.secret_storage.v1.aes-hmac-sha2"
DEFAULT_KEY = "m.secret_storage.default_key"
KEY_PREFIX = "m.secret_storage.key."
_KEY_CHECK = bytes(32)


class SecretStorageError(BotError):
    """The account's secret storage cannot be opened or read; the message says why."""


class AccountData(Protocol):
    """The account data of the bot's account on the homeserver."""

    async def account_data(self, event_type: str) -> dict[str, Any] | None: ...

    async def set_account_data(self, event_type: str, content: dict[str, Any]) -> None: ...


def _derive(key: bytes, name: str) -> tuple[bytes, bytes]:
    """The AES key and the HMAC key for the secret ``name``."""
    material = HKDF(key, 64, bytes(32), SHA256, context=name.encode())
    assert isinstance(material, bytes)
    return material[:32], material[32:]


def _new_iv() -> bytes:
    """16 random bytes with bit 63 cleared, as every AES-CTR implementation reads them alike."""
    iv = bytearray(os.urandom(16))
    iv[8] &= 0x7F
    return bytes(iv)


def _mac(mac_key: bytes, ciphertext: bytes) -> bytes:
    return hmac.digest(mac_key, ciphertext, "sha256")


def _ctr(aes_key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES-CTR-256 with the whole IV as the initial 128-bit counter (encrypts and decrypts)."""
    return bytes(AES.new(aes_key, AES.MODE_CTR, nonce=b"", initial_value=iv).encrypt(data))


def encrypt(key: bytes, name: str, plaintext: bytes, iv: bytes | None = None) -> dict[str, str]:
    """``{iv, ciphertext, mac}`` of ``plaintext`` as the secret ``name``."""
    aes_key, mac_key = _derive(key, name)
    iv = iv or _new_iv()
    ciphertext = _ctr(aes_key, iv, plaintext)
    return {
        "iv": b64encode(iv),
        "ciphertext": b64encode(ciphertext),
        "mac": b64encode(_mac(mac_key, ciphertext)),
    }


def decrypt(key: bytes, name: str, data: Mapping[str, Any]) -> bytes:
    """The plaintext of the secret ``name``; ``SecretStorageError`` when the MAC disagrees."""
    aes_key, mac_key = _derive(key, name)
    try:
        iv, ciphertext, mac = (b64decode(str(data[part])) for part in ("iv", "ciphertext", "mac"))
    except (KeyError, ValueError):
        raise SecretStorageError(f"the stored secret {name} is malformed") from None
    if not hmac.compare_digest(_mac(mac_key, ciphertext), mac):
        raise SecretStorageError(f"the stored secret {name} does not match the key")
    return _ctr(aes_key, iv, ciphertext)


def key_description(key: bytes) -> dict[str, Any]:
    """The account data describing a new storage key, with its check values."""
    check = encrypt(key, "", _KEY_CHECK)
    return {"algorithm": ALGORITHM, "iv": check["iv"], "mac": check["mac"]}


def key_matches(key: bytes, description: Mapping[str, Any]) -> bool:
    """Whether ``key`` is the one ``description`` was made for (true when it has no check)."""
    if "iv" not in description or "mac" not in description:
        return True
    try:
        check = encrypt(key, "", _KEY_CHECK, iv=b64decode(str(description["iv"])))
        expected = b64decode(str(description["mac"]))
    except ValueError:
        return False
    return hmac.compare_digest(b64decode(check["mac"]), expected)


@dataclass(frozen=True)
class StorageKey:
    """An opened secret storage key: its id in the account data, and its 32 bytes."""

    key_id: str
    key: bytes = b""

    def __repr__(self) -> str:  # never the key bytes
        return f"StorageKey({self.key_id})"


class SecretStorage:
    """Reads and writes secrets in the account data, under the default storage key."""

    def __init__(self, api: AccountData) -> None:
        self.api = api

    async def default_key_id(self) -> str | None:
        content = await self.api.account_data(DEFAULT_KEY)
        key_id = (content or {}).get("key")
        return key_id if isinstance(key_id, str) and key_id else None

    async def open(self, recovery: str) -> StorageKey:
        """The default key, from a recovery key or a passphrase; checked against its
        description, else ``SecretStorageError`` saying what is wrong."""
        key_id = await self.default_key_id()
        if key_id is None:
            raise SecretStorageError("the account has no secret storage (no default key)")
        description = await self.api.account_data(KEY_PREFIX + key_id) or {}
        if description.get("algorithm") != ALGORITHM:
            raise SecretStorageError(f"the default secret storage key {key_id} is not usable")
        key = await _key_from(recovery, description)
        if not key_matches(key, description):
            raise SecretStorageError("the recovery key does not open the account's secret storage")
        return StorageKey(key_id, key)

    async def read(self, storage: StorageKey, name: str) -> bytes | None:
        """The secret ``name``, or None when it is not stored under this key."""
        content = await self.api.account_data(name) or {}
        encrypted = (content.get("encrypted") or {}).get(storage.key_id)
        return None if encrypted is None else decrypt(storage.key, name, encrypted)

    async def adopt(self, key: bytes) -> StorageKey:
        """The default key when ``key`` is it (a repeated attempt), else a new key id for
        ``key`` with its description (not yet the default)."""
        default = await self.default_key_id()
        if default is not None:
            description = await self.api.account_data(KEY_PREFIX + default) or {}
            if "mac" in description and key_matches(key, description):
                return StorageKey(default, key)
        storage = StorageKey(secrets.token_urlsafe(24), key)
        await self.api.set_account_data(KEY_PREFIX + storage.key_id, key_description(key))
        return storage

    async def write(self, storage: StorageKey, name: str, value: bytes) -> None:
        encrypted = encrypt(storage.key, name, value)
        await self.api.set_account_data(name, {"encrypted": {storage.key_id: encrypted}})

    async def make_default(self, storage: StorageKey) -> None:
        await self.api.set_account_data(DEFAULT_KEY, {"key": storage.key_id})


async def _key_from(recovery: str, description: Mapping[str, Any]) -> bytes:
    """The key a recovery key stands for, or the one a passphrase derives (off the loop:
    PBKDF2 takes about a second by design)."""
    passphrase = description.get("passphrase") or {}
    if looks_like_recovery_key(recovery) or passphrase.get("algorithm") != "m.pbkdf2":
        try:
            return decode_recovery_key(recovery)
        except RecoveryKeyError as error:
            raise SecretStorageError(f"not a valid recovery key: {error}") from None
    try:
        salt, rounds = str(passphrase["salt"]), int(passphrase["iterations"])
        bits = int(passphrase.get("bits", 256))
    except (KeyError, TypeError, ValueError):
        raise SecretStorageError("the secret storage passphrase settings are malformed") from None
    return await asyncio.to_thread(key_from_passphrase, recovery, salt, rounds, bits)
