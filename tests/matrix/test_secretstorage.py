"""Secret Storage encryption: byte for byte what Element writes and reads."""

from __future__ import annotations

import pytest

from bot.matrix.secretstorage import (
    SecretStorage,
    SecretStorageError,
    decrypt,
    encrypt,
    key_description,
    key_matches,
)
from bot.matrix.signedjson import b64decode
from bot.recoverykey import encode_recovery_key
from tests.matrix.keys_fake import FakeKeysApi

# Computed with matrix-js-sdk 43 (encryptAESSecretStorageItem), key 00..1f, this IV.
KEY = bytes(range(32))
IV = "8PHy8/T19vd4+fr7/P3+/w=="
NAME = "m.cross_signing.self_signing"
SECRET = b"5U/lVAtS+1Pg9FM2tLC/h8mtJz1rN9Lmzl6AiDxo5Ds"
JS_SECRET = {
    "iv": IV,
    "ciphertext": "n7PX+nELASkuoxbgQeXYWxaATKZT/RGRcgaENDFGbYp7+09h78p4mXtUYA==",
    "mac": "CyusHrEzy2TDTsQTWvbL0JA5O3VGTDbmLn5Gst+Cgq4=",
}
JS_KEY_CHECK_MAC = "tIvFAsATwL0p8XtuxoZ8ruHnTuVSyYzsmxuvjbWXk5s="


def test_encryption_matches_element() -> None:
    """With the same key and IV, the ciphertext and MAC are matrix-js-sdk's (unpadded)."""
    ours = encrypt(KEY, NAME, SECRET, iv=b64decode(IV))
    assert ours == {part: value.rstrip("=") for part, value in JS_SECRET.items()}


def test_element_secret_decrypts() -> None:
    """A secret matrix-js-sdk stored, with padded base64, decrypts to its plaintext."""
    assert decrypt(KEY, NAME, JS_SECRET) == SECRET


def test_secret_under_another_name_or_key_is_refused() -> None:
    """The MAC binds the secret to its name and key: anything else is refused, not garbled."""
    with pytest.raises(SecretStorageError):
        decrypt(KEY, "m.cross_signing.master", JS_SECRET)
    with pytest.raises(SecretStorageError):
        decrypt(bytes(32), NAME, JS_SECRET)
    with pytest.raises(SecretStorageError):
        decrypt(KEY, NAME, {"iv": IV})


def test_key_check_matches_element() -> None:
    """The key description's check is matrix-js-sdk's, and only the right key passes it."""
    description = {"algorithm": "m.secret_storage.v1.aes-hmac-sha2", "iv": IV}
    assert key_matches(KEY, {**description, "mac": JS_KEY_CHECK_MAC})
    assert not key_matches(bytes(32), {**description, "mac": JS_KEY_CHECK_MAC})
    assert key_matches(bytes(32), {"algorithm": "m.secret_storage.v1.aes-hmac-sha2"})
    made = key_description(KEY)
    assert key_matches(KEY, made) and not key_matches(bytes(32), made)


def test_new_ivs_clear_bit_63() -> None:
    """Every IV the bot draws has bit 63 cleared, as AES-CTR implementations expect."""
    for _ in range(64):
        assert b64decode(encrypt(KEY, NAME, SECRET)["iv"])[8] & 0x80 == 0


async def test_storage_round_trip_and_clear_errors() -> None:
    """A written secret reads back with the recovery key; a missing default key, a wrong key
    or an unknown algorithm each say what is wrong."""
    api = FakeKeysApi()
    storage = SecretStorage(api)
    with pytest.raises(SecretStorageError, match="no secret storage"):
        await storage.open(encode_recovery_key(KEY))
    opened = await storage.adopt(KEY)
    await storage.write(opened, NAME, SECRET)
    await storage.make_default(opened)
    assert await storage.read(await storage.open(encode_recovery_key(KEY)), NAME) == SECRET
    assert await storage.read(opened, "m.cross_signing.master") is None
    assert (await storage.adopt(KEY)).key_id == opened.key_id
    with pytest.raises(SecretStorageError, match="does not open"):
        await storage.open(encode_recovery_key(bytes(32)))
    api.account[f"m.secret_storage.key.{opened.key_id}"]["algorithm"] = "m.other"
    with pytest.raises(SecretStorageError, match="not usable"):
        await storage.open(encode_recovery_key(KEY))
    assert repr(opened) == f"StorageKey({opened.key_id})"
