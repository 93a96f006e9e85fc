"""The account's cross-signing keys: made, published, read back from a keys query, kept on disk.

The master key is the account's identity and signs the self-signing key (which signs the bot's
devices) and the user-signing key (which would sign other users). Members' clients trust a device
that the published self-signing key signed; this module checks every link of that chain itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.matrix.private_file import write_private
from bot.matrix.signedjson import SigningKey, b64decode, b64encode, signed_by, with_signature

log = logging.getLogger(__name__)

KEY_FILE = "cross-signing-keys.json"
# The Secret Storage names of the three private keys, by their usage.
SECRET_NAMES = {
    "master": "m.cross_signing.master",
    "self_signing": "m.cross_signing.self_signing",
    "user_signing": "m.cross_signing.user_signing",
}


@dataclass(frozen=True)
class CrossSigningKeys:
    """The three private keys of an identity."""

    master: SigningKey
    self_signing: SigningKey
    user_signing: SigningKey

    @classmethod
    def generate(cls) -> CrossSigningKeys:
        return cls(SigningKey.generate(), SigningKey.generate(), SigningKey.generate())

    def by_usage(self) -> dict[str, SigningKey]:
        return {
            "master": self.master,
            "self_signing": self.self_signing,
            "user_signing": self.user_signing,
        }

    def upload_body(self, user_id: str) -> dict[str, Any]:
        """What ``/keys/device_signing/upload`` takes: the public keys, the two lesser ones
        signed by the master key."""
        return {
            f"{usage}_key": key_object(user_id, usage, key, self.master)
            for usage, key in self.by_usage().items()
        }


def key_object(user_id: str, usage: str, key: SigningKey, master: SigningKey) -> dict[str, Any]:
    """The published form of one cross-signing key."""
    body: dict[str, Any] = {"user_id": user_id, "usage": [usage], "keys": {key.key_id: key.public}}
    return body if usage == "master" else with_signature(body, user_id, master)


def _public(key_object: Any, usage: str, user_id: str) -> str | None:
    """The public key of a published cross-signing key of ``user_id``, if well formed."""
    if not isinstance(key_object, dict) or key_object.get("user_id") != user_id:
        return None
    if usage not in key_object.get("usage", []):
        return None
    keys = key_object.get("keys") or {}
    if len(keys) != 1:
        return None
    key_id, public = next(iter(keys.items()))
    return public if key_id == f"ed25519:{public}" else None


@dataclass(frozen=True)
class PublishedIdentity:
    """What a keys query says of the bot's identity and device, every signature checked."""

    user_id: str
    master: str | None
    self_signing: str | None  # only when the published master key signed it
    device: dict[str, Any] | None

    @classmethod
    def from_query(cls, answer: dict[str, Any], user_id: str, device_id: str) -> PublishedIdentity:
        master_object = (answer.get("master_keys") or {}).get(user_id)
        master = _public(master_object, "master", user_id)
        ssk_object = (answer.get("self_signing_keys") or {}).get(user_id) or {}
        ssk = _public(ssk_object, "self_signing", user_id)
        if ssk is not None and (master is None or not signed_by(ssk_object, user_id, master)):
            log.warning("the self-signing key of %s is not signed by its master key", user_id)
            ssk = None
        device = ((answer.get("device_keys") or {}).get(user_id) or {}).get(device_id)
        return cls(user_id, master, ssk, device if isinstance(device, dict) else None)

    @property
    def exists(self) -> bool:
        """The account has an identity (a published master key)."""
        return self.master is not None

    @property
    def device_signed(self) -> bool:
        """The device is signed by the self-signing key the master key vouches for."""
        if self.device is None or self.self_signing is None:
            return False
        return signed_by(self.device, self.user_id, self.self_signing)

    def device_ed25519(self, device_id: str) -> str | None:
        """The device's own Ed25519 key, as published."""
        keys = (self.device or {}).get("keys") or {}
        return keys.get(f"ed25519:{device_id}")

    def matches(self, keys: CrossSigningKeys) -> bool:
        """Whether ``keys`` are the private halves of this identity's keys."""
        return (keys.master.public, keys.self_signing.public) == (self.master, self.self_signing)


def device_signature(
    identity: PublishedIdentity, device_id: str, self_signing: SigningKey
) -> dict[str, Any]:
    """The body of ``/keys/signatures/upload`` adding the self-signing key's signature."""
    assert identity.device is not None
    device = {k: v for k, v in identity.device.items() if k != "unsigned"}
    return {identity.user_id: {device_id: with_signature(device, identity.user_id, self_signing)}}


class KeyFile:
    """The private keys in ``data_dir``, readable by the bot's user only."""

    def __init__(self, data_dir: Path, user_id: str) -> None:
        self.path = data_dir / KEY_FILE
        self.user_id = user_id

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> CrossSigningKeys | None:
        """The stored keys of this account; None when absent, for another account, or broken."""
        if not self.path.exists():
            return None
        try:
            stored = json.loads(self.path.read_text("utf-8"))
            if stored.get("user_id") != self.user_id:
                log.warning("%s holds the keys of another account; not used", self.path)
                return None
            return CrossSigningKeys(
                *(SigningKey(b64decode(stored[usage])) for usage in SECRET_NAMES)
            )
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            log.warning("%s is unreadable; not used", self.path)
            return None

    def save(self, keys: CrossSigningKeys) -> None:
        stored = {usage: b64encode(key.seed) for usage, key in keys.by_usage().items()}
        write_private(self.path, json.dumps({"user_id": self.user_id, **stored}, indent=1))
