"""Recovery keys as Element and Tchap show them, and secret storage keys from passphrases.

A recovery key is base58 of ``0x8B 0x01``, the 32 key bytes and a parity byte (the XOR of every
byte before it), shown in groups of four characters; readers ignore whitespace.
"""

from __future__ import annotations

import hashlib
import re
from functools import reduce

PREFIX = b"\x8b\x01"
KEY_BYTES = 32
_ENCODED_CHARS = 48  # base58 of the 35 bytes above
_BASE58 = re.compile(r"[1-9A-HJ-NP-Za-km-z]+")


class RecoveryKeyError(ValueError):
    """The text is not a valid recovery key; the message says why, never the key."""


def _parity(data: bytes) -> int:
    return reduce(lambda left, right: left ^ right, data, 0)


def encode_recovery_key(key: bytes) -> str:
    """The recovery key for a 32-byte secret storage key, in groups of four characters."""
    if len(key) != KEY_BYTES:
        raise ValueError(f"a secret storage key has {KEY_BYTES} bytes")
    import base58  # where first used: a new identity, or a recovery key given

    raw = PREFIX + key
    text = base58.b58encode(raw + bytes([_parity(raw)])).decode("ascii")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


def looks_like_recovery_key(text: str) -> bool:
    """Whether ``text`` has the shape of a recovery key (a passphrase almost never does)."""
    bare = "".join(text.split())
    return len(bare) == _ENCODED_CHARS and bool(_BASE58.fullmatch(bare))


def decode_recovery_key(text: str) -> bytes:
    """The 32-byte key a recovery key stands for; ``RecoveryKeyError`` if it is mistyped."""
    bare = "".join(text.split())
    if not bare or not _BASE58.fullmatch(bare):
        raise RecoveryKeyError("it contains characters that are not in a recovery key")
    import base58

    raw = base58.b58decode(bare)
    if len(raw) != len(PREFIX) + KEY_BYTES + 1 or not raw.startswith(PREFIX):
        raise RecoveryKeyError("it has the wrong length or prefix for a recovery key")
    if _parity(raw[:-1]) != raw[-1]:
        raise RecoveryKeyError("its check digit does not match: a character is mistyped")
    return raw[len(PREFIX) : -1]


def key_from_passphrase(passphrase: str, salt: str, iterations: int, bits: int = 256) -> bytes:
    """The secret storage key a passphrase gives (``m.pbkdf2``: PBKDF2 with SHA-512)."""
    return hashlib.pbkdf2_hmac("sha512", passphrase.encode(), salt.encode(), iterations, bits // 8)


def mistyped_recovery_key(text: str) -> str | None:
    """Why ``text``, shaped like a recovery key, is not a valid one; None when it is valid or
    is not shaped like one (then it is a passphrase)."""
    if not looks_like_recovery_key(text):
        return None
    try:
        decode_recovery_key(text)
    except RecoveryKeyError as error:
        return str(error)
    return None


def describe_recovery_key(text: str) -> str:
    """What the bot will take ``text`` for, without showing it."""
    if not looks_like_recovery_key(text):
        return "not shaped like a recovery key: used as the secret storage passphrase"
    problem = mistyped_recovery_key(text)
    return f"NOT a valid recovery key: {problem}" if problem else "a recovery key (checked)"
