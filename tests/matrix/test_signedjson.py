"""Signed JSON and cross-signing keys: canonical JSON, Ed25519, and the published chain."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

from bot.matrix.crosssigning import (
    CrossSigningKeys,
    KeyFile,
    PublishedIdentity,
    device_signature,
)
from bot.matrix.signedjson import SigningKey, b64decode, b64encode, signed_by, with_signature
from tests.matrix.keys_fake import USER, device_keys

DEVICE = "BOTDEVICE"
# Signed with Node's Ed25519 over another-json (matrix-js-sdk's canonical JSON).
SEED = bytes(255 - i for i in range(32))
PAYLOAD: dict[str, Any] = {
    "user_id": USER,
    "usage": ["self_signing"],
    "keys": {"ed25519:x": "x"},
    "note": 'café ünïcode \u2028 "q" 😀',
    "n": 12,
}
JS_SIGNATURE = (
    "8Vs5axl1BosRvsHJ+yKQ3xT8zv+mhfdZoA4De3JfKX1Gn89/cP7nk+qArUikSmYWHOlHS2Ps8gLv+ydo6Eh2CQ"
)


def published_device(device_key: SigningKey) -> dict[str, Any]:
    """A device's keys as a keys query shows them: self-signed, with an unsigned part."""
    return {**device_keys(DEVICE, device_key), "unsigned": {"device_display_name": "ssphub-bot"}}


def query_answer(keys: CrossSigningKeys, device: dict[str, Any]) -> dict[str, Any]:
    """What /keys/query returns for the bot once ``keys`` are published."""
    body = keys.upload_body(USER)
    return {
        "device_keys": {USER: {DEVICE: device}},
        "master_keys": {USER: body["master_key"]},
        "self_signing_keys": {USER: body["self_signing_key"]},
    }


def test_signature_matches_another_implementation() -> None:
    """The same seed and object give the signature Node and another-json give."""
    assert SigningKey(SEED).sign(PAYLOAD) == JS_SIGNATURE


def test_signatures_and_unsigned_are_left_out_of_what_is_signed() -> None:
    """Adding signatures or an unsigned part keeps an earlier signature valid."""
    key = SigningKey(SEED)
    signed = with_signature(PAYLOAD, USER, key)
    other = SigningKey.generate()
    decorated = with_signature({**signed, "unsigned": {"age": 3}}, "@other:x", other)
    assert signed_by(decorated, USER, key.public)
    assert not signed_by({**decorated, "n": 13}, USER, key.public)


def test_a_wrong_or_malformed_signature_is_not_valid() -> None:
    """Another key's signature, a garbled one, or none at all never counts."""
    key, other = SigningKey(SEED), SigningKey.generate()
    forged = with_signature(PAYLOAD, USER, other)
    forged["signatures"][USER] = {key.key_id: forged["signatures"][USER][other.key_id]}
    assert not signed_by(forged, USER, key.public)
    assert not signed_by({**PAYLOAD, "signatures": {USER: {key.key_id: "!!"}}}, USER, key.public)
    assert not signed_by(PAYLOAD, USER, key.public)


def test_base64_reads_padded_and_unpadded() -> None:
    """Keys from other clients may carry padding; both forms decode alike."""
    data = bytes(range(32))
    assert b64decode(b64encode(data)) == b64decode(b64encode(data) + "=") == data


def test_repr_of_a_key_never_shows_its_seed() -> None:
    """A key in a log or a traceback shows its public id only."""
    key = SigningKey(SEED)
    assert repr(key) == f"SigningKey({key.key_id})" and b64encode(SEED) not in repr(key)


def test_published_chain_is_checked_link_by_link() -> None:
    """A device signed by a self-signing key that the master key signed is signed; a
    self-signing key the master did not sign is ignored."""
    keys, device_key = CrossSigningKeys.generate(), SigningKey.generate()
    device = published_device(device_key)
    answer = query_answer(keys, device)
    unsigned = PublishedIdentity.from_query(answer, USER, DEVICE)
    assert unsigned.exists and not unsigned.device_signed and unsigned.matches(keys)
    signed_device = device_signature(unsigned, DEVICE, keys.self_signing)[USER][DEVICE]
    assert "unsigned" not in signed_device
    signed = PublishedIdentity.from_query(query_answer(keys, signed_device), USER, DEVICE)
    assert signed.device_signed and signed.device_ed25519(DEVICE) == device_key.public
    rogue = CrossSigningKeys(SigningKey.generate(), keys.self_signing, keys.user_signing)
    answer = query_answer(keys, signed_device)
    answer["master_keys"] = query_answer(rogue, signed_device)["master_keys"]
    assert not PublishedIdentity.from_query(answer, USER, DEVICE).device_signed


def test_no_identity_published() -> None:
    """An account without cross-signing keys has no identity and no signed device."""
    identity = PublishedIdentity.from_query({"device_keys": {USER: {}}}, USER, DEVICE)
    assert not identity.exists and not identity.device_signed and identity.device is None


def test_key_file_is_private_and_per_account(tmp_path: Path) -> None:
    """The keys are written 0600 and read back only for the same account."""
    keys = CrossSigningKeys.generate()
    KeyFile(tmp_path, USER).save(keys)
    path = tmp_path / "cross-signing-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = KeyFile(tmp_path, USER).load()
    assert loaded is not None and loaded.by_usage().keys() == keys.by_usage().keys()
    assert [k.public for k in loaded.by_usage().values()] == [
        k.public for k in keys.by_usage().values()
    ]
    assert KeyFile(tmp_path, "@other:localhost").load() is None
    path.write_text("{not json")
    assert KeyFile(tmp_path, USER).load() is None
