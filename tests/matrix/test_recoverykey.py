"""Recovery keys and passphrases: the same keys Element and Tchap make and read."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.recoverykey import (
    RecoveryKeyError,
    decode_recovery_key,
    describe_recovery_key,
    encode_recovery_key,
    key_from_passphrase,
    looks_like_recovery_key,
    mistyped_recovery_key,
)

# Computed with matrix-js-sdk 43 (encodeRecoveryKey, deriveRecoveryKeyFromPassphrase).
KEY = bytes(range(32))
JS_RECOVERY_KEY = "EsSz ykH7 LCZx 7Cae cmKD wcmY JRXi Ybtu 8iQ3 t8Ez nRwK pUY1"
JS_PASSPHRASE_KEY = "2321998332a004103e526592d93c08adce8ec2b6a0f9ffe00ab4f9b757d320af"


def test_encoding_matches_element() -> None:
    """A key encodes to the text matrix-js-sdk shows for it, in groups of four."""
    assert encode_recovery_key(KEY) == JS_RECOVERY_KEY


def test_decoding_ignores_whitespace() -> None:
    """A recovery key pasted without spaces or over two lines reads the same."""
    assert decode_recovery_key(JS_RECOVERY_KEY.replace(" ", "")) == KEY
    assert decode_recovery_key(JS_RECOVERY_KEY.replace(" 8iQ3 ", "\n8iQ3\t")) == KEY


@given(st.binary(min_size=32, max_size=32))
def test_any_key_survives_the_round_trip(key: bytes) -> None:
    """Every 32-byte key decodes back from its recovery key, which always looks like one."""
    text = encode_recovery_key(key)
    assert looks_like_recovery_key(text) and decode_recovery_key(text) == key


def test_one_mistyped_character_is_caught() -> None:
    """Changing one character breaks the check digit (or the prefix), never gives another key."""
    bare = JS_RECOVERY_KEY.replace(" ", "")
    for position in range(len(bare)):
        replacement = "2" if bare[position] != "2" else "3"
        typo = bare[:position] + replacement + bare[position + 1 :]
        with pytest.raises(RecoveryKeyError):
            decode_recovery_key(typo)


@pytest.mark.parametrize("text", ["", "EsSz 0OIl", "not a key at all", "EsSz ykH7"])
def test_malformed_text_is_refused_with_a_reason(text: str) -> None:
    """Characters outside base58, or the wrong length, give a reason that never echoes them."""
    with pytest.raises(RecoveryKeyError) as raised:
        decode_recovery_key(text)
    assert "EsSz" not in str(raised.value)


def test_a_passphrase_is_not_mistaken_for_a_typo() -> None:
    """Text not shaped like a recovery key is a passphrase; a shaped one with a typo is not."""
    assert mistyped_recovery_key("correct horse battery staple") is None
    assert mistyped_recovery_key(JS_RECOVERY_KEY) is None
    assert mistyped_recovery_key(JS_RECOVERY_KEY[:-1] + "2") is not None
    assert describe_recovery_key("correct horse battery staple").endswith("passphrase")
    assert describe_recovery_key(JS_RECOVERY_KEY) == "a recovery key (checked)"


def test_passphrase_derivation_matches_element() -> None:
    """PBKDF2-SHA-512 of a passphrase gives the key matrix-js-sdk derives."""
    derived = key_from_passphrase("correct horse battery staple", "MmMsAlty", 1000)
    assert derived.hex() == JS_PASSPHRASE_KEY


def test_encoding_refuses_a_key_of_the_wrong_size() -> None:
    """Only 32-byte keys have a recovery key."""
    with pytest.raises(ValueError):
        encode_recovery_key(bytes(31))
