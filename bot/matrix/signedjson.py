"""Signed JSON as Matrix defines it: Ed25519 over canonical JSON, keys and signatures in base64."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from vodozemac import Ed25519PublicKey, Ed25519Signature

# Signatures are checked with vodozemac, which the end-to-end encryption loads anyway;
# pycryptodome's Ed25519 is imported where a key is first made or used to sign: a start on a
# device already signed signs nothing.

SEED_BYTES = 32
UNSIGNED_FIELDS = ("signatures", "unsigned")


def b64encode(data: bytes) -> str:
    """Unpadded standard base64, as Matrix writes keys and signatures."""
    return base64.b64encode(data).decode("ascii").rstrip("=")


def b64decode(text: str) -> bytes:
    """Standard base64, padded or not (both exist in the wild); ``ValueError`` if malformed."""
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as error:
        raise ValueError("malformed base64") from error


class SigningKey:
    """An Ed25519 key pair known by its 32-byte seed; its id is ``ed25519:<public key>``."""

    def __init__(self, seed: bytes) -> None:
        if len(seed) != SEED_BYTES:
            raise ValueError(f"an Ed25519 seed has {SEED_BYTES} bytes")
        from Crypto.Signature import eddsa

        self._private = eddsa.import_private_key(seed)
        self.public = b64encode(self._private.public_key().export_key(format="raw"))

    @classmethod
    def generate(cls) -> SigningKey:
        from Crypto.PublicKey import ECC

        return cls(ECC.generate(curve="Ed25519").seed)

    @property
    def seed(self) -> bytes:
        return bytes(self._private.seed)

    @property
    def key_id(self) -> str:
        return f"ed25519:{self.public}"

    def __repr__(self) -> str:  # never the seed, even in a traceback
        return f"SigningKey({self.key_id})"

    def sign(self, payload: Mapping[str, Any]) -> str:
        """The signature of ``payload`` (its signatures and unsigned parts left out)."""
        from Crypto.Signature import eddsa

        return b64encode(eddsa.new(self._private, "rfc8032").sign(signable(payload)))


def signable(payload: Mapping[str, Any]) -> bytes:
    """The canonical JSON bytes a signature covers."""
    from canonicaljson import encode_canonical_json

    body = {key: value for key, value in payload.items() if key not in UNSIGNED_FIELDS}
    return bytes(encode_canonical_json(body))


def with_signature(payload: Mapping[str, Any], user_id: str, key: SigningKey) -> dict[str, Any]:
    """A copy of ``payload`` carrying one more signature, by ``key`` for ``user_id``."""
    signatures = {user: dict(sigs) for user, sigs in payload.get("signatures", {}).items()}
    signatures.setdefault(user_id, {})[key.key_id] = key.sign(payload)
    return {**payload, "signatures": signatures}


def signed_by(payload: Mapping[str, Any], user_id: str, public_key: str) -> bool:
    """Whether ``payload`` carries a valid signature of ``user_id`` by the Ed25519 key
    ``public_key`` (unpadded base64)."""
    signature = payload.get("signatures", {}).get(user_id, {}).get(f"ed25519:{public_key}")
    if not isinstance(signature, str):
        return False
    try:
        key = Ed25519PublicKey.from_base64(public_key.rstrip("="))
        key.verify_signature(signable(payload), Ed25519Signature.from_base64(signature.rstrip("=")))
    except ValueError:  # a malformed key or signature, or one that does not verify
        return False
    return True
